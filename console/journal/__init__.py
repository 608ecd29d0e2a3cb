"""The append-only, hash-chained JSONL journal: the only code that writes it (README, "The journal").

Every writer takes an exclusive ``flock``, reads the last line for ``seq`` and ``hash``, writes one
complete line in a single ``os.write``, ``fsync``s and unlocks, so several consoles on one host can
share a file. The API is synchronous; async callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import errno
import fcntl
import getpass
import json
import os
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from console.file_trust import JOURNAL, UntrustedFile, open_trusted
from console.journal.lines import count_lines, line_end, line_start, read_range
from console.journal.verify import Anchor, ArchiveUnreadable, VerifyResult, canonical, entry_hash, entry_problem, walk
from console.redact import Redactor

VERSION = 1


_DECODER = json.JSONDecoder()


class JournalError(Exception):
    """The journal cannot be read or written; ``str()`` is one line naming the path and the cause."""


def default_journal_path() -> Path:
    """``<user state dir>/incident-console/journal.jsonl``."""
    return Path(platformdirs.user_state_dir("incident-console")) / "journal.jsonl"


def actor_info() -> dict:
    """Who is writing: user, host, the SSH client address (or None) and the pid."""
    ssh_client = os.environ.get("SSH_CLIENT", "").split()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a uid with no passwd entry, as in some containers
        user = str(os.getuid())
    return {
        "user": user,
        "host": socket.gethostname(),
        "ssh_from": ssh_client[0] if ssh_client else None,
        "pid": os.getpid(),
    }


# Characters JSON may hold raw that other line readers take for a line end (`str.splitlines`, JavaScript): written
# escaped in the file's line, so the line reads back as the same entry, whose hash (over `canonical`) is unchanged.
_LINE_BREAKERS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def written_line(entry: dict) -> str:
    """The entry's line in the file: its canonical JSON with U+2028, U+2029 and U+0085 escaped."""
    return canonical(entry).translate(_LINE_BREAKERS)


def _format_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _replaced(fd: int, path: Path) -> bool:
    """Whether the path no longer names the file open on `fd` (`journal archive` put a new one in its place)."""
    try:
        now = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino)


def _os_error(path: Path, doing: str, exc: OSError) -> JournalError:
    code = errno.errorcode.get(exc.errno or 0)
    cause = f"{exc.strerror} ({code})" if exc.strerror and code else str(exc)
    return JournalError(f"journal {path}: cannot {doing}: {cause}")


