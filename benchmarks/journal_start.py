"""The console's start on a long journal with an open incident: seconds until the TUI shows the incident (its banner,
120x40 pty) and until `incident show` has printed it, with 100, 100k and 1M entries, beside the 100-entry start in
the same run (goal: 1M at most 1.5x); then CPU at rest with the incident open at each size beside the smallest (goal:
at most 1.2x; `--sizes 1000,100000,1000000` for the flat-cost table). No probes are configured: what is measured is
the console and its journal. Each tree's bytecode is written first, as an installed console's is.

    .venv/bin/python benchmarks/journal_start.py [--sizes 100,100000,1000000] [--runs 3] [--idle 40]
        [--legacy] [--before DIR]

The journals are written by benchmarks/big_journal.py (each line with its hash, no fsync per line) with the
checkpoints a running console journals. `--legacy` also times two starts on a 1M journal written before checkpoints
existed: the first walks back to its first line (then journals a checkpoint), the second is flat again. `--before DIR`
times the TUI start of an older checkout on the same journals (PYTHONPATH=DIR).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.big_journal import with_open_incident
from benchmarks.idle import on_cpu_ns
from benchmarks.ptyrun import PtyProcess, compile_tree, print_table

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = [sys.executable, "-P", "-m", "console.cli"]  # -P: PYTHONPATH says which checkout runs
TITLE = b"Checkout returns 500s"
SETTLE = 5.0  # after the incident shows: the first stranded check and checkpoint, the first relayouts


def journal_of(folder: Path, size: int, *, checkpoints: bool = True) -> Path:
    """A 0700 folder with a journal of `size` entries (an open incident at its end) and a config naming it."""
    folder.mkdir(mode=0o700)
    started = time.perf_counter()
    with_open_incident(folder / "journal.jsonl", size, checkpoints=checkpoints)
    megabytes = (folder / "journal.jsonl").stat().st_size / 1e6
    print(f"  wrote {size:,} entries ({megabytes:,.0f} MB) in {time.perf_counter() - started:.1f} s", flush=True)
    (folder / "config.toml").write_text(f'[console]\nenvironment = "bench"\njournal = "{folder}/journal.jsonl"\n')
    return folder


def tui_start(folder: Path, tree: Path = ROOT, timeout: float = 300.0) -> float:
    """Seconds from the console's start to its banner showing the open incident."""
    run = PtyProcess([*CONSOLE, "--config", str(folder / "config.toml")], keep=True, env={"PYTHONPATH": str(tree)})
    try:
        shown = run.wait_for(TITLE, timeout=timeout)
        if shown is None:
            raise RuntimeError(f"the console on {folder} did not show the incident within {timeout:.0f} s")
        return shown
    finally:
        run.stop()


def headless_show(folder: Path) -> float:
    """Seconds `incident show` takes, from its start to its exit."""
    argv = [*CONSOLE, "incident", "show", "--journal", str(folder / "journal.jsonl")]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    if TITLE not in done.stdout:
        raise RuntimeError(f"incident show did not print the incident: {done.stdout[:200]!r}")
    return time.perf_counter() - started


def at_rest(folder: Path, seconds: float) -> float:
    """CPU % of one core on a CPU (schedstat, every thread) over `seconds`, once the incident shows and settled."""
    run = PtyProcess([*CONSOLE, "--config", str(folder / "config.toml")], keep=True, env={"PYTHONPATH": str(ROOT)})
    try:
        if run.wait_for(TITLE, timeout=300) is None:
            raise RuntimeError(f"the console on {folder} did not show the incident")
        time.sleep(SETTLE)
        ns, started = on_cpu_ns(run.proc.pid), time.monotonic()
        time.sleep(seconds)
        return (on_cpu_ns(run.proc.pid) - ns) / 1e9 / (time.monotonic() - started) * 100
    finally:
        run.stop()


def ratio_rows(label: str, figures: dict[int, list[float]], unit: str, goal: str) -> list[list[str]]:
    base = statistics.median(figures[min(figures)])
    return [
        [
            f"{label}, {size:,} entries" + (" (baseline)" if size == min(figures) else ""),
            f"{statistics.median(values):.3f} {unit}",
            f"{min(values):.3f}-{max(values):.3f}",
            f"{statistics.median(values) / base:.2f}x",
            goal if size != min(figures) else "baseline",
        ]
        for size, values in figures.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=40.0, help="seconds of each at-rest window (0: skip)")
    parser.add_argument("--legacy", action="store_true", help="also a 1M journal written before checkpoints")
    parser.add_argument("--before", type=Path, help="an older checkout: time its TUI start on the same journals")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(os.popen("uptime").read().strip(), flush=True)
    for tree in (ROOT, args.before):
        if tree is not None:
            compile_tree(tree)
    with tempfile.TemporaryDirectory() as tmp:
        folders = {size: journal_of(Path(tmp) / str(size), size) for size in sizes}
        tui: dict[int, list[float]] = {size: [] for size in sizes}
        show: dict[int, list[float]] = {size: [] for size in sizes}
        before: dict[int, list[float]] = {size: [] for size in sizes}
        for _ in range(args.runs):  # interleaved: every size sees the same machine
            for size, folder in folders.items():
                tui[size].append(tui_start(folder))
                show[size].append(headless_show(folder))
                if args.before:
                    before[size].append(tui_start(folder, args.before, timeout=900))
        header = ["start", "median", "range", f"/ {min(sizes):,} entries", "goal"]
        title = f"start with an open incident, {args.runs} runs each"
        print_table(f"{title}: the TUI shows it", header, ratio_rows("TUI shows the incident", tui, "s", "<= 1.5x"))
        print()
        print_table(f"{title}: `incident show`", header, ratio_rows("incident show", show, "s", "<= 1.5x"))
        print()
        if args.before:
            print_table(f"{title}: the code before", header, ratio_rows("TUI, the code before", before, "s", "-"))
            print()
        if args.idle:  # at every size: how the cost at rest grows with the journal
            rest: dict[int, list[float]] = {size: [] for size in sizes}
            for _ in range(args.runs):
                for size, folder in folders.items():
                    rest[size].append(at_rest(folder, args.idle))
            rows = ratio_rows("at rest", rest, "% of a core", "<= 1.2x")
            title = f"CPU at rest with the incident open, {args.runs} runs of {args.idle:.0f} s"
            print_table(title, ["at rest", "median", "range", f"/ {min(sizes):,} entries", "goal"], rows)
        if args.legacy:
            folder = journal_of(Path(tmp) / "legacy", 1_000_000, checkpoints=False)
            first, second = tui_start(folder, timeout=900), tui_start(folder)
            rows = [["first (walks back to line 1, then journals a checkpoint)", f"{first:.3f}"]]
            rows.append(["second", f"{second:.3f}"])
            print_table("a 1M journal written before checkpoints", ["start", "seconds"], rows)


if __name__ == "__main__":
    main()
