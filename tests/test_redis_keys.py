"""`[[metric]] redis_keys = "PATTERN"`: a read-only count of the keys of `[redis]` that match, bounded like the
flush's preview (a sample of SCAN pages, then an estimate), against the session's real Redis (db 15: its own)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from console import config as cfg
from console.cli import main
from console.demo.redis_seed import write_keys
from console.demo.servers import RedisServer, free_port
from console.models import State
from console.sources.redis_keys import SAMPLE_SCANS, SCAN_COUNT, RedisKeysSource
from tests.helpers import config_file

DB = 15


@pytest.fixture
async def cache(redis_server: RedisServer) -> AsyncIterator[tuple[aioredis.Redis, str]]:
    url = f"redis://{redis_server.host}:{redis_server.port}/{DB}"
    client = aioredis.Redis.from_url(url)
    await client.flushdb()
    yield client, url
    await client.flushdb()
    await client.aclose()


def source(url: str, body: str) -> RedisKeysSource:
    config = cfg.loads(f'[redis]\nurl = "{url}"\n[[metric]]\nname = "sessions"\nredis_keys = "session:*"\n{body}')
    assert config.redis is not None
    return RedisKeysSource(config.metric, config.redis)


async def test_a_small_keyspace_is_counted_exactly_and_judged(cache: tuple[aioredis.Redis, str]) -> None:
    client, url = cache
    await write_keys(client, "session", 120)
    await write_keys(client, "user", 30)
    counter = source(url, "warn = 100\ncrit = 1000\n")
    snap = await counter.poll_one("sessions")
    assert (snap.value, snap.state) == (120.0, State.WARN)
    assert snap.reason == "above warn 100; 120 of 150 keys (scanned them all)"
    assert snap.check.key == "metric:sessions" and snap.check.value == "120"
    await client.delete(*[f"session:{n}" for n in range(60)])
    again = await counter.poll_one("sessions")
    assert (again.value, again.state, again.previous) == (60.0, State.OK, State.WARN) and again.history == [120, 60]
    await counter.close()


async def test_a_large_keyspace_is_sampled_never_scanned_whole(cache: tuple[aioredis.Redis, str]) -> None:
    client, url = cache
    await write_keys(client, "session", 40_000)
    await write_keys(client, "user", 40_000)
    counter = source(url, "")
    before = (await client.info("commandstats")).get("cmdstat_scan", {}).get("calls", 0)
    snap = await counter.poll_one("sessions")
    scans = (await client.info("commandstats"))["cmdstat_scan"]["calls"] - before
    assert scans <= SAMPLE_SCANS  # 10 pages of SCAN_COUNT at most, for 80,000 keys
    assert snap.state is State.OK and snap.value is not None and 30_000 < snap.value < 50_000
    assert snap.reason.startswith(f"~{snap.value:,.0f} of 80,000 keys (sampled ") and "at 95%" in snap.reason
    assert SAMPLE_SCANS * SCAN_COUNT < 80_000
    await counter.close()


async def test_redis_down_is_down_in_words() -> None:
    snap = await source(f"redis://127.0.0.1:{free_port()}/0", 'timeout = "1s"\n').poll_one("sessions")
    assert snap.state is State.DOWN and snap.value is None and "refused" in snap.reason


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('[[metric]]\nname = "n"\nredis_keys = "a:*"\n', "metric[0].redis_keys needs a [redis] section"),
        (
            '[redis]\nurl = "redis://x"\n[[metric]]\nname = "n"\nredis_keys = "a:*"\npath = "x"\n',
            "path, pattern and the request fields go with url or command, not with redis_keys",
        ),
        (
            '[redis]\nurl = "redis://x"\n[[metric]]\nname = "n"\nredis_keys = "a:*"\nurl = "http://x"\n',
            "give url (an HTTP endpoint), command",
        ),
    ],
)
def test_a_count_that_cannot_work_is_a_config_error(body: str, problem: str) -> None:
    with pytest.raises(cfg.ConfigError, match=re.escape(problem)):
        cfg.loads(body)


def test_status_and_check_read_the_count(tmp_path: Path, cache: tuple[aioredis.Redis, str], capsys) -> None:
    _, url = cache
    path = config_file(tmp_path / "etc", f'[redis]\nurl = "{url}"\n[[metric]]\nname = "sessions"\nredis_keys = "s:*"\n')
    assert main(["status", "--config", str(path)]) == 0
    assert "● OK      metric  sessions         0  0 of 0 keys (scanned them all)" in capsys.readouterr().out
    assert main(["check", "--config", str(path)]) == 0
    assert "ok    metric    sessions  PING in " in capsys.readouterr().out
