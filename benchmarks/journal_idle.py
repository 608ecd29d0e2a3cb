"""The dashboard at rest with an open incident on a long journal: CPU with 100k entries beside 100 entries.

    .venv/bin/python benchmarks/journal_idle.py [--seconds 20] [--runs 2] [--entries 100000]

The console follows its journal incrementally (console/journal/cursor.py): after one full read at start, each second it
reads only what was appended, so a long journal should cost no more at rest than a short one (goal: at most 1.2 times).
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

from benchmarks.incident_replay import build
from benchmarks.ptyrun import PtyProcess, print_table
from console.demo.service import DemoService

SETTLE = 35.0  # the one full read of a long journal (tracker and triage, in threads) happens here: 12 s was not enough


def one_run(config: Path, seconds: float) -> float:
    """CPU % of one core over `seconds`, after the console settled."""
    run = PtyProcess([sys.executable, "-m", "console.cli", "--config", str(config)], keep=False)
    try:
        time.sleep(SETTLE)
        cpu0, t0 = run.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        return 100 * (run.cpu_seconds() - cpu0) / (time.monotonic() - t0)
    finally:
        run.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    print(os.popen("uptime").read().strip())
    results: dict[int, list[float]] = {100: [], args.entries: []}
    with DemoService(incident_after=1e9, seed=1) as service, tempfile.TemporaryDirectory() as tmp:
        configs = {}
        for size in results:
            folder = Path(tmp) / str(size)
            folder.mkdir(mode=0o700)
            build(folder / "journal.jsonl", size)  # an open incident, notes, observations, actions
            config = folder / "config.toml"
            config.write_text(
                f'[console]\nenvironment = "demo"\njournal = "{folder}/journal.jsonl"\n'
                f'[[health]]\nname = "api"\nurl = "{service.url}/api/health"\n'
            )
            configs[size] = config
        for _ in range(args.runs):  # interleaved: both sizes see the same machine
            for size, config in configs.items():
                results[size].append(one_run(config, args.seconds))
    short = statistics.median(results[100])
    rows = [
        [
            f"{size:,} entries",
            f"{statistics.median(cpu):.2f}",
            f"{min(cpu):.2f}",
            f"{max(cpu):.2f}",
            f"{statistics.median(cpu) / short:.2f}x",
        ]
        for size, cpu in results.items()
    ]
    title = f"at rest with an open incident, 1 probe every 2 s, {args.runs} runs of {args.seconds:.0f} s"
    print_table(title, ["journal", "CPU % median", "min", "max", "/100 entries (goal <= 1.2x)"], rows)


if __name__ == "__main__":
    main()
