"""Journal mirror to a Redis stream: entries/s vs plain XADD and journal appends; catch-up after an outage.

.venv/bin/python benchmarks/share.py [--n 5000] [--down 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table

from console.config import ShareSettings
from console.demo.servers import RedisServer
from console.journal import Journal
from console.share import JournalMirror
from console.share.codec import encode
from console.sources.redis import open_client

KEY = "benchmark-share-key-0123456789"
BATCH = 500


def fill(path: Path, n: int) -> tuple[Journal, float]:
    """A journal of ``n`` observation entries and the seconds the appends (each fsynced) took."""
    journal = Journal(path, environment="bench")
    started = time.perf_counter()
    for i in range(n):
        journal.append("observation", {"source": "health", "state": "ok", "latency_ms": 12.5, "i": i}, incident="I-1")
    return journal, time.perf_counter() - started


async def plain_xadd(server: RedisServer, entries: list[dict]) -> float:
    """Seconds to XADD the mirror's fields of ``entries`` in pipelines of BATCH from the same client, nothing else."""
    stream, client = f"bench:{uuid.uuid4().hex}", open_client(server.url, 5.0)
    fields = [encode(entry, "bench", KEY, int(time.time() * 1000), stream) for entry in entries]
    started = time.perf_counter()
    for start in range(0, len(fields), BATCH):
        pipe = client.pipeline(transaction=False)
        for item in fields[start : start + BATCH]:
            pipe.xadd(stream, item, maxlen=100_000, approximate=True)
        await pipe.execute()
    seconds = time.perf_counter() - started
    await client.aclose()
    return seconds


async def until(predicate, timeout: float = 120) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def mirror_rate(server: RedisServer, journal: Journal, n: int, key: str | None) -> float:
    """Seconds for a new mirror to send a journal of ``n`` entries (read, parse, HMAC, XADD)."""
    share = ShareSettings(redis_url=server.url, stream=f"bench:{uuid.uuid4().hex}", key=key)
    started = time.perf_counter()
    mirror = JournalMirror(share, journal, host="bench", poll=0.01).start()
    await until(lambda: mirror.last_seq == n)
    seconds = time.perf_counter() - started
    await mirror.stop()
    return seconds


async def live_lag(server: RedisServer, tmp: Path, n: int) -> tuple[float, float]:
    """(appends/s while mirrored, ms from the last append to it being in the stream), poll 0.2 s as in the console."""
    journal = Journal(tmp / "live" / "journal.jsonl", environment="bench")
    share = ShareSettings(redis_url=server.url, stream=f"bench:{uuid.uuid4().hex}", key=KEY)
    mirror = JournalMirror(share, journal, host="bench").start()
    await until(lambda: mirror.state == "mirroring")
    _, seconds = await asyncio.to_thread(fill, journal.path, n)
    written = time.perf_counter()
    await until(lambda: mirror.last_seq == n)
    lag = time.perf_counter() - written
    await mirror.stop()
    return n / seconds, lag * 1000


async def outage(tmp: Path, before: int, down: int) -> tuple[float, str]:
    """Seconds from Redis answering again to the ``down`` entries written while it was away being in the stream."""
    with RedisServer(extra_args=["--appendonly", "yes", "--appendfsync", "always"]) as server:
        journal, _ = fill(tmp / "outage" / "journal.jsonl", before)
        share = ShareSettings(redis_url=server.url, stream=f"bench:{uuid.uuid4().hex}", key=KEY)
        states: list[str] = []
        mirror = JournalMirror(share, journal, host="bench", backoff_max=0.5, on_state=states.append).start()
        await until(lambda: mirror.last_seq == before)
        server.kill()
        await asyncio.to_thread(fill, journal.path, down)
        await until(lambda: mirror.state.startswith("redis down"))
        server.start_again()
        back = time.perf_counter()
        await until(lambda: mirror.last_seq == before + down)
        seconds = time.perf_counter() - back
        await mirror.stop()
        return seconds, next(s for s in reversed(states) if s.startswith("caught up"))


async def measure(n: int, down: int) -> Table:
    table = Table(title=f"journal mirror to a Redis stream ({n:,} entries, loopback, one client)")
    for column in ("what", "entries", "seconds", "entries/s", "vs plain XADD"):
        table.add_column(column, justify="left" if column == "what" else "right")
    with tempfile.TemporaryDirectory() as tmp, RedisServer() as server:
        journal, appended = fill(Path(tmp) / "a" / "journal.jsonl", n)
        entries = journal.tail(n)
        plain = await plain_xadd(server, entries)
        rows = [
            ("plain XADD, pipelined by 500 (baseline)", plain),
            ("mirror catch-up, HMAC", await mirror_rate(server, journal, n, KEY)),
            ("mirror catch-up, no key", await mirror_rate(server, journal, n, None)),
            ("journal append with fsync (baseline)", appended),
        ]
        for what, seconds in rows:
            table.add_row(what, f"{n:,}", f"{seconds:.3f}", f"{n / seconds:,.0f}", f"{plain / seconds:.2f}x")
        rate, lag = await live_lag(server, Path(tmp), min(n, 2000))
        table.add_row(
            f"live: appends mirrored as written (lag after the last: {lag:.0f} ms)",
            f"{min(n, 2000):,}",
            "",
            f"{rate:,.0f}",
            "",
        )
        seconds, state = await outage(Path(tmp), 100, down)
        table.add_row(
            f"catch-up after {down:,} written while Redis was down ({state})",
            f"{down:,}",
            f"{seconds:.3f}",
            f"{down / seconds:,.0f}",
            "",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="entries in the rate runs")
    parser.add_argument("--down", type=int, default=1000, help="entries written while Redis is down")
    args = parser.parse_args()
    Console(width=150).print(asyncio.run(measure(args.n, args.down)))


if __name__ == "__main__":
    main()
