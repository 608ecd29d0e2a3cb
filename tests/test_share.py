"""Sharing the journal on a real Redis stream: two hosts mirrored and followed, Redis killed mid-incident, forged and
trimmed streams, clock skew, and secrets kept out of the stream and of every notice."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from console import config as cfg
from console.config import ShareSettings
from console.demo.servers import RedisServer, free_port
from console.journal import Journal, canonical, entry_hash
from console.share import Event, JournalMirror, Notice, Remote, StreamFollower, follow, start_mirror
from console.share.codec import encode
from tests.helpers import until

KEY = "k3y-0f-the-share-d0-not-leak"


def settings(server: RedisServer, key: str | None = KEY, **more: object) -> ShareSettings:
    return ShareSettings(redis_url=server.url, stream=f"test:{uuid.uuid4().hex}", key=key, **more)


def journal(tmp_path: Path, name: str, **more: object) -> Journal:
    return Journal(tmp_path / name / "journal.jsonl", environment="test", **more)


def mirror(share: ShareSettings, local: Journal, host: str, states: list[str] | None = None, **more: object):
    on_state = states.append if states is not None else None
    return JournalMirror(share, local, host=host, poll=0.05, backoff_max=0.5, on_state=on_state, **more).start()


def follower(share: ShareSettings, **more: object) -> AsyncIterator[Event]:
    return StreamFollower(share, block=0.2, backoff_max=0.5, **more).events()


async def flat(batches: AsyncIterator[list[Event]]) -> AsyncIterator[Event]:
    async for batch in batches:
        for event in batch:
            yield event


async def take(events: AsyncIterator[Event], until: Callable[[list[Event]], bool], timeout: float = 15) -> list[Event]:
    got: list[Event] = []
    async with asyncio.timeout(timeout):
        while not until(got):
            got.append(await anext(events))
    return got


def remotes(events: list[Event]) -> list[Remote]:
    return [e for e in events if isinstance(e, Remote)]


def notices(events: list[Event], kind: str | None = None) -> list[Notice]:
    return [e for e in events if isinstance(e, Notice) and kind in (None, e.kind)]


def count(n: int) -> Callable[[list[Event]], bool]:
    return lambda got: len(remotes(got)) >= n


async def stream_seqs(share: ShareSettings, host: str) -> list[int]:
    client = aioredis.Redis.from_url(share.redis_url)
    try:
        rows = await client.xrange(share.stream)
    finally:
        await client.aclose()
    return [int(fields[b"seq"]) for _, fields in rows if fields[b"host"] == host.encode()]


def now_ms() -> int:
    return int(time.time() * 1000)


def write(local: Journal, n: int, start: int = 0) -> list[dict]:
    return [
        local.append("observation", {"source": "health", "i": i}, incident="INC-1") for i in range(start, start + n)
    ]


async def test_two_hosts_mirrored_one_follower_sees_both_in_per_host_order(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    share = settings(redis_server)
    a, b = journal(tmp_path, "a"), journal(tmp_path, "b")
    written = {"host-a": write(a, 5), "host-b": write(b, 3)}  # before the mirrors start: they send the history too
    mirrors = [mirror(share, a, "host-a"), mirror(share, b, "host-b")]
    events = follower(share)
    try:
        for i in range(5):
            written["host-a"] += write(a, 1, 5 + i)
            written["host-b"] += write(b, 1, 3 + i)
        got = await take(events, count(18))
    finally:
        await events.aclose()
        for m in mirrors:
            await m.stop()
    assert notices(got) == []
    for host, entries in written.items():
        assert [r.entry for r in remotes(got) if r.host == host] == entries
    assert [m.state for m in mirrors] == ["stopped", "stopped"]


async def test_redis_killed_mid_incident_the_mirror_catches_up_each_seq_once(tmp_path: Path) -> None:
    with RedisServer(extra_args=["--appendonly", "yes", "--appendfsync", "always"]) as server:
        share, local, states = settings(server), journal(tmp_path, "a"), []
        m = mirror(share, local, "host-a", states)
        try:
            write(local, 10)
            await until(lambda: m.last_seq == 10)
            server.kill()
            write(local, 50, 10)  # the journal keeps working while Redis is down
            await until(lambda: m.state.startswith("redis down"))
            server.start_again()
            await until(lambda: m.last_seq == 60)
            assert await stream_seqs(share, "host-a") == list(range(1, 61))
        finally:
            await m.stop()
    down = next(s for s in states if s.startswith("redis down"))
    assert f"127.0.0.1:{server.port}/0 {share.stream}" in down and "retrying in" in down
    assert "caught up 50 entries" in states


@pytest.mark.parametrize("written_while_down", [20, 0])
async def test_redis_restarted_empty_gets_the_whole_journal_again_once(tmp_path: Path, written_while_down: int) -> None:
    with RedisServer() as server:
        share, local = settings(server), journal(tmp_path, "a")
        m = mirror(share, local, "host-a")
        try:
            write(local, 10)
            await until(lambda: m.last_seq == 10)
            server.kill()
            write(local, written_while_down, 10)
            if written_while_down:
                await until(lambda: m.state.startswith("redis down"))
            server.start_again()  # empty: an idle mirror learns it on its next write
            write(local, 20 - written_while_down, 10 + written_while_down)
            await until(lambda: m.last_seq == 30 and not m.state.startswith("redis down"))
            assert await stream_seqs(share, "host-a") == list(range(1, 31))
        finally:
            await m.stop()


async def test_two_consoles_on_one_journal_mirror_it_once_and_the_standby_takes_over(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    share, local = settings(redis_server), journal(tmp_path, "a")
    first, second = mirror(share, local, "host-a"), mirror(share, local, "host-a")
    try:
        write(local, 20)
        await until(lambda: max(first.last_seq, second.last_seq) == 20)
        active, standby = (first, second) if first.last_seq == 20 else (second, first)
        assert standby.state == "standby: another process on this host mirrors this journal"
        await active.stop()
        write(local, 5, 20)
        await until(lambda: standby.last_seq == 25)
        assert await stream_seqs(share, "host-a") == list(range(1, 26))
    finally:
        await first.stop()
        await second.stop()


async def test_a_journal_the_stream_does_not_know_under_the_same_host_id_is_not_mirrored(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    share, old, new = settings(redis_server), journal(tmp_path, "old"), journal(tmp_path, "new")
    write(old, 5)
    m = mirror(share, old, "host-a")
    await until(lambda: m.last_seq == 5)
    await m.stop()
    write(new, 8)
    states: list[str] = []
    m = mirror(share, new, "host-a", states)
    try:
        await until(lambda: m.state.startswith("not mirroring"))
    finally:
        await m.stop()
    assert "not mirroring: the stream's seq 5 for host 'host-a' is not in this journal" in states[0]
    assert await stream_seqs(share, "host-a") == [1, 2, 3, 4, 5]


async def test_forged_entries_are_refused_and_the_key_never_shows(redis_server: RedisServer, tmp_path: Path) -> None:
    share, local = settings(redis_server), journal(tmp_path, "a")
    genuine = write(local, 3)
    m = mirror(share, local, "host-a")
    await until(lambda: m.last_seq == 3)
    client = aioredis.Redis.from_url(share.redis_url)
    forged_entry = dict(genuine[2], seq=4, prev=genuine[2]["hash"], data={"source": "health", "i": "rollback done"})
    forged_entry["hash"] = entry_hash(forged_entry)
    altered = encode(genuine[2], "host-a", KEY, now_ms(), share.stream)
    altered["entry"] = altered["entry"].replace('"i":2', '"i":666')
    ids = [
        await client.xadd(share.stream, altered),  # a genuine HMAC over a modified payload
        await client.xadd(share.stream, encode(forged_entry, "host-a", None, now_ms(), share.stream)),  # no key
        await client.xadd(share.stream, encode(forged_entry, "host-a", "a-guessed-key-0000", now_ms(), share.stream)),
    ]
    minute = [0.0]
    events = follower(share, clock=lambda: minute[0])
    try:
        got = await take(events, lambda got: len(got) >= 4)
        minute[0] += 61  # the other two refusals are counted, and said once the minute is over
        got += await take(events, lambda more: len(more) >= 1)
    finally:
        await events.aclose()
        await m.stop()
    assert [r.entry for r in remotes(got)] == genuine
    first, summary = notices(got, "refused")
    assert first.stream_id == ids[0].decode()
    assert "HMAC does not match (claims host 'host-a'): forged, altered or copied from another stream" in first.text
    assert summary.text == "2 more stream entries refused in the last minute: 2 failing the HMAC"
    write(local, 1, 3)
    states: list[str] = []
    again = mirror(share, local, "host-a", states)  # the forged seq 4s claiming host-a do not move its resume point
    await until(lambda: again.last_seq == 4)
    await again.stop()
    assert states[0] == "caught up 1 entry"
    rows = await client.xrange(share.stream)
    await client.aclose()
    raw = json.dumps([[i.decode(), {k.decode(): v.decode() for k, v in f.items()}] for i, f in rows])
    assert KEY not in raw and not any(KEY in n.text for n in notices(got))


async def test_without_a_key_a_payload_that_does_not_hash_is_refused(redis_server: RedisServer, tmp_path: Path) -> None:
    share, local = settings(redis_server, key=None), journal(tmp_path, "a")
    genuine = write(local, 2)
    client = aioredis.Redis.from_url(share.redis_url)
    await client.xadd(share.stream, encode(genuine[0], "host-a", None, now_ms(), share.stream))
    tampered = encode(genuine[1], "host-a", None, now_ms(), share.stream)
    tampered["entry"] = canonical(dict(genuine[1], kind="resolved"))
    bad_id = (await client.xadd(share.stream, tampered)).decode()
    await client.aclose()
    events = follower(share)
    try:
        got = await take(events, lambda got: len(got) >= 2)
    finally:
        await events.aclose()
    assert [r.entry for r in remotes(got)] == genuine[:1]
    assert [(n.kind, n.stream_id) for n in notices(got)] == [("refused", bad_id)]
    assert "bad hash: seq 2 from 'host-a'" in notices(got)[0].text


async def test_a_trimmed_stream_is_reported_as_a_gap(redis_server: RedisServer, tmp_path: Path) -> None:
    share, local = settings(redis_server), journal(tmp_path, "a")
    write(local, 10)
    m = mirror(share, local, "host-a")
    events = follower(share)
    client = aioredis.Redis.from_url(share.redis_url)
    try:
        first = await take(events, count(10))
        write(local, 90, 10)  # while this follower reads nothing, the stream is trimmed past where it stands
        await until(lambda: m.last_seq == 100)
        await client.xtrim(share.stream, maxlen=50, approximate=False)
        rest = await take(events, count(50))
        late = follower(share)
        joined = await take(late, count(1))
        await late.aclose()
    finally:
        await events.aclose()
        await client.aclose()
        await m.stop()
    assert [r.entry["seq"] for r in remotes(first)] == list(range(1, 11))
    assert isinstance(rest[0], Notice) and rest[0].kind == "gap" and rest[0].host == "host-a"
    assert "seq 10 is followed by seq 51 (40 missing" in rest[0].text
    assert [r.entry["seq"] for r in remotes(rest)] == list(range(51, 101))
    assert [n.text for n in notices(joined)] == [
        "host-a: the stream starts at seq 51 (earlier entries were trimmed or never mirrored)"
    ]


async def test_a_deleted_stream_is_reported_and_followed_on(redis_server: RedisServer, tmp_path: Path) -> None:
    share, local = settings(redis_server), journal(tmp_path, "a")
    write(local, 3)
    m = mirror(share, local, "host-a")
    events = follower(share)
    client = aioredis.Redis.from_url(share.redis_url)
    try:
        await take(events, count(3))
        await client.delete(share.stream)
        gone = await take(events, lambda got: len(got) >= 1)
        write(local, 2, 3)
        after = await take(events, count(2))
    finally:
        await events.aclose()
        await client.aclose()
        await m.stop()
    assert [n.kind for n in notices(gone)] == ["stream"] and "is gone" in gone[0].text
    assert notices(after) == [] and [r.entry["seq"] for r in remotes(after)] == [4, 5]


async def test_a_writer_clock_off_by_more_than_30s_is_flagged_once(redis_server: RedisServer, tmp_path: Path) -> None:
    share = settings(redis_server)
    ahead = journal(tmp_path, "a", clock=lambda: datetime.now(UTC) + timedelta(minutes=2))
    write(ahead, 3)
    m = mirror(share, ahead, "host-a", clock=lambda: time.time() + 120)
    events = follower(share)
    try:
        got = await take(events, count(3))
    finally:
        await events.aclose()
        await m.stop()
    skew = notices(got, "skew")
    assert len(skew) == 1 and skew[0].host == "host-a"
    assert re.match(
        r"host-a: its clock is (1m 59s|2m 00s) ahead of Redis's; its entries are ordered by its seq", skew[0].text
    )
    assert [r.entry["seq"] for r in remotes(got)] == [1, 2, 3]


@pytest.fixture
def dead_url() -> Iterator[str]:
    yield f"redis://:hunter2-pass@127.0.0.1:{free_port()}/0"


async def test_config_api_and_redis_down_notices_keep_secrets_out(dead_url: str, tmp_path: Path) -> None:
    text = f'[share]\nredis_url = "{dead_url}"\nkey = "${{SHARE_KEY}}"\n'
    config = cfg.loads(text, source=tmp_path / "config.toml", environ={"SHARE_KEY": KEY})
    assert config.share is not None and config.share.key == KEY and KEY in config.secrets
    assert config.share.stream == "incident-console:journal" and config.share.maxlen == 100_000
    with pytest.raises(cfg.ConfigError) as short:
        cfg.loads('[share]\nredis_url = "redis://h/0"\nkey = "${SHARE_KEY}"\n', environ={"SHARE_KEY": "short-k3y"})
    assert "short-k3y" not in str(short.value)
    states: list[str] = []
    local = journal(tmp_path, "a")
    m = start_mirror(config, local, host="host-a", on_state=states.append)
    batches = follow(config)
    events = flat(batches)
    try:
        down = await take(events, lambda got: len(got) >= 1)
        await until(lambda: m.state.startswith("redis down"))
        local.append("observation", {"url": dead_url})
    finally:
        await batches.aclose()
        await m.stop()
    texts = [n.text for n in notices(down)] + states
    assert "connection refused" in texts[0]
    assert not any("hunter2-pass" in t or KEY in t for t in texts)
