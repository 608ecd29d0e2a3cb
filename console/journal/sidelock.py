"""One holder per journal for a duty (mirroring it to the shared stream, sending its outbox): an exclusive flock on
a file beside it, `<journal><suffix>`, held until the process closes it or exits (so a standby takes over)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from console.journal import JournalError


def take_side_lock(journal: Path, suffix: str) -> int | None:
    """The locked descriptor of `<journal><suffix>` (made 0600 in a 0700 folder, as the journal is), or None while
    another process holds it; JournalError when it cannot be made."""
    path = journal.with_name(journal.name + suffix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise JournalError(f"journal {journal}: cannot create {path.name}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
