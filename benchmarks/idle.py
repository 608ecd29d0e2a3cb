"""The dashboard at rest: 10 probes every 2 s under a 120x40 pseudo-terminal for 20 s; CPU and terminal bytes/s.

    .venv/bin/python benchmarks/idle.py [--seconds 20] [--probes 10]

The probed service runs in this process (its CPU is not counted); the console runs in its own process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ptyrun import PtyProcess, print_table
from console.demo.service import DemoService

PATHS = ["/api/health", "/api/health/db", "/api/health/cache"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--probes", type=int, default=10)
    args = parser.parse_args()
    with DemoService(incident_after=1e9, seed=1) as service, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        probes = "".join(
            f'[[health]]\nname = "probe {i}"\nurl = "{service.url}{PATHS[i % len(PATHS)]}"\n'
            for i in range(args.probes)
        )
        config.write_text(f'[console]\nenvironment = "demo"\nrefresh = "2s"\njournal = "{tmp}/j.jsonl"\n{probes}')
        run = PtyProcess([sys.executable, "-m", "console.cli", "--config", str(config)])
        try:
            run.wait_for(b"OK probe 0", timeout=15)
            run.read(3.0)  # settle: first polls, first relayouts
            cpu0, bytes0, t0 = run.cpu_seconds(), run.bytes, time.monotonic()
            while time.monotonic() - t0 < args.seconds:
                run.read(0.5)
            elapsed = time.monotonic() - t0
            cpu = (run.cpu_seconds() - cpu0) / elapsed * 100
            rate = (run.bytes - bytes0) / elapsed
            rss = run.rss_mb()
        finally:
            run.stop()
    rows = [
        ["CPU, % of one core", f"{cpu:.2f}", "<= 1.0"],
        ["bytes written to the terminal per s", f"{rate:.0f}", "<= 1024"],
        ["RSS, MB", f"{rss:.0f}", "-"],
    ]
    print_table(
        f"idle dashboard: {args.probes} probes every 2 s, 120x40 pty, {args.seconds:.0f} s",
        ["measure", "value", "goal"],
        rows,
    )


if __name__ == "__main__":
    main()
