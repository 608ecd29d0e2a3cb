"""Demo data for Redis: `session:*`, `user:*` and `cache:*` keys, and cache traffic whose hit ratio can drop."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import TYPE_CHECKING

from console.sources.redis import raise_if_cancelled

if TYPE_CHECKING:
    from redis.asyncio import Redis

MSET_SIZE = 1000
PIPELINE_DEPTH = 20
SESSION_TTL_S = 3 * 3600


async def seed(url: str, sessions: int = 20_000, users: int = 5_000, cache: int = 10_000) -> None:
    """Write `session:<n>` (with a TTL), `user:<n>` and `cache:<n>` keys with pipelined MSETs."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        await write_keys(client, "session", sessions, ttl_s=SESSION_TTL_S)
        await write_keys(client, "user", users)
        await write_keys(client, "cache", cache)
    finally:
        await client.aclose()


async def write_keys(client: Redis, prefix: str, count: int, *, ttl_s: int | None = None, start: int = 0) -> None:
    """`prefix:<start>`..`prefix:<start+count-1>` with small values, MSET_SIZE keys per command, pipelined."""
    pipe = client.pipeline(transaction=False)
    queued = 0
    for first in range(start, start + count, MSET_SIZE):
        names = [f"{prefix}:{n}" for n in range(first, min(first + MSET_SIZE, start + count))]
        pipe.mset({name: f"{prefix} value {name}" for name in names})
        if ttl_s is not None:
            for name in names:
                pipe.expire(name, ttl_s + random.randrange(600))
        queued += 1
        if queued >= PIPELINE_DEPTH:
            await pipe.execute()
            queued = 0
    if queued:
        await pipe.execute()


class CacheTraffic:
    """Reads `cache:*` keys in the background: nearly all hits normally, mostly misses once degraded."""

    def __init__(self, url: str, *, keys: int = 10_000, reads_per_s: float = 200, batch: int = 20) -> None:
        self.url = url
        self.keys = keys
        self.reads_per_s = reads_per_s
        self.batch = batch
        self.degraded = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin reading in a background task; idempotent."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="demo-cache-traffic")

    async def stop(self) -> None:
        """Stop reading and close the connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def degrade(self, on: bool = True) -> None:
        """During the incident most reads ask for keys that are not cached (the hit ratio drops)."""
        self.degraded = on

    async def _run(self) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        client = aioredis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        pause = self.batch / self.reads_per_s
        try:
            while True:
                miss_share = 0.7 if self.degraded else 0.01
                names = [
                    f"cache:miss:{random.randrange(10**9)}" if random.random() < miss_share else self._cached()
                    for _ in range(self.batch)
                ]
                with contextlib.suppress(RedisError, OSError):  # the demo Redis may be restarted or flushed
                    await client.mget(names)
                raise_if_cancelled()
                await asyncio.sleep(pause)
        finally:
            await client.aclose()

    def _cached(self) -> str:
        return f"cache:{random.randrange(self.keys)}"
