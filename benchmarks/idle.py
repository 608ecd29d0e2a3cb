"""The dashboard at rest: 10 probes every 2 s under a 120x40 pseudo-terminal for 20 s; CPU and terminal bytes/s.

    .venv/bin/python benchmarks/idle.py [--seconds 20] [--probes 10] [--runs 3]

The probed service runs in this process (its CPU is not counted); the console runs in its own process. Each run
is a fresh console; the table gives the median and the range over the runs (one 20 s window holds only ~0.1 s of
CPU). CPU is given twice: utime + stime (sampled at clock ticks, 0.05 points in 20 s, and blind to most short
wake-ups) and the exact time on a CPU from schedstat, which is the figure to compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ptyrun import PtyProcess, print_table
from console.demo.service import DemoService

PATHS = ["/api/health", "/api/health/db", "/api/health/cache"]


ROOT = Path(__file__).resolve().parents[1]
CONSOLE = [sys.executable, "-P", "-m", "console.cli"]  # -P: PYTHONPATH says which checkout runs
BARE = [sys.executable, str(ROOT / "benchmarks" / "bare_app.py")]


def on_cpu_ns(pid: int) -> int:
    """Nanoseconds on a CPU of every live thread (schedstat): exact, where utime + stime are sampled at clock
    ticks and so miss most of an idle program's short wake-ups (the bare app reads 1 to 3 ticks in 20 s)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except OSError:
            pass  # a thread that just ended
    return total


def one_run(config: Path, seconds: float, argv: list[str] | None = None, tree: Path = ROOT) -> tuple[float, ...]:
    """(CPU % of one core by ticks and by schedstat, bytes/s to the terminal, RSS MB) over `seconds` after the
    dashboard settled."""
    argv = argv or [*CONSOLE, "--config", str(config)]
    run = PtyProcess(argv, keep=False, env={"PYTHONPATH": str(tree)})
    try:
        time.sleep(5.0)  # start, first polls, first relayouts
        cpu0, ns0, bytes0, t0 = run.cpu_seconds(), on_cpu_ns(run.proc.pid), run.bytes, time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        ticks = (run.cpu_seconds() - cpu0) / elapsed * 100
        exact = (on_cpu_ns(run.proc.pid) - ns0) / 1e9 / elapsed * 100
        return ticks, exact, (run.bytes - bytes0) / elapsed, run.rss_mb()[0]
    finally:
        run.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a checkout of the code before a change: measure it too, alike")
    args = parser.parse_args()
    print(os.popen("uptime").read().strip())
    with DemoService(incident_after=1e9, seed=1) as service, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        probes = "".join(
            f'[[health]]\nname = "probe {i}"\nurl = "{service.url}{PATHS[i % len(PATHS)]}"\n'
            for i in range(args.probes)
        )
        config.write_text(f'[console]\nenvironment = "demo"\nrefresh = "2s"\njournal = "{tmp}/j.jsonl"\n{probes}')
        results, bare, before = [], [], []
        for _ in range(args.runs):  # interleaved, so every contender sees the same machine
            results.append(one_run(config, args.seconds))
            bare.append(one_run(config, args.seconds, BARE))
            if args.before:
                before.append(one_run(config, args.seconds, tree=args.before))
    rows = []
    for label, index, fmt, goal in (
        ("CPU, % of one core (clock ticks)", 0, "{:.2f}", "<= 4x bare"),
        ("CPU, % of one core (schedstat)", 1, "{:.3f}", "<= 4x bare"),
        ("bytes written to the terminal per s", 2, "{:.0f}", "<= 1024"),
        ("RSS, MB", 3, "{:.0f}", "-"),
    ):
        values = [r[index] for r in results]
        base = statistics.median(r[index] for r in bare)
        row = [label, *(fmt.format(v) for v in (statistics.median(values), min(values), max(values)))]
        row += [fmt.format(base), f"{statistics.median(values) / base:.1f}x" if base else "-"]
        if before:
            row.append(fmt.format(statistics.median(r[index] for r in before)))
        rows.append([*row, goal])
    title = f"idle dashboard: {args.probes} probes every 2 s, 120x40 pty, {args.runs} runs of {args.seconds:.0f} s"
    header = ["measure", "median", "min", "max", "bare app", "/bare", *(["before"] if before else []), "goal"]
    print_table(title, header, rows)


if __name__ == "__main__":
    main()
