"""What the incident desk costs per call: every command and every overdue check replays the whole journal.

.venv/bin/python benchmarks/incident_replay.py [--sizes 1000,10000,100000] [--repeat 5]

Builds journals of N entries (observations and actions, an incident declared halfway with a few hundred entries
of its own), written as the journal writes them (canonical JSON, hash chain) but without an fsync per line, then
times reading, replaying, `check_overdue()` and `verify()`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from console.clock import ManualClock
from console.incident.commands import IncidentDesk
from console.incident.replay import replay
from console.incident.tracker import IncidentTracker
from console.journal import Journal, canonical, entry_hash
from console.timeparse import iso

START = datetime(2025, 1, 15, 0, 0, tzinfo=UTC)
ACTOR = {"user": "bench", "host": "bench", "ssh_from": None, "pid": 1}
INCIDENT = "INC-20250115-0000"


def _entry(seq: int, prev: str | None, kind: str, data: dict, incident: str | None = None) -> dict:
    entry = {
        "v": 1,
        "seq": seq,
        "ts": iso(START + timedelta(seconds=seq)),
        "kind": kind,
        "incident": incident,
        "actor": ACTOR,
        "environment": "bench",
        "data": data,
        "corr": None,
        "prev": prev,
    }
    entry["hash"] = entry_hash(entry)
    return entry


def build(path: Path, size: int) -> None:
    """`size` entries, one a second; an incident declared halfway (impact 10 minutes earlier) stays open."""
    prev: str | None = None
    half = size // 2
    with path.open("w") as out:
        for seq in range(1, size + 1):
            if seq == half:
                impact = iso(START + timedelta(seconds=seq - 600))
                data = {"title": "bench", "severity": "SEV-2", "scheme": "sev", "impact_started": impact}
                entry = _entry(seq, prev, "incident.declared", data, INCIDENT)
            elif seq > half and seq % 50 == 0:
                entry = _entry(seq, prev, "note", {"text": f"note {seq}"}, INCIDENT)
            elif seq % 10 == 0:
                entry = _entry(seq, prev, "action.requested", {"action": "kill-idle", "params": {"older_than": "1h"}})
            else:
                state = "crit" if seq % 2 else "ok"
                data = {"source": "health", "name": f"api-{seq % 7}", "state": state, "from": "ok", "reason": "x"}
                entry = _entry(seq, prev, "observation", data)
            out.write(canonical(entry) + "\n")
            prev = entry["hash"]


def median_ms(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(size: int, repeat: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        build(path, size)
        clock = ManualClock(START + timedelta(seconds=size // 2 + 60))  # before the first update is due
        journal = Journal(path, clock=clock.now, actor=ACTOR)
        desk = IncidentDesk(journal, clock)
        entries = list(journal.entries())
        state = replay(entries)
        assert state is not None and state.id == INCIDENT
        first = median_ms(lambda: IncidentTracker(journal).catch_up(), 1)
        desk.tracker.catch_up()

        def note_and_catch_up() -> None:
            journal.append("note", {"text": "from another console"})
            desk.tracker.catch_up()

        return [
            f"{size:,}",
            f"{path.stat().st_size / 1e6:.1f}",
            f"{len(state.entries):,}",
            f"{median_ms(lambda: list(journal.entries()), repeat):.1f}",
            f"{median_ms(lambda: replay(entries), repeat):.1f}",
            f"{first:.1f}",
            f"{median_ms(desk.check_overdue, repeat):.2f}",
            f"{median_ms(note_and_catch_up, repeat):.2f}",
            f"{median_ms(journal.verify, repeat):.1f}",
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    table = Table(title="Incident replay (median ms)")
    columns = (
        "entries",
        "MB",
        "incident entries",
        "read all",
        "full replay",
        "first catch-up",
        "overdue check (incremental)",
        "append + catch-up",
        "verify",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for size in (int(s) for s in args.sizes.split(",")):
        table.add_row(*measure(size, args.repeat))
    Console().print(table)


if __name__ == "__main__":
    main()
