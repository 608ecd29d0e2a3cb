"""The war-room wall: a note from another process to its paint on a running wall, and the wall at rest beside the
dashboard, under pseudo-terminals.

    .venv/bin/python benchmarks/wall.py [--notes 20] [--seconds 20] [--probes 10]

(a) With an incident declared, a headless writer (its own Python process) appends a note every ~0.4-1.4 s; the
latency runs from the writer's exit (the entry is in the journal, fsynced) to the note's text arriving on the
wall's pty. (b) Idle: the wall and then the dashboard, each a fresh console on the same config and journal
(10 probes every 2 s, the incident open so the wall's clocks run), CPU and bytes written per second over
`--seconds` after 5 s of settling. The probed service runs in this process (its CPU is not counted).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ptyrun import PtyProcess, print_table
from console.demo.service import DemoService
from console.incident.commands import IncidentDesk
from console.journal import Journal

PATHS = ["/api/health", "/api/health/db", "/api/health/cache"]
NOTE = "from the laptop {:02d}"
WRITER = "import sys; from console.journal import Journal; Journal(sys.argv[1]).append('note', {'text': sys.argv[2]})"


def console(config: Path, *extra: str, columns: int = 160, rows: int = 50, keep: bool = True) -> PtyProcess:
    return PtyProcess(
        [sys.executable, "-m", "console.cli", "--config", str(config), *extra], columns=columns, rows=rows, keep=keep
    )


def note_latencies(config: Path, journal: Path, notes: int) -> list[float]:
    """Seconds from each writer's exit to its note on the wall."""
    wall = console(config, "--wall")
    latencies = []
    try:
        if wall.wait_for(b"checkout returns 500s", timeout=20) is None:
            raise SystemExit("the wall never showed the incident")
        for n in range(notes):
            time.sleep(random.uniform(0.2, 1.2))  # spreads the writes over the whole phase of the wall's 1 s poll
            text = NOTE.format(n)
            since = wall.mark()
            subprocess.run([sys.executable, "-c", WRITER, str(journal), text], check=True)
            written = time.monotonic()
            painted = wall.arrived(text.encode(), since=since, timeout=10)
            if painted is None:  # the wall's bytes kept, to see what it drew instead (pyte replays them)
                kept = Path(tempfile.mkdtemp(prefix="wall-")) / "wall.bytes"
                kept.write_bytes(bytes(wall.output))
                raise SystemExit(f"note {n} never showed on the wall (its bytes from offset {since}: {kept})")
            latencies.append(max(0.0, painted - written))
    finally:
        wall.stop()
    return latencies


def idle(config: Path, seconds: float, *extra: str) -> tuple[float, float]:
    """(CPU % of one core, bytes/s to the terminal) of a settled console over `seconds`."""
    run = console(config, *extra, columns=120, rows=40, keep=False)
    try:
        time.sleep(5.0)
        cpu0, bytes0, t0 = run.cpu_seconds(), run.bytes, time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        return (run.cpu_seconds() - cpu0) / elapsed * 100, (run.bytes - bytes0) / elapsed
    finally:
        run.stop()


def ratio(wall: float, dashboard: float) -> str:
    return f"{wall / dashboard:.2f}" if dashboard else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--probes", type=int, default=10)
    args = parser.parse_args()
    with DemoService(incident_after=1e9, seed=1) as service, tempfile.TemporaryDirectory() as tmp:
        journal, config = Path(tmp) / "j.jsonl", Path(tmp) / "config.toml"
        probes = "".join(
            f'[[health]]\nname = "probe {i}"\nurl = "{service.url}{PATHS[i % len(PATHS)]}"\n'
            for i in range(args.probes)
        )
        config.write_text(f'[console]\nenvironment = "demo"\nrefresh = "2s"\njournal = "{journal}"\n{probes}')
        desk = IncidentDesk(Journal(journal))
        desk.declare("checkout returns 500s", "SEV-2")
        desk.assign_role("commander", "alice")
        latencies = note_latencies(config, journal, args.notes)
        wall, dashboard = idle(config, args.seconds, "--wall"), idle(config, args.seconds)
    ms = [v * 1000 for v in latencies]
    print_table(
        f"wall: a note from another process to its paint, {len(ms)} notes, 160x50 pty",
        ["measure", "p50", "max", "goal"],
        [["note -> paint, ms", f"{statistics.median(ms):.0f}", f"{max(ms):.0f}", "p50 <= 1000"]],
    )
    print()
    print_table(
        f"at rest: {args.probes} probes every 2 s, incident open, 120x40 pty, {args.seconds:.0f} s each",
        ["measure", "wall", "dashboard", "wall / dashboard"],
        [
            ["CPU, % of one core", f"{wall[0]:.2f}", f"{dashboard[0]:.2f}", ratio(wall[0], dashboard[0])],
            ["bytes to the terminal per s", f"{wall[1]:.0f}", f"{dashboard[1]:.0f}", ratio(wall[1], dashboard[1])],
        ],
    )


if __name__ == "__main__":
    main()
