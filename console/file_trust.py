"""Files others could change are refused, as OpenSSH's StrictModes does: one rule for the config, the playbook files,
the runbooks, the journal and the recording (README, "Security: what the console refuses").

The rule: the file and every folder above it, up to `/`, are owned by you or root and not writable by group or
others. A sticky folder (such as `/tmp`) is accepted on the way up, and as the file's own folder too, except for the
journal, whose own folder must not be writable by group or others at all. A file in a private folder (yours, no
access for group or others) is not judged by its own mode bits: nobody else can reach it (the journal is judged
anyway).

Symbolic links: both the path as given and the path resolved are walked. Every name on them is owned by you or root
(the owner of a link in a sticky folder can replace it), every folder on them is judged as above, and the file is
judged where it resolves to, on the descriptor that is read.

What is not a regular file (a FIFO, a device, a socket, a folder) is refused after a `stat` and before any `open`
that could block or have an effect; the open itself uses O_NONBLOCK and its `fstat` is judged again.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class UntrustedFile(Exception):
    """A path the rule refuses; str() is one line naming it, the owner or mode found, and the fix."""


@dataclass(frozen=True)
class Trust:
    """What a file is to the console, what anyone who could write it would gain, and where else to keep it."""

    what: str
    risk: str
    elsewhere: str
    journal: bool = False  # its own folder may not be writable by others even when sticky; no private-folder excuse


CONFIG = Trust(
    "config file", "anyone who can write it chooses the commands the console runs", "move it to a folder of yours"
)
RUNBOOK = Trust(
    "runbook", "anyone who can write it chooses the commands a runbook step runs", "move it to a folder of yours"
)
PLAYBOOK = Trust(
    "playbook file", "anyone who can write it chooses what triage proposes and runs", "move it to a folder of yours"
)
JOURNAL = Trust(
    "journal",
    "anyone who can write it can rewrite the incident record",
    "point [console].journal at a private folder (chmod 700)",
    journal=True,
)
RECORDING = Trust(
    "recording",
    "anyone who can write it can change what replay and `record show` say the console saw",
    "point [record].path at a private folder (chmod 700)",
    journal=True,
)


def open_trusted(path: Path, trust: Trust, flags: int = os.O_RDONLY, create_mode: int = 0o600) -> tuple[int, bool]:
    """A descriptor on `path` (opened with `flags`) once it passes the rule, and whether nobody else can reach the
    file (its folder is yours and private). Raises UntrustedFile, or the OSError of a stat or open (a missing file
    raises FileNotFoundError unless `flags` has O_CREAT)."""
    path = Path(path)
    try:
        found = os.stat(path, follow_symlinks=not flags & os.O_NOFOLLOW)
    except FileNotFoundError:
        if not flags & os.O_CREAT:
            raise
    else:
        if not stat.S_ISREG(found.st_mode) and not stat.S_ISLNK(found.st_mode):
            raise UntrustedFile(_not_regular(path, found.st_mode, trust))
    private = _walk(path, trust, folder=False)
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC, create_mode)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise UntrustedFile(_not_regular(path, opened.st_mode, trust))
        _judge_file(path, opened, trust, private)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, private


def read_trusted(path: Path, trust: Trust) -> tuple[bytes, int | None]:
    """The bytes of `path` once it passes the rule, and its mode when group or others may read it (None when they
    cannot: a private folder, or no read bits for them)."""
    fd, private = open_trusted(path, trust)
    with os.fdopen(fd, "rb") as f:
        mode = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
        data = f.read()
    return data, None if private or not mode & (stat.S_IRGRP | stat.S_IROTH) else mode


def os_reason(exc: OSError) -> str:
    """The cause in words, with what to do for the usual one (permission denied)."""
    if exc.errno == errno.EACCES:
        return "permission denied (you may not read it, or may not enter a folder on its path: check their modes)"
    return (exc.strerror or str(exc)).lower()


def read_problem(path: Path, trust: Trust) -> str | None:
    """Why the file at `path` cannot be read as `trust`'s kind, in one line naming it, or None when it can; a missing
    file raises FileNotFoundError (whether that is a mistake is the caller's to say)."""
    try:
        os.close(open_trusted(path, trust)[0])
    except FileNotFoundError:
        raise
    except UntrustedFile as exc:
        return str(exc)
    except OSError as exc:
        return f"{path}: cannot read it: {os_reason(exc)}"
    return None


def check_folder(path: Path, trust: Trust) -> None:
    """Raise UntrustedFile unless the folder `path` (one that holds files of `trust`'s kind) and every folder above
    it pass the rule."""
    _walk(Path(path), trust, folder=True)


def check_path(path: Path, trust: Trust) -> Path:
    """Raise UntrustedFile unless every name on the way to the file `path` (which need not exist, nor its folders)
    passes the rule, as `open_trusted` judges them once the missing folders are made yours and private: for a check
    that must not create anything. Returns the folder that exists nearest the file (where the first missing name
    would be made)."""
    given = Path(os.path.abspath(path))
    folder = given.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UntrustedFile(
            f"{path}: {folder} is not a folder, so no {trust.what} can be made there; {trust.elsewhere}"
        )
    if folder == given.parent:
        _walk(given, trust, folder=False)
    else:  # the folders made below it are private: it is judged as a folder above the file's own
        _walk(folder, trust, folder=True, own=False)
    return folder


def _walk(path: Path, trust: Trust, *, folder: bool, own: bool = True) -> bool:
    """Judge every name on the path as given and, when a symbolic link is on it, as resolved (the subject itself
    only when it is a `folder`: a file is judged on its descriptor; the folder holding the subject is judged as its
    `own`, stricter for the journal, unless `own` is false). True when the file's real folder is yours and private
    (never for the journal)."""
    given = os.path.abspath(path)
    judged: dict[str, os.stat_result | None] = {}
    parent = os.path.dirname(given)
    if _judge_chain(path, given, trust, judged, folder=folder, own=own):
        real = os.path.realpath(given)
        _judge_chain(path, real, trust, judged, folder=folder, own=own)
        parent = os.path.dirname(real)
    found = judged.get(parent)
    return found is not None and not trust.journal and found.st_uid == os.geteuid() and not found.st_mode & 0o077


def _judge_chain(
    path: Path, start: str, trust: Trust, judged: dict[str, os.stat_result | None], *, folder: bool, own: bool = True
) -> bool:
    """Judge `start` and every folder above it up to / not `judged` yet (one lstat each); True when one of these
    names is a symbolic link."""
    holder, name, linked = os.path.dirname(start) if own else None, start, False
    while name not in judged:
        try:
            found = judged[name] = os.lstat(name)
        except FileNotFoundError:
            if name != start:
                raise
            judged[name] = None  # a file about to be created (the journal)
        else:
            if stat.S_ISLNK(found.st_mode):
                linked = True
                _judge_owner(path, name, found, trust, "link")
            elif name != start:
                _judge_folder(path, name, found, trust, "own" if name == holder else "above")
            elif folder:
                _judge_folder(path, name, found, trust, "subject")
        name, above = os.path.dirname(name), name
        if name == above:
            break
    return linked


def _judge_folder(path: Path, name: str, found: os.stat_result, trust: Trust, role: str) -> None:
    """A folder on the path (`role`: the `subject` itself, the file's `own` folder, or one `above` it)."""
    _judge_owner(path, name, found, trust, role)
    mode = found.st_mode
    sticky = bool(mode & stat.S_ISVTX)
    if not mode & _BY_OTHERS or (sticky and not (trust.journal and role == "own")):
        return
    fix = trust.elsewhere if sticky else f"chmod go-w {name}, or {trust.elsewhere}"
    raise UntrustedFile(
        f"{path}: {_where(name, trust, role)} is writable by group or others (mode {stat.S_IMODE(mode):04o})"
        f"{'' if sticky else ' and not sticky'}; {trust.risk} {_how(trust, role)}: {fix}"
    )


def _judge_file(path: Path, found: os.stat_result, trust: Trust, private: bool) -> None:
    _judge_owner(path, str(path), found, trust, "file")
    if found.st_mode & _BY_OTHERS and not private:
        raise UntrustedFile(
            f"{path}: the {trust.what} is writable by group or others (mode {stat.S_IMODE(found.st_mode):04o}); "
            f"{trust.risk}: chmod go-w {path}"
        )


def _judge_owner(path: Path, name: str, found: os.stat_result, trust: Trust, role: str) -> None:
    """Owned by you or root, or UntrustedFile naming the owner and the `chown` that fixes it."""
    me = os.geteuid()
    if found.st_uid not in (me, 0):
        how = f" {_how(trust, role)}" if role != "file" else ""
        chown = "chown -h" if role == "link" else "chown"
        raise UntrustedFile(
            f"{path}: {_where(name, trust, role)} is owned by {_user(found.st_uid)}, not by you or root; "
            f"{trust.risk}{how}: {chown} {_user(me, short=True)} {name}, or {trust.elsewhere}"
        )


def _where(name: str, trust: Trust, role: str) -> str:
    return {
        "file": f"the {trust.what}",
        "subject": "the folder",
        "own": f"its folder {name}",
        "above": f"the folder {name} above it",
        "link": f"the symbolic link {name} on its path",
    }[role]


def _how(trust: Trust, role: str) -> str:
    """How whoever can write that name would change what the console reads."""
    if role == "subject":
        return f"by adding or replacing a {trust.what}"
    return "by replacing it" if role == "link" else f"by replacing the {trust.what}"


def _not_regular(path: Path, mode: int, trust: Trust) -> str:
    kind = _KINDS.get(stat.S_IFMT(mode), "something else")
    return f"{path}: {kind}, not a regular file; refused as a {trust.what} (name a regular file)"


def _user(uid: int, *, short: bool = False) -> str:
    """`nobody (uid 65534)`, or the name alone when `short`; the number when no account has it."""
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid) if short else f"uid {uid}"
    return name if short else f"{name} (uid {uid})"
