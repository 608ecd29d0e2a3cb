"""The dashboard at rest: 10 probes every 2 s under a 120x40 pseudo-terminal for 20 s; CPU and terminal bytes/s.

    .venv/bin/python benchmarks/idle.py [--seconds 20] [--probes 10] [--runs 3]

The probed service runs in this process (its CPU is not counted); the console runs in its own process. Each run
is a fresh console; the table gives the median and the range over the runs (one 20 s window holds only ~0.2 s of
CPU, so single runs vary by about ±0.2 points).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ptyrun import PtyProcess, print_table
from console.demo.service import DemoService

PATHS = ["/api/health", "/api/health/db", "/api/health/cache"]


def one_run(config: Path, seconds: float) -> tuple[float, float, float]:
    """(CPU % of one core, bytes/s to the terminal, RSS MB) over `seconds` after the dashboard settled."""
    run = PtyProcess([sys.executable, "-m", "console.cli", "--config", str(config)], keep=False)
    try:
        time.sleep(5.0)  # start, first polls, first relayouts
        cpu0, bytes0, t0 = run.cpu_seconds(), run.bytes, time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        return (run.cpu_seconds() - cpu0) / elapsed * 100, (run.bytes - bytes0) / elapsed, run.rss_mb()[0]
    finally:
        run.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with DemoService(incident_after=1e9, seed=1) as service, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        probes = "".join(
            f'[[health]]\nname = "probe {i}"\nurl = "{service.url}{PATHS[i % len(PATHS)]}"\n'
            for i in range(args.probes)
        )
        config.write_text(f'[console]\nenvironment = "demo"\nrefresh = "2s"\njournal = "{tmp}/j.jsonl"\n{probes}')
        results = [one_run(config, args.seconds) for _ in range(args.runs)]
    rows = []
    for label, index, fmt, goal in (
        ("CPU, % of one core", 0, "{:.2f}", "<= 1.0"),
        ("bytes written to the terminal per s", 1, "{:.0f}", "<= 1024"),
        ("RSS, MB", 2, "{:.0f}", "-"),
    ):
        values = [r[index] for r in results]
        rows.append([label, *(fmt.format(v) for v in (statistics.median(values), min(values), max(values))), goal])
    title = f"idle dashboard: {args.probes} probes every 2 s, 120x40 pty, {args.runs} runs of {args.seconds:.0f} s"
    print_table(title, ["measure", "median", "min", "max", "goal"], rows)


if __name__ == "__main__":
    main()
