"""Bytes/s the console writes to an 80x24 terminal (the slow-SSH figure): the demo's incident, beside idle and a log.

    .venv/bin/python benchmarks/bytes.py [--seconds 20] [--rate 15] [--probes 10] [--runs 2] [--before DIR]

The goal's own measure first: `incident-console demo` on a pseudo-terminal of 80x24, wait until a tile says CRIT
(the demo's incident starts 60 s in), count the bytes written over the next `--seconds`. Beside it, in the same
run, a console with `--probes` health probes every 2 s (the probed service runs in this process) and one
`[[logs]]` file: first `--seconds` with nothing appended (the idle baseline), then `--seconds` while a thread
appends `--rate` lines/s. Runs are interleaved (incident, idle + log, and `--before`'s the same), the table gives
the medians, the ratios to idle and the frame rate (bursts of output more than 30 ms apart).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ptyrun import PtyProcess, print_table  # noqa: E402
from console.demo.service import DemoService  # noqa: E402

COLUMNS, ROWS = 80, 24
PATHS = ["/api/health", "/api/health/db", "/api/health/cache"]
GAP = 0.03  # output arriving within 30 ms of the previous read belongs to the same frame


def writer(path: Path, rate: float, stop: threading.Event) -> None:
    """Append `rate` lines/s, one at a time, evenly spaced (a service logging requests)."""
    n, due = 0, time.monotonic()
    with path.open("a", buffering=1) as out:
        while not stop.is_set():
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            level = "ERROR" if n % 13 == 0 else "INFO"
            out.write(f"{stamp}.{n % 1000:03d}Z {level} GET /api/items/{n:06d} 200 {n % 90}ms trace_id={n:016x}\n")
            n += 1
            due += 1 / rate
            time.sleep(max(0.0, due - time.monotonic()))


def frames(run: PtyProcess, since: int, until: int) -> int:
    """Bursts of output between two offsets (a burst: reads less than GAP apart)."""
    with run.lock:
        times = [t for length, t in run.arrivals if since < length <= until]
    return sum(1 for a, b in zip([float("-inf"), *times], times, strict=False) if b - a > GAP)


def window(run: PtyProcess, seconds: float) -> tuple[float, float, float]:
    """(bytes/s, frames/s, CPU %) over the next `seconds`."""
    mark, cpu0, t0 = run.mark(), run.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    end = run.mark()
    return (end - mark) / elapsed, frames(run, mark, end) / elapsed, (run.cpu_seconds() - cpu0) / elapsed * 100


def one_run(
    config: Path, log: Path, seconds: float, rate: float, tree: Path | None = None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(idle window, following window) on one fresh console; `tree`: run the console from that checkout."""
    log.write_text("")
    argv = [sys.executable, "-P", "-m", "console.cli", "--config", str(config)]  # -P: PYTHONPATH decides
    run = PtyProcess(argv, columns=COLUMNS, rows=ROWS, env={"PYTHONPATH": str(tree or ROOT)})
    stop = threading.Event()
    try:
        time.sleep(6.0)  # start, first polls, first relayouts
        idle = window(run, seconds)
        thread = threading.Thread(target=writer, args=(log, rate, stop), daemon=True)
        thread.start()
        time.sleep(1.0)
        busy = window(run, seconds)
        stop.set()
        thread.join()
        return idle, busy
    finally:
        stop.set()
        run.stop()


def incident_run(seconds: float, tree: Path | None = None) -> tuple[float, float, float]:
    """The demo on a fresh 80x24 pty: (bytes/s, frames/s, CPU %) over `seconds` from the first CRIT tile."""
    argv = [sys.executable, "-P", "-m", "console.cli", "demo"]
    run = PtyProcess(argv, columns=COLUMNS, rows=ROWS, env={"PYTHONPATH": str(tree or ROOT)})
    try:
        if run.wait_for(b"CRIT", timeout=180) is None:
            raise SystemExit("the demo showed no CRIT tile within 180 s")
        return window(run, seconds)
    finally:
        run.stop(b"\x11")  # ctrl+q: the demo's servers stop with it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=15.0)
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--before", type=Path, help="a checkout of the code before a change: run it too, alike")
    args = parser.parse_args()
    print(os.popen("uptime").read().strip())
    with DemoService(incident_after=1e9, seed=1) as service, tempfile.TemporaryDirectory() as tmp:
        config, log = Path(tmp) / "config.toml", Path(tmp) / "app.log"
        probes = "".join(
            f'[[health]]\nname = "probe {i}"\nurl = "{service.url}{PATHS[i % len(PATHS)]}"\n'
            for i in range(args.probes)
        )
        config.write_text(
            f'[console]\nenvironment = "demo"\nrefresh = "2s"\njournal = "{tmp}/j.jsonl"\n{probes}'
            f'[[logs]]\nname = "app"\npath = "{log}"\n'
        )
        results, incidents, before, before_incidents = [], [], [], []
        for _ in range(args.runs):  # interleaved, so each sees the same machine
            incidents.append(incident_run(args.seconds))
            results.append(one_run(config, log, args.seconds, args.rate))
            if args.before:
                before_incidents.append(incident_run(args.seconds, args.before))
                before.append(one_run(config, log, args.seconds, args.rate, args.before))
    rows = []
    for label, index, fmt, goal in (
        ("bytes written to the terminal per s", 0, "{:,.0f}", "incident <= 8,192"),
        ("frames per s", 1, "{:.1f}", "-"),
        ("CPU, % of one core", 2, "{:.1f}", "-"),
    ):
        idle = statistics.median(r[0][index] for r in results)
        busy = statistics.median(r[1][index] for r in results)
        incident = statistics.median(r[index] for r in incidents)
        row = [label, fmt.format(idle), fmt.format(incident), fmt.format(busy)]
        row += [f"{incident / idle:.1f}x" if idle else "-", f"{busy / idle:.1f}x" if idle else "-"]
        if before:
            old = statistics.median(r[index] for r in before_incidents)
            old_log = statistics.median(r[1][index] for r in before)
            row += [fmt.format(old), f"{incident / old:.2f}x" if old else "-"]
            row += [fmt.format(old_log), f"{busy / old_log:.2f}x" if old_log else "-"]
        rows.append([*row, goal])
    title = (
        f"terminal output at {COLUMNS}x{ROWS}: the demo's incident (from the first CRIT tile) and {args.probes} "
        f"probes every 2 s idle vs a log at {args.rate:g} lines/s; median of {args.runs} runs of {args.seconds:g} s"
    )
    header = ["measure", "idle (baseline)", "the demo's incident", f"log at {args.rate:g}/s", "incident/idle"]
    header += ["log/idle"]
    header += ["before, incident", "ours/before", "before, log", "ours/before (log)"] if before else []
    print_table(title, [*header, "goal"], rows)


if __name__ == "__main__":
    main()
