"""Follow a journal by reading only what was appended since the last read (every console, wall and triage run on
one journal holds a cursor). A journal that shrank or was replaced (a new inode) is read again from the start."""

from __future__ import annotations

import os
import stat
import threading

from console.journal import Journal


class JournalCursor:
    """A read position in a journal: `read()` returns the new entries and whether it started over."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._offset = 0
        self._line = 1
        self._identity: tuple[int, int] | None = None
        self._lock = threading.Lock()  # callers may read from several threads; one read at a time
        self._unreadable: list[str] = []

    def read(self) -> tuple[list[dict], bool]:
        """(entries appended since the last read, True when the journal was read again from its start)."""
        with self._lock:
            try:
                info = os.stat(self.journal.path)
            except FileNotFoundError:
                return [], False
            identity = (info.st_dev, info.st_ino)
            restarted = identity != self._identity or info.st_size < self._offset
            if restarted:
                self._identity, self._offset, self._line = identity, 0, 1
            if info.st_size == self._offset and stat.S_ISREG(info.st_mode):  # else read_from says what it is
                return [], restarted
            entries, self._offset, self._line, unreadable = self.journal.read_from(self._offset, self._line)
            self._unreadable += unreadable
            return entries, restarted

    def take_unreadable(self) -> list[str]:
        """What the reads since the last call skipped (one line each, naming the journal line), for the screen."""
        with self._lock:
            taken, self._unreadable = self._unreadable, []
            return taken
