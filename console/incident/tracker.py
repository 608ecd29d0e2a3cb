"""Follows a journal incrementally: the latest incident and the recent entries, updated from new entries only.

Every console (and wall) on a journal holds one. Each `catch_up()` reads only the bytes appended since the last
one, so a 100k-entry journal costs a full read once, at start, and then only its growth.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from console.follow import JournalCursor
from console.incident.replay import Replayer
from console.incident.state import IncidentState
from console.journal import Journal

RECENT = 200


class IncidentTracker:
    """The latest incident replayed from a journal, kept current by reading only what was appended."""

    def __init__(self, journal: Journal, recent: int = RECENT) -> None:
        self.journal = journal
        self.recent: deque[dict] = deque(maxlen=recent)
        self._cursor = JournalCursor(journal)
        self._replayer = Replayer()
        self._remote: list[dict] = []  # verified entries of other hosts (console.share), fed again after a re-read
        self._lock = threading.RLock()  # desk commands run in threads; one catch-up at a time

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

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """For a check-then-append: this tracker, then the journal's exclusive lock (the order every catch-up takes
        them in), so the state read inside is the journal's last word until the block ends."""
        with self._lock, self.journal.exclusive():
            yield

    def catch_up(self) -> list[dict]:
        """Read and apply what was appended since the last call; returns the new entries."""
        with self._lock:
            entries, restarted = self._cursor.read()
            if restarted:
                self._replayer = Replayer()
                self.recent.clear()
                entries = entries + self._remote
            for entry in entries:
                self._replayer.feed(entry)
            self.recent.extend(entries)
            return entries

    def add_remote(self, entry: dict) -> None:
        """A verified entry written on another host (followed from the shared stream): part of the incident too."""
        with self._lock:
            self._remote.append(entry)
            self._replayer.feed(entry)
            self.recent.append(entry)
