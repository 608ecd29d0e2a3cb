"""Log flood under a real 120x40 pseudo-terminal: our LogPane fed by FileLogSource, then Toolong on the same flood.

A writer process appends N lines (default 1M, ~100 bytes each) to a file as fast as it can while the console
tails it. Measured from outside, on the bytes the program writes to its terminal (Textual draws on stderr,
so stdin, stdout and stderr all get the pty):
  - lines/s shown: N / (time from the writer's start until the last line appears on screen);
  - key-to-screen latency during the flood: `f` pressed, time until PAUSED (then FOLLOW) is drawn;
  - CPU seconds the viewer used from the writer's start until the last line showed (less noisy than lines/s
    on a shared machine);
  - RSS (and peak RSS) of the console after the N lines.

.venv/bin/python benchmarks/logs.py [--lines 1000000] [--probes 20] [--no-toolong] [--before DIR]
`--before DIR` runs the LogPane of another checkout too (e.g. `git archive OLD | tar -x -C DIR`): before/after
in the same run.
Toolong comes from a throwaway venv (created on first use): python3 -m venv /tmp/tl && /tmp/tl/bin/pip install toolong
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ptyrun import PtyProcess  # noqa: E402

COLUMNS, ROWS = 120, 40
END = b"FLOODEND"
TOOLONG = Path("/tmp/tl/bin/tl")

WRITER = r"""
import sys, time
path, count = sys.argv[1], int(sys.argv[2])
chunk = 2000
with open(path, "ab", buffering=0) as out:
    for start in range(0, count, chunk):
        rows = []
        for i in range(start, min(count, start + chunk)):
            level = "ERROR" if i % 97 == 0 else "INFO"
            rows.append(b"2024-05-01T12:%02d:%02d.%03dZ %s GET /api/items/%07d 200 %dms user=alice trace_id=%016x\n"
                        % (i // 60000 % 60, i // 1000 % 60, i % 1000, level.encode(), i, i % 97, i))
        if start + chunk >= count:
            rows[-1] = b"FLOODEND %d lines\n" % count
        out.write(b"".join(rows))
print(time.monotonic())
"""


def flood(path: Path, count: int) -> tuple[subprocess.Popen, float]:
    started = time.monotonic()
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(count)], stdout=subprocess.PIPE), started


def run(argv: list[str], path: Path, count: int, ready: bytes, probes: int, env: dict | None = None) -> dict:
    """Start the viewer on an empty file, flood the file, probe keys while it catches up, measure memory."""
    path.write_bytes(b"")
    term = PtyProcess(argv, columns=COLUMNS, rows=ROWS, env=env)
    try:
        if term.arrived(ready, 0, 20) is None:
            raise RuntimeError(f"{argv[0]} never drew {ready!r}: {bytes(term.output[-400:])!r}")
        time.sleep(0.5)
        cpu_before = term.cpu_seconds()
        writer, started = flood(path, count)
        latencies: list[float] = []
        end_mark = term.mark()
        pacing = random.Random(6)
        for probe in range(probes * 2):
            if term.arrived(END, end_mark, 0) is not None and probe % 2 == 0:
                break
            time.sleep(pacing.uniform(0.05, 0.25))  # keys come at any moment, not just after a frame
            marker = b"PAUSED" if probe % 2 == 0 else b"FOLLOW"
            since = term.mark()
            sent = term.send(b"f")
            shown = term.arrived(marker, since, 5)
            if shown is not None:
                latencies.append(shown - sent)
        shown_at = term.arrived(END, end_mark, 180)
        cpu = term.cpu_seconds() - cpu_before
        wrote_until = float(writer.communicate()[0])
        time.sleep(1.0)
        rss, peak = term.rss_mb()
        return {
            "lines_per_s": count / (shown_at - started) if shown_at else None,
            "writer_per_s": count / (wrote_until - started),
            "cpu": cpu,
            "latencies": latencies,
            "rss": rss,
            "peak": peak,
        }
    finally:
        term.stop(b"\x11")  # ctrl+q


def child(path: str) -> None:
    """The benchmark app: a LogPane fed by a FileLogSource exactly as the console app feeds it."""
    from textual import work
    from textual.app import App, ComposeResult

    from console.config import LogSettings
    from console.sources.logs import FileLogSource
    from console.tui.collector import collect_less
    from widgets.log_pane import LogPane

    class FloodApp(App):
        def __init__(self) -> None:
            super().__init__()
            self.source = FileLogSource(LogSettings(name="flood", path=Path(path)))

        def compose(self) -> ComposeResult:
            yield LogPane(["flood"])

        def on_mount(self) -> None:
            if os.environ.get("BENCH_GC_FREEZE"):
                collect_less()  # what the console app does once its screens are up (console/tui/collector.py)
            self.query_one(LogPane).view.focus()
            self.set_interval(1.0, lambda: self.query_one(LogPane).update_stats([self.source.stats()]))
            self.follow()

        @work(exclusive=True, group="logs", exit_on_error=False)
        async def follow(self) -> None:
            pane = self.query_one(LogPane)
            async for batch in self.source.stream():
                pane.append(batch)

    FloodApp().run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--probes", type=int, default=20, help="pairs of f presses (pause, resume) during the flood")
    parser.add_argument("--no-toolong", action="store_true")
    parser.add_argument("--before", type=Path, help="another checkout of this repository, measured the same way")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flood.log"
        ours = [sys.executable, str(Path(__file__).resolve()), "--child", str(path)]
        results["incident-console LogPane"] = run(ours, path, args.lines, b"FOLLOW", args.probes)
        frozen = {"BENCH_GC_FREEZE": "1"}
        results["  same, the app's collector"] = run(ours, path, args.lines, b"FOLLOW", args.probes, frozen)
        if args.before:
            before = [sys.executable, str(args.before.resolve() / "benchmarks" / "logs.py"), "--child", str(path)]
            results["before (--before)"] = run(before, path, args.lines, b"FOLLOW", args.probes)
            results["  same, the app's collector "] = run(before, path, args.lines, b"FOLLOW", args.probes, frozen)
        if not args.no_toolong:
            if not TOOLONG.exists():
                subprocess.run(["python3", "-m", "venv", "/tmp/tl"], check=True)
                subprocess.run(["/tmp/tl/bin/pip", "install", "-q", "toolong"], check=True)
            results["Toolong 1.5 (tl)"] = run([str(TOOLONG), str(path)], path, args.lines, b"Tail", 0)

    table = Table(title=f"{args.lines:,} lines flooded into a tailed file, {COLUMNS}x{ROWS} pty")
    columns = ("viewer", "writer lines/s", "lines/s shown", "CPU s", "key p50", "key max", "RSS after", "peak RSS")
    for column in columns:
        table.add_column(column, justify="left" if column == "viewer" else "right")
    for name, result in results.items():
        latencies = sorted(result["latencies"])
        shown = result["lines_per_s"]
        table.add_row(
            name,
            f"{result['writer_per_s']:,.0f}",
            f"{shown:,.0f}" if shown else "never shown",
            f"{result['cpu']:.1f}",
            f"{statistics.median(latencies) * 1000:.0f} ms" if latencies else "-",
            f"{latencies[-1] * 1000:.0f} ms" if latencies else "-",
            f"{result['rss']:.0f} MB",
            f"{result['peak']:.0f} MB",
        )
    Console(width=130).print(table)
    print("goals: >=100k lines/s shown, key p50 <=30 ms, max <=100 ms, RSS <=150 MB")
    for name, result in results.items():
        if result["latencies"]:
            shown = " ".join(f"{t * 1000:.0f}" for t in result["latencies"])
            print(f"{name.strip()}: {len(result['latencies'])} key probes: {shown} ms")


if __name__ == "__main__":
    main()
