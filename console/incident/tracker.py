"""Follows a journal incrementally: the latest incident and the recent entries, updated from new entries only.

Every console (and wall) on a journal holds one. The first `catch_up()` reads from the journal's horizon
(`console.journal.horizon`: the latest incident with its pre-declaration window, the latest unfinished triage run, the
last entries), whatever the journal's length; each later one reads only the bytes appended since.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from console.incident.replay import Replayer
from console.incident.state import IncidentState
from console.journal import Journal, actor_info
from console.journal.cursor import JournalCursor
from console.journal.horizon import RECENT, Summary


class IncidentTracker:
    """The latest incident replayed from a journal, kept current by reading only what was appended."""

    def __init__(self, journal: Journal, recent: int = RECENT) -> None:
        self.journal = journal
        self.recent: deque[dict] = deque(maxlen=recent)
        self._cursor = JournalCursor(journal)  # from the horizon
        self._replayer = Replayer()
        self._remote: list[dict] = []  # verified entries of other hosts (console.share), fed again after a re-read
        self.summary = Summary()  # this journal's past beyond the horizon: open requests, triage runs, checkpoints
        self._lock = threading.RLock()  # desk commands run in threads; one catch-up at a time

    @property
    def state(self) -> IncidentState | None:
        """The latest incident as of the last catch-up."""
        return self._replayer.state

    @property
    def declared(self) -> list[str]:
        """Every incident id declared in what was read (from the horizon on, which holds any declared this minute),
        oldest first."""
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
                self.summary = self._cursor.start.summary.copy()
                self.recent.clear()
            for entry in entries:
                self.summary.feed(entry)
            if restarted:
                entries = entries + self._remote
            for entry in entries:
                self._replayer.feed(entry)
            self.recent.extend(entries)
            return entries

    def caught_up(self) -> bool:
        """Whether nothing was appended since the last catch_up (one stat: cheap enough for the event loop)."""
        return self._cursor.at_end()

    def take_unreadable(self) -> list[str]:
        """The journal lines the reads since the last call could not use (skipped; one line each, for the screen)."""
        return self._cursor.take_unreadable()

    def stranded(self) -> list[dict]:
        """This journal's action requests with no outcome whose console is gone: written on this host by a process
        that no longer exists (killed with SIGKILL, out of memory, or the host restarted). A request of a console that
        is still running, or of another host, is not stranded: it may be running now."""
        with self._lock:
            here = actor_info()
            return [
                request
                for _, request in sorted(self.summary.requests.items())
                if (actor := request.get("actor") or {}).get("host") == here["host"]
                and isinstance(actor.get("pid"), int)
                and actor["pid"] != here["pid"]
                and not _alive(actor["pid"])
            ]

    def remote_entries(self) -> list[dict]:
        """The entries of other hosts followed so far (a copy)."""
        with self._lock:
            return list(self._remote)

    def add_remote(self, entry: dict) -> None:
        """A verified entry written on another host (followed from the shared stream): part of the incident too."""
        with self._lock:
            self._remote.append(entry)
            self._replayer.feed(entry)
            self.recent.append(entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"  # a zombie has ended; only its exit status is left to collect
