"""Journal append throughput and latency (every append fsyncs): one process, then several sharing a file.

.venv/bin/python benchmarks/journal.py [--n 2000] [--procs 2] [--dir /path/on/the/disk/to/measure]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from rich.console import Console
from rich.table import Table

from console.journal import Journal


def _appender(path: str, count: int, barrier: Barrier, results: Queue) -> None:
    journal = Journal(Path(path), environment="bench")
    journal.open()
    barrier.wait()
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        journal.append("observation", {"source": "health", "state": "ok", "latency_ms": 12.5, "i": i})
        latencies.append(time.perf_counter() - started)
    results.put(latencies)


def measure(n: int, procs: int, directory: str | None) -> list[str]:
    """Append ``n`` entries split over ``procs`` processes to a fresh journal; return one table row."""
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = Path(tmp) / "journal.jsonl"
        barrier, results = ctx.Barrier(procs + 1), ctx.Queue()
        workers = [
            ctx.Process(target=_appender, args=(str(path), n // procs + (i < n % procs), barrier, results))
            for i in range(procs)
        ]
        for worker in workers:
            worker.start()
        barrier.wait()  # every worker has imported and opened the journal
        started = time.perf_counter()
        latencies = [latency for _ in workers for latency in results.get()]
        seconds = time.perf_counter() - started
        for worker in workers:
            worker.join()
        result = Journal(path).verify()
    ms = [latency * 1000 for latency in latencies]
    return [
        str(procs),
        str(len(ms)),
        f"{seconds:.2f}",
        f"{len(ms) / seconds:,.0f}",
        f"{statistics.fmean(ms):.3f}",
        f"{statistics.quantiles(ms, n=100)[98]:.3f}",
        "ok" if result.ok and result.count == n else f"FAILED: {result}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="entries per run (split over the processes)")
    parser.add_argument("--procs", type=int, default=2, help="processes in the concurrent run")
    parser.add_argument("--dir", help="where to put the temporary journal (default: the system temp dir)")
    args = parser.parse_args()

    table = Table(title=f"journal append with fsync ({tempfile.gettempdir() if args.dir is None else args.dir})")
    for column in ("processes", "entries", "seconds", "entries/s", "mean ms", "p99 ms", "verify"):
        table.add_column(column, justify="left" if column == "verify" else "right")
    for procs in dict.fromkeys((1, args.procs)):
        table.add_row(*measure(args.n, procs, args.dir))
    Console().print(table)


if __name__ == "__main__":
    main()
