"""The recording file: SQLite in WAL mode, opened only once it passes the journal's file rules, and its one writer's
lock (`<file>.lock`, a flock held while the writer lives, as the share mirror's).

Tables: `feeds` (a feed's key and poll interval), `samples` (a feed's sample: when, its keyframe's row or NULL for a
keyframe, the compressed blob; indexed by feed and time, and by time for the scrubber's next and previous sample),
`checks` and `points` (each check's number and state per sample, uncompressed: a chart's 24 hours are one range scan
of its check, never 43,200 decompressions).
Every call here blocks: callers run them in a thread.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

from console.file_trust import RECORDING, UntrustedFile, check_path, open_trusted, os_reason

SCHEMA = 1
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feeds (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, interval REAL NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY, feed INTEGER NOT NULL, at REAL NOT NULL, key INTEGER, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_feed_at ON samples (feed, at);
CREATE INDEX IF NOT EXISTS samples_at ON samples (at);
CREATE INDEX IF NOT EXISTS samples_key ON samples (key) WHERE key IS NOT NULL;
CREATE TABLE IF NOT EXISTS checks (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS points (
    check_id INTEGER NOT NULL, at REAL NOT NULL, number REAL NOT NULL, state TEXT NOT NULL, PRIMARY KEY (check_id, at)
) WITHOUT ROWID;
"""


class RecordError(Exception):
    """The recording cannot be used: str() is one line naming the file and what to do."""


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """The recording at `path`, judged first as the journal is (RecordError naming the fix otherwise); with `create`
    a missing file is made 0600 (its folder 0700) and given the tables; without, a missing file is RecordError."""
    path = Path(path)
    try:
        if create:
            make_folders(path.parent)
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        os.close(open_trusted(path, RECORDING, flags, 0o600)[0])
        for side in ("-wal", "-shm"):  # SQLite reuses them as they are: judged like the file
            if os.path.lexists(f"{path}{side}"):
                os.close(open_trusted(Path(f"{path}{side}"), RECORDING, os.O_RDWR)[0])
    except FileNotFoundError:
        raise RecordError(
            f"{path}: no recording (run `incident-console record`, or add [record] to the config)"
        ) from None
    except UntrustedFile as exc:
        raise RecordError(str(exc)) from None
    except OSError as exc:
        raise RecordError(f"{path}: cannot open the recording: {os_reason(exc)}") from None
    try:
        db = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
        if create:  # before WAL and the tables: on a new file only, so that pruning gives pages back
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash loses at most the last commits, never the file
        if create:
            db.executescript(_TABLES)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
        found = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise RecordError(f"{path}: not a recording the console can read ({exc}); move it away") from None
    if found is None or found[0] != str(SCHEMA):
        db.close()
        raise RecordError(f"{path}: a recording of another version (schema {found and found[0]}); move it away")
    return db


def make_folders(folder: Path) -> None:
    """`folder` and every missing folder above it, each 0700 (`mkdir(parents=True)` makes those above with the
    umask's mode: under umask 002 the group could write them, and the file rules would refuse the recording)."""
    missing = []
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(mode=0o700, exist_ok=True)


def check_place(path: Path) -> None:
    """What the writer refuses about `path` before it writes a byte, judged without creating anything (RecordError):
    the writer's lock, `-wal` and `-shm`, those that exist, as the file rules judge them; and for a recording not made
    yet, the folder it would be made in (or, when `record` would make that folder, the nearest one that exists): a
    folder, passing the rules, that you may create files in. The writer's lock and `check` both start here."""
    path = Path(path).absolute()
    try:
        for side, flags in ((".lock", os.O_NOFOLLOW), ("-wal", 0), ("-shm", 0)):  # as WriterLock and connect open them
            if os.path.lexists(f"{path}{side}"):
                os.close(open_trusted(Path(f"{path}{side}"), RECORDING, os.O_RDWR | flags)[0])
        if os.path.lexists(path):
            return  # judged by connect, on the file itself
        folder = check_path(path, RECORDING)  # as open_trusted judges it once make_folders made the missing ones
        if not os.access(folder, os.W_OK | os.X_OK):
            raise RecordError(f"{path}: cannot create the recording: you may not create files in {folder}")
    except UntrustedFile as exc:
        raise RecordError(str(exc)) from None
    except OSError as exc:
        raise RecordError(f"{path}: cannot judge where the recording goes: {os_reason(exc)}") from None


def file_problem(path: Path) -> str | None:
    """Why the recording at `path` (or the folder it would be made in) cannot be used, or None (`check` says it)."""
    try:
        check_place(path)
        if path.exists():
            connect(path, create=False).close()
    except RecordError as exc:
        return str(exc)
    return None


class WriterLock:
    """`<file>.lock`: whoever holds its flock is the one writer of the recording (others wait as a standby)."""

    def __init__(self, path: Path) -> None:
        self.recording = Path(path)
        self.path = Path(f"{path}.lock")
        self._fd: int | None = None

    def take(self) -> bool:
        """Whether this process holds it now (taking it when free); RecordError when it cannot be made, or when the
        recording's place is refused (`check_place`, `check`'s words)."""
        if self._fd is not None:
            return True
        check_place(self.recording)
        try:
            make_folders(self.path.parent)
            fd = open_trusted(self.path, RECORDING, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW)[0]
        except UntrustedFile as exc:
            raise RecordError(str(exc)) from None
        except OSError as exc:
            raise RecordError(f"{self.path}: cannot create the writer's lock: {os_reason(exc)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who records, for whoever wonders
        self._fd = fd
        return True

    def holder(self) -> str:
        """The pid written by the holder, or '' when unreadable."""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
