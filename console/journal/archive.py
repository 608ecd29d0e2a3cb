"""`journal archive`: the entries before the last resolved incident move to an archive file beside the journal.

The cut is the start of that incident's pre-declaration window (`horizon.window_start`), or of the latest incident's
when it reaches further back, so every incident the live journal keeps replays as before. The archive,
`<journal stem>-archive-<first>-<last>.jsonl` (0600, the journal's folder), holds those lines byte for byte: it is a
journal of its own that verifies. The live journal keeps its seqs: it starts at the first entry it keeps (whose `prev`
is the archive's head hash) and its next entry, `journal.archived`, records the archive (`file`, `entries`, `first`,
`last`, `head`), so `journal verify` walks the archive and checks that the live journal's first entry chains to it.
A later archive of the same journal holds that entry, and verify follows the chain back to seq 1.

It refuses a journal that does not verify, and a cut that would move an action request with no outcome or an
unfinished triage run. All of it happens under the journal's exclusive lock: the new live journal is written beside
it and renamed over it; a writer that waited for the lock on the old file writes to the new one (`Journal._write_fd`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from console.journal import Journal, JournalError
from console.journal.horizon import DECLARED, Summary, window_start
from console.journal.lines import CHUNK, backwards, boundary, forwards, seq_of
from console.journal.verify import ARCHIVED

ENDED = {"resolved", "closed", "cancelled"}  # an incident in one of these may have what precedes it archived
_STATUS = {"incident.status": None, "incident.reopened": "investigating", "incident.cancelled": "cancelled"}
_MARKS = (b'"action.', b'"incident.', b'"triage.', b'"journal.checkpoint"')


class ArchiveRefused(Exception):
    """Nothing was archived; ``str()`` says why and what to do, in one line."""


@dataclass(frozen=True)
class Archived:
    """What `archive` moved: the archive file, its entries (seqs `first` to `last`), its head, and the entry that
    records it."""

    path: Path
    entries: int
    first: int
    last: int
    head: str
    entry: dict


@dataclass
class _Incident:
    seq: int
    offset: int
    status: str = "triage"


def archive(journal: Journal) -> Archived:
    """Move the entries before the last resolved incident to an archive; ArchiveRefused when it cannot."""
    with journal.exclusive() as fd:
        verified = journal.verify()
        if not verified.ok:
            raise ArchiveRefused(
                f"journal {journal.path} fails verification at seq {verified.bad_seq} ({verified.reason}); "
                "run `incident-console journal verify`"
            )
        end = boundary(fd, os.fstat(fd).st_size)
        cut, incident = _cut(journal, fd, end)
        first = next(seq_of(line) for _, line in forwards(fd, 0, end)) or 1
        last = json.loads(next(backwards(fd, cut))[1])
        name = f"{journal.path.stem}-archive-{first}-{last['seq']}.jsonl"
        path, live = journal.path.parent / name, journal.path.with_name(f".{journal.path.name}.archiving")
        if path.exists():
            raise ArchiveRefused(
                f"journal archive: {path} exists (an archive that stopped half-way?); the journal still holds its "
                "entries: move it aside and run it again"
            )
        count = last["seq"] - first + 1  # one entry a line: the journal verified
        data = {"file": name, "entries": count, "first": first, "last": last["seq"], "head": last["hash"]}
        live.unlink(missing_ok=True)  # a run that stopped half-way left it; the lock is ours
        try:
            _copy(fd, 0, cut, path)
            new_fd = _copy(fd, cut, end, live, keep_open=True)
            try:
                entry = journal._append_locked(new_fd, ARCHIVED, {**data, "before": incident}, None, None)
            finally:
                os.close(new_fd)
            os.rename(live, journal.path)
        except BaseException:
            live.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            raise
        _sync_folder(journal.path.parent)
        return Archived(path, count, first, last["seq"], last["hash"], entry)


def _cut(journal: Journal, fd: int, end: int) -> tuple[int, str]:
    """The offset the live journal will start at and the incident whose window starts it; refusals as they come."""
    incidents: dict[str, _Incident] = {}
    summary = Summary()
    for offset, line in forwards(fd, 0, end):
        if not any(mark in line for mark in _MARKS):
            continue
        entry = json.loads(line)  # the journal verified: every line is an entry
        summary.feed(entry)
        kind, owner = entry["kind"], entry["incident"]
        if kind == DECLARED and owner:
            incidents[owner] = _Incident(entry["seq"], offset)
        elif kind in _STATUS and owner in incidents:
            incidents[owner].status = _STATUS[kind] or str((entry["data"]).get("status"))
    ended = [(state.seq, owner) for owner, state in incidents.items() if state.status in ENDED]
    if not ended:
        raise ArchiveRefused(f"journal archive: no incident in {journal.path} is resolved yet; nothing to archive")
    _, owner = max(ended)
    latest = max(incidents.values(), key=lambda state: state.seq)
    cut = min(window_start(fd, incidents[owner].offset, end), window_start(fd, latest.offset, end))
    if cut == 0:
        raise ArchiveRefused(f"journal archive: nothing before {owner} to archive: the journal starts with it")
    kept = next((seq_of(line) for _, line in forwards(fd, cut, end)), None) or 0
    for seq, request in sorted(summary.requests.items()):
        if seq < kept:
            action = (request.get("data") or {}).get("action", "?")
            raise ArchiveRefused(
                f"journal archive: action request #{seq} ({action}) has no outcome; wait for it to end (a stranded "
                "one is closed by the next console on its host) and run it again"
            )
    for run in sorted(summary.runs):
        if run < kept:
            raise ArchiveRefused(
                f"journal archive: triage run #{run} is unfinished; finish or abandon it (x) and run it again"
            )
    return cut, owner


def _copy(source: int, start: int, end: int, path: Path, *, keep_open: bool = False) -> int:
    """Copy bytes `start`..`end` of `source` to a new 0600 file at `path` (never an existing one) and fsync it;
    returns its descriptor, open when `keep_open` (for the entry that follows), else closed."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        pos = start
        while pos < end:
            chunk = os.pread(source, min(CHUNK * 16, end - pos), pos)
            if not chunk:
                raise JournalError(f"journal: {path}: the journal ended while it was copied")
            os.write(fd, chunk)
            pos += len(chunk)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        raise
    if not keep_open:
        os.close(fd)
    return fd


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
