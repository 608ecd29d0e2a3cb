"""Big journals written quickly, as consoles on a bastion would have left them: each line canonical, chained and
hashed as `Journal.append` writes it, but with no lock and no fsync per line (a million entries in about half a
minute, not the hour a million fsyncs take). For benchmarks and tests only: nothing else may write a journal.

A writer continues whatever the file holds (`Journal` appends after it as usual), and journals a checkpoint whenever
the summary is due, as a running console does (`IncidentDesk.checkpoint`), unless told not to (a journal written
before checkpoints existed).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from console.clock import ManualClock
from console.journal import Journal, entry_hash, written_line
from console.journal.horizon import CHECKPOINT, horizon
from console.journal.lines import backwards, boundary
from console.timeparse import iso

ACTOR = {"user": "bench", "host": "bench-host", "ssh_from": None, "pid": 1}
START = datetime(2025, 1, 15, 0, 0, tzinfo=UTC)


class BulkWriter:
    """Appends entries to a journal file the way the journal writes them; `routine(n)` writes a day's traffic."""

    def __init__(self, path: Path, clock: ManualClock, *, checkpoints: bool = True, actor: dict = ACTOR) -> None:
        self.path, self.clock, self.checkpoints, self.actor = path, clock, checkpoints, actor
        self.summary = horizon(Journal(path)).summary  # what a console would know of the journal so far
        last = _last_entry(path)
        self._seq, self._prev = (last["seq"], last["hash"]) if last else (0, None)
        self._out: Any = None

    def __enter__(self) -> BulkWriter:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._out = open(self.path, "a", encoding="utf-8")  # closed in __exit__
        os.chmod(self.path, 0o600)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._out.close()

    def add(self, kind: str, data: dict | None = None, *, incident: str | None = None, corr: int | None = None) -> dict:
        """One entry stamped with the clock's time; a checkpoint follows when one is due."""
        entry = self._line(kind, data or {}, incident, corr)
        if self.checkpoints and self.summary.due:
            self._line(CHECKPOINT, self.summary.data(), None, None)
        return entry

    def routine(self, count: int) -> None:
        """`count` entries of a quiet journal, one a second: observations, actions with their outcomes, an incident
        declared, resolved and closed every 2,000 entries, a triage run started and finished every 3,000."""
        for i in range(count):
            self.clock.advance(1)
            if i % 2000 == 1000:
                incident = "INC-" + self.clock.now().strftime("%Y%m%d-%H%M")
                data = {"title": "routine", "severity": "SEV-3", "impact_started": iso(self.clock.now())}
                self.add("incident.declared", data, incident=incident)
                for status in ("resolved", "closed"):
                    self.add("incident.status", {"status": status}, incident=incident)
            elif i % 3000 == 1500:
                run = self.add("triage.started", {"playbook": "routine", "title": "Routine", "definition": {}})
                self.add("triage.finished", {"outcome": "completed"}, corr=run["seq"])
            elif i % 10 == 3:
                request = self.add("action.requested", {"action": "kill-idle", "params": {"older_than": "1h"}})
                self.add("action.completed", {"action": "kill-idle", "status": "completed"}, corr=request["seq"])
            else:
                state = "crit" if i % 4 == 1 else "ok"
                data = {"source": "health", "name": f"api-{i % 7}", "state": state, "from": "ok", "reason": "x"}
                self.add("observation", data)

    def _line(self, kind: str, data: dict, incident: str | None, corr: int | None) -> dict:
        self._seq += 1
        entry = {
            "v": 1,
            "seq": self._seq,
            "ts": iso(self.clock.now()),
            "kind": kind,
            "incident": incident,
            "actor": self.actor,
            "environment": "bench",
            "data": data,
            "corr": corr,
            "prev": self._prev,
        }
        entry["hash"] = self._prev = entry_hash(entry)
        self._out.write(written_line(entry) + "\n")
        self.summary.feed(entry)
        return entry


def _last_entry(path: Path) -> dict | None:
    with Journal(path).snapshot() as snap:
        if snap is None:
            return None
        fd, size = snap
        end = boundary(fd, size)
        return json.loads(next(backwards(fd, end))[1]) if end else None


def with_open_incident(path: Path, size: int, *, checkpoints: bool = True) -> ManualClock:
    """A journal of `size` entries whose last 100 are an open incident (declared with WARN observations a minute
    before it, notes after); returns the clock at its last entry."""
    clock = ManualClock(START)
    with BulkWriter(path, clock, checkpoints=checkpoints) as writer:
        writer.routine(max(0, size - 100))
        for i in range(3):
            clock.advance(18)
            writer.add("observation", {"source": "health", "name": "api", "state": "warn", "from": "ok", "n": i})
        clock.advance(1)
        incident = "INC-" + clock.now().strftime("%Y%m%d-%H%M") + "-open"
        data = {"title": "Checkout returns 500s", "severity": "SEV-2", "scheme": "sev"}
        writer.add("incident.declared", {**data, "impact_started": iso(clock.now())}, incident=incident)
        for i in range(96):
            clock.advance(5)
            writer.add("note", {"text": f"note {i}"}, incident=incident)
    return clock
