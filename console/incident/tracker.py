"""Follows a journal incrementally: the latest incident and the recent entries, updated from new entries only.

Every console (and wall) on a journal holds one. Each `catch_up()` reads only the bytes appended since the last
one, so a 100k-entry journal costs a full read once, at start, and then only its growth. A journal that shrank or
was replaced (a new inode) is read again from the start.
"""

from __future__ import annotations

import os
import threading
from collections import deque

from console.incident.replay import Replayer
from console.incident.state import IncidentState
from console.journal import Journal

RECENT = 200


class IncidentTracker:
    """The latest incident replayed from a journal, kept current by reading only what was appended."""

    def __init__(self, journal: Journal, recent: int = RECENT) -> None:
        self.journal = journal
        self.recent: deque[dict] = deque(maxlen=recent)
        self._replayer = Replayer()
        self._offset = 0
        self._identity: tuple[int, int] | None = None
        self._lock = threading.Lock()  # desk commands run in threads; one catch-up at a time

    @property
    def state(self) -> IncidentState | None:
        """The latest incident as of the last catch-up."""
        return self._replayer.state

    @property
    def declared(self) -> list[str]:
        """Every incident id declared so far, oldest first."""
        return list(self._replayer.declared)

    def current(self) -> IncidentState | None:
        """Catch up, then the latest incident (open or not), or None."""
        self.catch_up()
        return self.state

    def catch_up(self) -> list[dict]:
        """Read and apply what was appended since the last call; returns the new entries."""
        with self._lock:
            try:
                info = os.stat(self.journal.path)
            except FileNotFoundError:
                return []
            identity = (info.st_dev, info.st_ino)
            if identity != self._identity or info.st_size < self._offset:
                self._identity, self._offset = identity, 0
                self._replayer = Replayer()
                self.recent.clear()
            if info.st_size == self._offset:
                return []
            entries, self._offset = self.journal.read_from(self._offset)
            for entry in entries:
                self._replayer.feed(entry)
            self.recent.extend(entries)
            return entries