class Journal:
    """An append-only, hash-chained JSON Lines file that several processes can share.

    Nothing touches the disk until :meth:`open` or :meth:`append`, which create the parent
    directory (0700) and the file (0600) when missing. Reading a missing journal yields nothing.
    Reading and writing refuse what others could change (`console.file_trust`) and what is not a regular file;
    writing also refuses a symlink and a file that is not a journal.
    """

    def __init__(
        self,
        path: Path,
        *,
        environment: str | None = None,
        redactor: Redactor | None = None,
        clock: Callable[[], datetime] | None = None,
        actor: dict | None = None,
    ) -> None:
        self._path = Path(path)
        self._environment = environment
        self._redactor = redactor or Redactor()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._actor = actor if actor is not None else actor_info()
        self._held = threading.local()  # .fd: the locked descriptor while this thread is inside `exclusive()`

    @property
    def path(self) -> Path:
        return self._path

    @property
    def broken_path(self) -> Path:
        """Where torn tails are moved to: ``<path>.broken``."""
        return self._path.with_name(self._path.name + ".broken")

    # -- writing ---------------------------------------------------------------------------------

    def open(self) -> None:
        """Create the file if needed and recover a torn tail (idempotent)."""
        with self._write_fd("open") as fd:
            self._recover(fd)

    def append(
        self, kind: str, data: dict | None = None, *, incident: str | None = None, corr: int | None = None
    ) -> dict:
        """Append one entry (secrets redacted from ``data``) and return it as written."""
        with self._write_fd("append") as fd:
            self._recover(fd)
            return self._append_locked(fd, kind, data, incident, corr)

    @contextmanager
    def exclusive(self) -> Iterator[int]:
        """Hold the exclusive lock across a check and an append: inside the block, this thread's reads see every
        entry written so far and its appends go through, while every other writer and reader waits (other threads
        too: take your own locks before this one). A refusal raised before appending leaves the journal as it was.
        Yields the locked descriptor (`archive` replaces the file under it)."""
        if (held := getattr(self._held, "fd", None)) is not None:
            yield held
            return
        with self._write_fd("append") as fd:
            self._recover(fd)
            self._held.fd = fd
            try:
                yield fd
            finally:
                self._held.fd = None

    @contextmanager
    def _write_fd(self, doing: str) -> Iterator[int]:
        """An O_APPEND descriptor on the journal itself holding the exclusive lock; OSErrors become JournalError."""
        if (held := getattr(self._held, "fd", None)) is not None:
            yield held  # inside `exclusive()`: the lock is ours already
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = self._open(os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno == errno.ELOOP and self._path.is_symlink():
                raise JournalError(
                    f"journal {self._path} is a symbolic link; refusing to follow it (point [console].journal at "
                    "the real file)"
                ) from None
            raise _os_error(self._path, doing, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _replaced(fd, self._path):  # archived while this writer waited for the lock: write to the new file
                os.close(fd)
                fd = -1
                with self._write_fd(doing) as current:
                    yield current
                return
            self._refuse_foreign(fd)
            yield fd
        except OSError as exc:
            raise _os_error(self._path, doing, exc) from exc
        finally:
            if fd != -1:
                os.close(fd)  # also releases the lock

    def _open(self, flags: int) -> int:
        """A descriptor on the journal once it passes `console.file_trust`'s rule (the file and every folder above it
        yours or root's and not writable by others, its own folder not even sticky; a regular file, so a FIFO never
        hangs a reader); JournalError otherwise. A missing journal raises FileNotFoundError (without O_CREAT)."""
        try:
            return open_trusted(self._path, JOURNAL, flags)[0]
        except UntrustedFile as exc:
            raise JournalError(f"journal {exc}") from None

    def _refuse_foreign(self, fd: int) -> None:
        """Refuse a non-empty file whose first line is not a journal entry: it is never truncated or moved aside.

        A file that is one line without a newline is a torn first entry when it starts like JSON.
        """
        size = os.fstat(fd).st_size
        if size == 0:
            return
        first = line_end(fd, size)
        if first is None:
            journal = os.pread(fd, 1, 0) == b"{"
        else:
            try:
                entry = json.loads(os.pread(fd, first, 0))
            except ValueError:
                entry = None
            journal = isinstance(entry, dict) and isinstance(entry.get("seq"), int) and bool(entry.get("hash"))
        if not journal:
            raise JournalError(
                f"journal {self._path}: line 1 is not a journal entry; refusing to write to it "
                "(point [console].journal at a new file)"
            )

    def _recover(self, fd: int) -> None:
        """Move bytes after the last newline (a writer died mid-line) to ``.broken``; journal it."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        start = line_start(fd, size)
        torn = os.pread(fd, size - start, start)
        broken = os.open(self.broken_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(broken, torn)
            os.fsync(broken)
        finally:
            os.close(broken)
        os.ftruncate(fd, start)
        os.fsync(fd)
        self._append_locked(
            fd, "journal.recovered", {"bytes": len(torn), "broken_file": str(self.broken_path)}, None, None
        )

    def _append_locked(self, fd: int, kind: str, data: dict | None, incident: str | None, corr: int | None) -> dict:
        size = os.fstat(fd).st_size
        last = self._last_entry(fd, size)
        entry: dict[str, Any] = {
            "v": VERSION,
            "seq": last["seq"] + 1 if last else 1,
            "ts": _format_ts(self._clock()),
            "kind": kind,
            "incident": incident,
            "actor": dict(self._actor),
            "environment": self._environment,
            # Round-trip through JSON so the entry returned (and hashed) is exactly what is read back.
            "data": json.loads(json.dumps(self._redactor.value(data or {}), default=str)),
            "corr": corr,
            "prev": last["hash"] if last else None,
        }
        entry["hash"] = entry_hash(entry)
        line = (written_line(entry) + "\n").encode()
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(errno.ENOSPC, f"short write ({written} of {len(line)} bytes)")
            os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, size)  # never leave a torn line or an un-synced entry behind
            except OSError:
                pass  # the original error is the one worth reporting
            raise
        return entry

    def _last_entry(self, fd: int, size: int) -> dict | None:
        """The last entry (the file ends with a newline here), or None when the file is empty."""
        if size == 0:
            return None
        start = line_start(fd, size - 1)
        raw = os.pread(fd, size - 1 - start, start)
        try:
            last = json.loads(raw)
            if isinstance(last, dict) and isinstance(last.get("seq"), int) and last.get("hash"):
                return last
        except ValueError:
            pass
        line_no = 1 + count_lines(fd, start)
        raise JournalError(
            f"journal {self._path} is corrupt at line {line_no} (not a journal entry); "
            "run `incident-console journal verify`"
        )

    # -- reading ---------------------------------------------------------------------------------

    def _settled_size(self, fd: int) -> int:
        """The size with no writer mid-line: taken under a shared lock, unless this thread holds the exclusive one."""
        if getattr(self._held, "fd", None) is not None:
            return os.fstat(fd).st_size
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            return os.fstat(fd).st_size
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    @contextmanager
    def snapshot(self) -> Iterator[tuple[int, int] | None]:
        """A read-only descriptor on the journal and its size with no writer mid-line; None when there is no journal.
        Readers that look for one place in the file (`console.journal.horizon`) read it through `journal.lines`."""
        try:
            fd = self._open(os.O_RDONLY)
        except FileNotFoundError:
            yield None
            return
        except OSError as exc:
            raise _os_error(self._path, "read", exc) from exc
        try:
            yield fd, self._settled_size(fd)
        except OSError as exc:
            raise _os_error(self._path, "read", exc) from exc
        finally:
            os.close(fd)

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, raw line) of every line written when reading started; none if missing."""
        try:
            with os.fdopen(self._open(os.O_RDONLY), "rb") as f:
                size = self._settled_size(f.fileno())
                offset = 0
                for line_no, raw in enumerate(f, start=1):
                    if offset >= size:
                        return
                    offset += len(raw)
                    yield line_no, raw.rstrip(b"\n")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _os_error(self._path, "read", exc) from exc

    def entries(self) -> Iterator[dict]:
        """Every entry in order. A line that is not JSON, or not an entry (a field missing or mistyped), raises
        JournalError naming its line number (and seq) and what is wrong, so no reader trips over it."""
        for line_no, raw in self._lines():
            yield self._entry(raw, line_no)

    def _entry(self, raw: bytes | str, line_no: int) -> dict:
        """One line as an entry; JournalError naming the line (and seq) when it is not JSON or not an entry."""
        try:
            entry = _DECODER.decode(raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw)
        except ValueError:
            raise JournalError(
                f"journal {self._path}: line {line_no} is not JSON; run `incident-console journal verify`"
            ) from None
        problem = entry_problem(entry)
        if problem is not None:
            seq = entry.get("seq") if isinstance(entry, dict) else None
            where = f"line {line_no}" + (f" (seq {seq})" if isinstance(seq, int) else "")
            raise JournalError(
                f"journal {self._path}: {where} is not a journal entry: {problem}; "
                "run `incident-console journal verify`"
            )
        return entry

    def tail(self, n: int) -> list[dict]:
        """The last ``n`` entries, oldest first."""
        return list(deque(self.entries(), maxlen=n)) if n > 0 else []

    def read_from(self, offset: int, line: int = 1) -> tuple[list[dict], int, int, list[str]]:
        """The entries of the complete lines from byte `offset` (which starts line number `line`) on, the offset
        after them, the next line's number, and what could not be read: follow a journal by reading only what other
        writers appended since. A partial last line is left for the next read. Lines end at `\\n` only (never at
        U+2028 or U+0085, which `str.splitlines` also splits on); a line that is no entry is skipped and named in the
        last item, so a follower says so and keeps following."""
        with self.snapshot() as snap:
            if snap is None:
                return [], offset, line, []
            fd, size = snap
            data = read_range(fd, offset, size)
        end = data.rfind(b"\n") + 1
        lines = data[:end].split(b"\n")[:-1]
        entries, unreadable = [], []
        for number, raw in enumerate(lines, start=line):
            try:
                entries.append(self._entry(raw, number))
            except JournalError as exc:
                unreadable.append(str(exc))
        return entries, offset + end, line + len(lines), unreadable

    def verify(self, anchors: Sequence[Anchor] = ()) -> VerifyResult:
        """Walk the chain and name the first bad entry (a missing or empty journal is ok); check each anchor. A journal
        that continues an archive (`journal archive`) is walked across it, back to seq 1."""
        return walk(self._lines(), anchors, self._archive_lines)

    def _archive_lines(self, name: str) -> Iterator[tuple[int, bytes]]:
        """The lines of the archive `name` (a file in the journal's folder), under the journal's file rules."""
        try:
            yield from Journal(self._path.parent / Path(name).name)._lines()
        except JournalError as exc:
            raise ArchiveUnreadable(str(exc)) from None
