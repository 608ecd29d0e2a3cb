"""Follow a journal by reading only what was appended since the last read (every console, wall and triage run on
one journal holds a cursor). The first read starts where `start` says (`console.journal.horizon`: the horizon by
default, or a seq, or the last lines); a journal that shrank or was replaced (a new inode, e.g. after `journal
archive`) is read again from a new start."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable

from console.journal import Journal
from console.journal.horizon import Start, horizon


class JournalCursor:
    """A read position in a journal: `read()` returns the new entries and whether it started over; `start` is where
    the last start was found (with the summary of what lies before it, when the horizon found it)."""

    def __init__(self, journal: Journal, start: Callable[[Journal], Start] = horizon) -> None:
        self.journal = journal
        self.start = Start()
        self._find_start = start
        self._offset = 0
        self._line = 1
        self._identity: tuple[int, int] | None = None
        self._lock = threading.Lock()  # callers may read from several threads; one read at a time
        self._unreadable: list[str] = []

    def read(self) -> tuple[list[dict], bool]:
        """(entries appended since the last read, True when the journal was read again from a new start)."""
        with self._lock:
            try:
                info = os.stat(self.journal.path)
            except FileNotFoundError:
                return [], False
            identity = (info.st_dev, info.st_ino)
            restarted = identity != self._identity or info.st_size < self._offset
            if restarted:
                self._identity = identity
                if stat.S_ISREG(info.st_mode):  # else read_from says what it is
                    self.start = self._find_start(self.journal)
                self._offset, self._line = self.start.offset, self.start.line
            if info.st_size == self._offset and stat.S_ISREG(info.st_mode):
                return [], restarted
            entries, self._offset, self._line, unreadable = self.journal.read_from(self._offset, self._line)
            self._unreadable += unreadable
            return entries, restarted

    def at_end(self) -> bool:
        """Whether a read now would find nothing new: one stat, no lock and no thread, so a caller polling every
        second need not hop to a thread to learn that nothing was appended (most of the time)."""
        try:
            info = os.stat(self.journal.path)
        except FileNotFoundError:
            return True
        except OSError:
            return False  # read() says what is wrong
        same = (info.st_dev, info.st_ino) == self._identity
        return same and info.st_size == self._offset and stat.S_ISREG(info.st_mode)

    def take_unreadable(self) -> list[str]:
        """What the reads since the last call skipped (one line each, naming the journal line), for the screen."""
        with self._lock:
            taken, self._unreadable = self._unreadable, []
            return taken
