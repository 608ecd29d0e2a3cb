"""The Redis source against real servers: INFO figures, rates, SLOWLOG redaction, DOWN with a reason, backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from console.clock import ManualClock
from console.config import RedisSettings
from console.demo.redis_seed import CacheTraffic, seed
from console.demo.servers import RedisServer, free_port
from console.models import State
from console.sources.redis import RedisSource

START = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)
SOURCE_DB = 14
PASSWORD = "hunter2-s3cret"


def db_url(server: RedisServer, db: int, password: str = "") -> str:
    auth = f":{password}@" if password else ""
    return f"redis://{auth}{server.host}:{server.port}/{db}"


@pytest.fixture
async def shared_db(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client on this module's own db of the session server, emptied before and after."""
    client = aioredis.Redis.from_url(db_url(redis_server, SOURCE_DB))
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A private Redis that logs every command in SLOWLOG, for tests that kill it or read exact counters."""
    server = RedisServer(extra_args=["--slowlog-log-slower-than", "0", "--slowlog-max-len", "64"])
    server.start()
    yield server
    server.stop()


async def test_poll_reads_info_keys_and_hit_ratio_over_the_interval() -> None:
    with RedisServer() as server:
        client = aioredis.Redis.from_url(db_url(server, 3))
        await client.mset({f"user:{n}": "x" for n in range(30)})
        clock = ManualClock(START)
        source = RedisSource(RedisSettings(url=db_url(server, 3), hit_rate_warn_pct=90), clock)
        try:
            first = await source.poll()
            assert first.state is State.OK, first.reason
            assert first.keys_per_db == {3: 30}
            assert first.role == "master" and first.replication == "no replicas"
            assert first.ping_ms is not None and 0 < first.ping_ms < 1000
            assert first.used_memory and first.peak_memory and first.max_memory is None
            assert first.hit_ratio is None and first.hit_ratio_since_start is None and first.taken_at == START
            assert first.target == f"127.0.0.1:{server.port}/3"
            assert {c.name: c.reason for c in first.checks()}["hit ratio"] == "no lookups yet"

            await client.mget([f"user:{n}" for n in range(30)] + [f"missing:{n}" for n in range(10)])
            clock.advance(2)
            second = await source.poll()
            assert second.hit_ratio == pytest.approx(0.75) and second.lookups == 40
            checks = {c.name: c for c in second.checks()}
            assert checks["hit ratio"].state is State.WARN and checks["hit ratio"].value == "75.0%"
            assert checks["hit ratio"].reason == "below 90% (of 40 lookups)"
            assert second.state is State.WARN

            await client.mget([f"user:{n}" for n in range(50)])  # 30 hits, 20 misses
            clock.advance(2)
            assert (await source.poll()).hit_ratio == pytest.approx(0.6)

            clock.advance(2)
            idle = await source.poll()  # no lookups in this interval: the verdict falls back to since-start
            assert idle.hit_ratio is None and idle.hit_ratio_since_start == pytest.approx(60 / 90)
            assert {c.name: c.reason for c in idle.checks()}["hit ratio"] == "below 90% (since start)"
        finally:
            await client.aclose()
            await source.close()


async def test_expired_and_evicted_per_second_and_memory_against_maxmemory() -> None:
    with RedisServer(extra_args=["--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"]) as server:
        clock = ManualClock(START)
        source = RedisSource(RedisSettings(url=server.url), clock)
        client = aioredis.Redis.from_url(server.url)
        try:
            assert (await source.poll()).evicted_per_s is None
            for n in range(50):
                await client.set(f"short:{n}", "x", px=1)
            await asyncio.sleep(0.05)  # a sleep by design: past the keys' 1 ms time to live
            await client.mget([f"short:{n}" for n in range(50)])  # lazy expiry of every one of them
            for start in range(0, 4000, 200):
                await client.mset({f"blob:{n}": "v" * 2000 for n in range(start, start + 200)})
            clock.advance(10)
            snap = await source.poll()
            assert snap.expired_per_s == pytest.approx(5.0)
            assert snap.evicted_per_s is not None and snap.evicted_per_s > 0
            memory = {c.name: c for c in snap.checks()}["memory"]
            assert memory.value.endswith("of 3.0 MiB") and snap.eviction_policy == "allkeys-lru"
            assert memory.state in (State.WARN, State.CRIT) and "allkeys-lru" in memory.reason
        finally:
            await client.aclose()
            await source.close()


async def test_slowlog_is_redacted_truncated_and_names_the_client() -> None:
    with RedisServer(extra_args=["--slowlog-log-slower-than", "0"]) as server:
        # (set after start: the harness's readiness PING does not authenticate)
        admin = aioredis.Redis.from_url(server.url)
        await admin.config_set("requirepass", PASSWORD)
        await admin.aclose()
        url = db_url(server, 0, PASSWORD)
        client = aioredis.Redis.from_url(url, client_name="web-7")
        source = RedisSource(RedisSettings(url=url))
        try:
            await client.set("session:abc", "v" * 300)
            await client.set(b"bin:\xff\n", "y")
            await client.set("note", PASSWORD)
            await client.config_set("slowlog-max-len", "64")
            snap = await source.poll()
        finally:
            await client.aclose()
            await source.close()
    commands = [e.command for e in snap.slowlog]
    assert f"SET session:abc {'v' * 39}…" in commands
    assert "SET bin:\\xff\\n y" in commands
    assert "SET note ***" in commands
    assert "CONFIG SET ***" in commands
    assert not any(PASSWORD in c for c in commands)
    web = next(e for e in snap.slowlog if e.command == "SET note ***")
    assert web.client.startswith("127.0.0.1:") and web.client.endswith("(web-7)")
    assert len(snap.slowlog) == 10 and snap.slowlog[0].id > snap.slowlog[-1].id
    assert all(e.time.tzinfo is not None and e.duration_us >= 0 for e in snap.slowlog)


async def test_unreachable_is_down_with_a_reason_never_an_exception() -> None:
    source = RedisSource(RedisSettings(url=f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"))
    snap = await source.poll()
    assert snap.state is State.DOWN
    assert snap.reason == "connection refused (is redis-server running?)"
    assert [c.state for c in snap.checks()] == [State.DOWN]
    await source.close()


async def test_a_server_that_never_answers_is_down_within_the_timeout() -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)
        writer.close()

    silent = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    source = RedisSource(RedisSettings(url=f"redis://127.0.0.1:{port}/0", timeout="200ms"))
    started = time.monotonic()
    try:
        snap = await source.poll()
    finally:
        await source.close()
        silent.close()
    assert snap.state is State.DOWN and snap.reason == "no answer within 200ms"
    assert time.monotonic() - started < 1.5


async def test_kill_is_down_then_backs_off_then_recovers(own_server: RedisServer) -> None:
    clock = ManualClock(START)
    source = RedisSource(RedisSettings(url=own_server.url), clock)
    try:
        assert (await source.poll()).state is State.OK
        own_server.kill()
        down = await source.poll()
        assert down.state is State.DOWN and down.reason

        own_server.start_again()
        waiting = await source.poll()  # within the backoff: no attempt yet, and it says when
        assert waiting.state is State.DOWN and waiting.reason.endswith("next attempt in 500ms")
        clock.advance(0.5)
        back = await source.poll()
        assert back.state is State.OK and back.hit_ratio is None and back.keys_per_db == {}

        own_server.kill()
        assert (await source.poll()).state is State.DOWN
        clock.advance(0.5)
        assert (await source.poll()).state is State.DOWN  # second failure in a row: the wait doubles
        assert (await source.poll()).reason.endswith("next attempt in 1s")
    finally:
        await source.close()


async def test_demo_seed_and_cache_traffic_whose_hit_ratio_drops_when_degraded(redis_server, shared_db) -> None:
    url = db_url(redis_server, SOURCE_DB)
    await seed(url, sessions=2_000, users=500, cache=1_000)
    assert await shared_db.dbsize() == 3_500
    assert 3 * 3600 <= await shared_db.ttl("session:7") <= 3 * 3600 + 600
    clock = ManualClock(START)
    source = RedisSource(RedisSettings(url=url), clock)
    traffic = CacheTraffic(url, keys=1_000, reads_per_s=2_000)
    try:
        await source.poll()
        await traffic.start()
        await asyncio.sleep(0.4)  # a sleep by design: the hit ratio is a rate over this window of traffic
        clock.advance(2)
        normal = await source.poll()
        traffic.degrade(True)
        await asyncio.sleep(0.1)  # a sleep by design: the batches under way when it switched are not looked at
        await source.poll()  # the interval that straddles the switch is not looked at
        await asyncio.sleep(0.4)  # a sleep by design: the degraded window
        clock.advance(2)
        degraded = await source.poll()
    finally:
        await traffic.stop()
        await source.close()
    assert normal.hit_ratio is not None and normal.hit_ratio > 0.95 and normal.state is State.OK
    assert degraded.hit_ratio is not None and degraded.hit_ratio < 0.5 and degraded.state is State.WARN


async def test_cache_traffic_stops_even_when_redis_py_turns_the_cancel_into_an_error(redis_server) -> None:
    """redis-py raises ConnectionError for a cancel that lands mid-command; the loop catches Redis errors and must
    not eat the cancel with them (stop() then waited forever, about one run in five)."""
    url = db_url(redis_server, SOURCE_DB)
    for _ in range(40):
        traffic = CacheTraffic(url, keys=10, reads_per_s=20_000, batch=200)
        await traffic.start()
        await asyncio.sleep(0.02)  # a sleep by design: the loop mid-command when the cancel lands
        started = time.monotonic()
        await asyncio.wait_for(traffic.stop(), 3)
        assert time.monotonic() - started < 1.5, "stop() waited on a loop that swallowed its cancel"
