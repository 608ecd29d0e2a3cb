"""The shared stream refuses what someone with Redis access but not the key can do: copy a staging drill's entries
into production, replay an old entry, add another environment's entries, or flood the stream with junk or huge
entries. Each is tested on a real Redis."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import redis.asyncio as aioredis

from console.demo.servers import RedisServer
from console.share.codec import encode
from tests.helpers import until
from tests.test_share import KEY, Event, follower, journal, mirror, notices, remotes, settings, take, write


def now_ms() -> int:
    return int(time.time() * 1000)


async def drain(share, **more) -> list[Event]:
    """Everything a fresh follower says about the stream until it has read it all."""
    events = follower(share, **more)
    got: list[Event] = []
    try:
        while True:
            try:
                async with asyncio.timeout(1.0):
                    got.append(await anext(events))
            except TimeoutError:
                return got
    finally:
        await events.aclose()


async def test_a_staging_entry_copied_into_the_production_stream_is_refused(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    staging, prod = settings(redis_server), settings(redis_server)
    drill = journal(tmp_path, "staging")
    drill.append("incident.declared", {"title": "drill", "severity": "SEV-1"}, incident="INC-1")
    m = mirror(staging, drill, "host-a")
    await until(lambda: m.last_seq == 1)
    await m.stop()
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        [(_, fields)] = await client.xrange(staging.stream)
        await client.xadd(prod.stream, fields)  # someone with Redis access, without the key
    finally:
        await client.aclose()
    got = await drain(prod)
    assert remotes(got) == []
    [refused] = notices(got, "refused")
    assert "HMAC does not match (claims host 'host-a'): forged, altered or copied from another stream" in refused.text


async def test_entries_of_another_environment_are_refused_even_without_a_key(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    share = settings(redis_server, key=None)
    other = journal(tmp_path, "staging")  # environment "test"
    write(other, 2)
    m = mirror(share, other, "host-a")
    await until(lambda: m.last_seq == 2)
    await m.stop()
    got = await drain(share, environment="production")
    assert remotes(got) == []
    [refused] = notices(got, "refused")
    assert "from environment 'test', not 'production' (claims host 'host-a')" in refused.text
    assert [r.entry["seq"] for r in remotes(await drain(share, environment="test"))] == [1, 2]


async def test_a_copy_of_an_old_entry_is_refused_as_a_replay(redis_server: RedisServer, tmp_path: Path) -> None:
    share = settings(redis_server)
    local = journal(tmp_path, "a")
    [entry] = write(local, 1)
    an_hour_ago = now_ms() - 3_600_000
    client = aioredis.Redis.from_url(redis_server.url)
    try:  # a signed entry exactly as it was mirrored an hour ago, added again now
        await client.xadd(share.stream, encode(entry, "host-a", KEY, an_hour_ago, share.stream))
    finally:
        await client.aclose()
    got = await drain(share)
    assert remotes(got) == []
    [refused] = notices(got, "refused")
    assert "reached the stream 1h 00m after it was mirrored (claims host 'host-a', seq 1)" in refused.text


async def test_an_entry_signed_by_an_older_console_is_refused_with_the_fix(redis_server: RedisServer) -> None:
    import hashlib
    import hmac

    from console.journal import canonical, entry_hash

    share = settings(redis_server)
    entry = {
        "v": 1,
        "seq": 1,
        "ts": "2026-12-07T03:00:00.000Z",
        "kind": "note",
        "incident": None,
        "corr": None,
        "actor": {},
        "environment": "test",
        "data": {"text": "x"},
        "prev": None,
    }
    entry["hash"] = entry_hash(entry)
    text = canonical(entry)
    old_mac = hmac.new(KEY.encode(), f"host-a\n{text}".encode(), hashlib.sha256).hexdigest()
    fields = {
        "entry": text,
        "seq": "1",
        "hash": entry["hash"],
        "host": "host-a",
        "sent": str(now_ms()),
        "hmac": old_mac,
    }
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        await client.xadd(share.stream, fields)
    finally:
        await client.aclose()
    [refused] = notices(await drain(share), "refused")
    assert "signed by an older console" in refused.text and "upgrade incident-console there" in refused.text


async def test_a_flood_of_junk_and_huge_entries_costs_one_notice_and_is_passed_quickly(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    share = settings(redis_server)
    local = journal(tmp_path, "a")
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        pipe = client.pipeline(transaction=False)
        for i in range(5000):
            pipe.xadd(share.stream, {"entry": f"junk {i}", "host": "x"})
        await pipe.execute()
        for _ in range(3):  # larger than an entry may be: never read into the follower's memory
            await client.xadd(share.stream, {"entry": "x" * (20 * 1024 * 1024)})
    finally:
        await client.aclose()
    write(local, 1)
    m = mirror(share, local, "host-a")
    minute = [0.0]
    events = follower(share, clock=lambda: minute[0])
    started = time.monotonic()
    try:
        got = await take(events, lambda got: len(remotes(got)) == 1)
        took = time.monotonic() - started
        minute[0] += 61
        got += await take(events, lambda more: len(more) >= 1)
    finally:
        await events.aclose()
        await m.stop()
    first, oversize, summary = notices(got, "refused")
    assert "no seq, hash, sent fields" in first.text
    assert "20.0 MiB, over the 2 MiB an entry may have" in oversize.text
    assert summary.text == (
        "5001 more stream entries refused in the last minute: 4999 with missing fields, 2 too large"
    )
    assert took < 10, f"{took:.1f}s to get past the flood"
