"""Time to the console's first paint (its first frame: the shell, `loading the config …` over the footer), to the
first full paint of the dashboard on the demo config, and to the first polled data; median of 5. Then the
CPU the process had used by the first polled data, beside the bare app's by its first paint (the content paint is
CPU-bound: what it costs is what the console does on the way).

    .venv/bin/python benchmarks/startup.py [--runs 5]

The demo service runs in this process; the console runs under a 120x40 pseudo-terminal, its bytecode written first
as an installed console's is (benchmarks/ptyrun.compile_tree).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ptyrun import PtyProcess, compile_tree, print_table
from console.demo.service import DemoService

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = [sys.executable, "-P", "-m", "console.cli"]  # -P: PYTHONPATH says which checkout runs
BARE = [sys.executable, str(ROOT / "benchmarks" / "bare_app.py")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a checkout of the code before a change: time it too, alike")
    args = parser.parse_args()
    print(os.popen("uptime").read().strip())
    for tree in (ROOT, args.before):
        if tree is not None:
            compile_tree(tree)
    with DemoService(incident_after=1e9, seed=1) as service, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        names = ["api", "database", "cache"]
        paths = ["/api/health", "/api/health/db", "/api/health/cache"]
        config.write_text(
            f'[console]\nenvironment = "demo"\njournal = "{tmp}/journal.jsonl"\n'
            + "".join(
                f'[[health]]\nname = "{n}"\nurl = "{service.url}{p}"\n' for n, p in zip(names, paths, strict=True)
            )
            + f'[[metric]]\nname = "error rate"\nurl = "{service.url}/api/metrics/errors"\npath = "errorRate"\n'
        )
        first, paint, data, bare, before_first, before, before_data = [], [], [], [], [], [], []
        cpu: dict[str, list[float | None]] = {"data": [], "bare": [], "before": []}  # the process's CPU by then
        for _ in range(args.runs):  # interleaved, so every contender sees the same machine
            run = PtyProcess([*CONSOLE, "--config", str(config)], env={"PYTHONPATH": str(ROOT)})
            try:
                first.append(run.wait_for(b"Quit", timeout=15))  # the footer is drawn with the first frame
                paint.append(run.wait_for(b"Quit", b"api", b"error rate", timeout=15))
                data.append(run.wait_for(b"OK api", b"OK error rate", timeout=15))
                cpu["data"].append(run.cpu_seconds())
            finally:
                run.stop()
            run = PtyProcess(BARE)
            try:
                bare.append(run.wait_for(b"Quit", b"api", b"error rate", timeout=15))
                cpu["bare"].append(run.cpu_seconds())
            finally:
                run.stop()
            if args.before:
                run = PtyProcess([*CONSOLE, "--config", str(config)], env={"PYTHONPATH": str(args.before)})
                try:
                    before_first.append(run.wait_for(b"Quit", timeout=15))
                    before.append(run.wait_for(b"Quit", b"api", b"error rate", timeout=15))
                    before_data.append(run.wait_for(b"OK api", b"OK error rate", timeout=15))
                    cpu["before"].append(run.cpu_seconds())
                finally:
                    run.stop()
    rows = [
        ["bare Textual app, first paint (baseline)", *_stats(bare), "-", "-"],
        ["console first paint (the shell: title, loading, footer)", *_stats(first), _ratio(first, bare), "<= 1.5x"],
        ["console first full paint (banner, tiles, footer)", *_stats(paint), _ratio(paint, bare), "-"],
        ["console first polled data on every tile", *_stats(data), _ratio(data, bare), "<= 1.5x"],
    ]
    if before:
        rows.append(["before: console first paint", *_stats(before_first), _ratio(before_first, bare), "-"])
        rows.append(["before: console first full paint", *_stats(before), _ratio(before, bare), "-"])
        rows.append(["before: console first polled data", *_stats(before_data), _ratio(before_data, bare), "-"])
    header = ["measure", "median s", "min s", "max s", "/bare", "goal"]
    print_table(f"startup, {args.runs} runs, 120x40 pty", header, rows)
    rows = [
        ["bare Textual app, by its first paint (baseline)", *_stats(cpu["bare"]), "-"],
        ["console, by the first polled data on every tile", *_stats(cpu["data"]), _ratio(cpu["data"], cpu["bare"])],
    ]
    if before:
        rows.append(
            ["before: console, by the first polled data", *_stats(cpu["before"]), _ratio(cpu["before"], cpu["bare"])]
        )
    print_table("CPU (user + system) of the process by then", ["measure", "median s", "min s", "max s", "/bare"], rows)


def _ratio(values: list[float | None], base: list[float | None]) -> str:
    got, ref = [v for v in values if v is not None], [v for v in base if v is not None]
    return f"{statistics.median(got) / statistics.median(ref):.2f}x" if got and ref else "-"


def _stats(values: list[float | None]) -> list[str]:
    got = [v for v in values if v is not None]
    if len(got) < len(values):
        return ["timeout"] * 3
    return [f"{statistics.median(got):.3f}", f"{min(got):.3f}", f"{max(got):.3f}"]


if __name__ == "__main__":
    main()
