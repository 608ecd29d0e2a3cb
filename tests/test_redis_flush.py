"""flush-cache through the runner and the CLI against real Redis: what is deleted, what stays, what is journaled."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from actions.base import ParamError, Progress
from actions.redis import FIRST_COUNT, MAX_COUNT, MIN_COUNT, Glob, pattern_bytes
from actions.registry import build_runner
from actions.runner import ActionRefused, Runner
from console import config as cfg
from console.cli import main
from console.config import RedisSettings
from console.demo.redis_seed import write_keys
from console.demo.servers import RedisServer
from console.journal import Journal
from console.models import ConfirmLevel, OutcomeStatus, ProgressEvent, State
from console.sources.redis import RedisSource
from tests.helpers import until

ENVIRONMENT = "staging"
_dbs = itertools.cycle(range(1, 14))  # db 14 belongs to test_redis_source; 0 and 15 are left to others


@dataclass
class Target:
    """One emptied database of a Redis, a client on it, and a config + journal that point at it."""

    client: aioredis.Redis
    db: int
    url: str
    config_path: Path
    journal_path: Path

    def runner(self, *, read_only: bool = False) -> Runner:
        return build_runner(cfg.load(self.config_path, environ={}), read_only=read_only)

    def journal(self) -> list[dict]:
        return list(Journal(self.journal_path).entries())

    async def keys(self, pattern: str = "*") -> set[bytes]:
        return {key async for key in self.client.scan_iter(match=pattern, count=1000)}


def write_config(tmp_path: Path, url: str) -> tuple[Path, Path]:
    """A config for ENVIRONMENT with [redis] at `url`; returns (config path, journal path)."""
    journal_path = tmp_path / "journal.jsonl"
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        f'[console]\nenvironment = "{ENVIRONMENT}"\njournal = "{journal_path}"\n[redis]\nurl = "{url}"\n'
    )
    return config_path, journal_path


async def make_target(server: RedisServer, db: int, tmp_path: Path) -> Target:
    url = f"redis://{server.host}:{server.port}/{db}"
    client = aioredis.Redis.from_url(url)
    await client.flushdb()
    return Target(client, db, url, *write_config(tmp_path, url))


@pytest.fixture
async def target(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Target]:
    """A database of the session Redis that only this test uses, emptied before and after."""
    found = await make_target(redis_server, next(_dbs), tmp_path)
    yield found
    await found.client.flushdb()
    await found.client.aclose()


@pytest.fixture
async def own_target(tmp_path: Path) -> AsyncIterator[tuple[RedisServer, Target]]:
    """A private Redis (for tests that kill it) and db 0 on it."""
    server = RedisServer()
    server.start()
    found = await make_target(server, 0, tmp_path)
    yield server, found
    await found.client.aclose()
    server.stop()


async def test_flush_sessions_leaves_every_user_key(target: Target) -> None:
    await write_keys(target.client, "session", 100_000)
    await write_keys(target.client, "user", 20_000)
    runner = target.runner()
    plan = await runner.plan("flush-cache", {"pattern": "session:*"})

    assert plan.params == {"pattern": "session:*", "db": target.db, "max_rate": None}
    assert f"in db {target.db}" in plan.summary and "of 120,000 keys (sampled 10," in plan.summary
    assert abs(plan.detail["estimate"] - 100_000) < 5_000
    assert len(plan.rows) == 10 and all(row[0].startswith("session:") and row[1] == "string" for row in plan.rows)
    assert plan.confirm is ConfirmLevel.TYPED and plan.confirm_text == ENVIRONMENT  # ~83% > flush_confirm_share

    events: list[ProgressEvent] = []
    outcome = await runner.execute(plan, confirmed=True, typed=ENVIRONMENT, progress=Progress(listener=events.append))
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
    assert outcome.counts == {"deleted": 100_000}
    assert await target.keys("session:*") == set()
    assert await target.client.dbsize() == 20_000
    assert await target.client.exists(*[f"user:{n}" for n in range(20_000)]) == 20_000
    assert events[0].total == plan.detail["estimate"]
    assert max(e.counts.get("deleted", 0) for e in events) == 100_000

    requested, completed = target.journal()
    assert requested["kind"] == "action.requested" and requested["data"]["params"]["pattern"] == "session:*"
    assert "of 120,000 keys" in requested["data"]["summary"]
    assert completed["kind"] == "action.completed" and completed["corr"] == requested["seq"]
    assert completed["data"]["counts"] == {"deleted": 100_000}
    assert f"deleted 100,000 keys matching 'session:*' in db {target.db}" in completed["data"]["message"]


async def test_a_narrow_pattern_needs_only_a_yes(target: Target) -> None:
    await write_keys(target.client, "session", 50)
    await write_keys(target.client, "user", 5_000)
    runner = target.runner()
    plan = await runner.plan("flush-cache", {"pattern": "session:*"})
    assert plan.confirm is ConfirmLevel.YES and plan.summary.endswith("50 of 5,050 keys (scanned them all)")
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.counts == {"deleted": 50} and await target.client.dbsize() == 5_000


SPECIAL_KEYS = [
    b"tag:[1]",
    b"tag:1",
    b"q:a?b",
    b"q:axb",
    b"path:C:\\tmp",
    b"path:C:tmp",
    "café:1".encode(),
    b"cafe:1",
    b"bin:\xff\xfe",
    b"bin:ok",
]


@pytest.mark.parametrize(
    ("pattern", "deleted", "shown"),
    [
        (r"tag:\[1\]", b"tag:[1]", "tag:[1]"),
        (r"q:a\?b", b"q:a?b", "q:a?b"),
        ("path:C:\\\\*", b"path:C:\\tmp", "path:C:\\tmp"),
        ("café:*", "café:1".encode(), "café:1"),
        ("bin:[^o]*", b"bin:\xff\xfe", "bin:\\xff\\xfe"),
    ],
)
async def test_brackets_question_marks_backslashes_and_non_ascii(
    target: Target, pattern: str, deleted: bytes, shown: str
) -> None:
    await target.client.mset(dict.fromkeys(SPECIAL_KEYS, b"v"))
    runner = target.runner()
    plan = await runner.plan("flush-cache", {"pattern": pattern})
    assert plan.rows == [[shown, "string", "none"]]
    assert plan.summary.endswith(f"1 of {len(SPECIAL_KEYS)} keys (scanned them all)")
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.counts == {"deleted": 1}
    assert await target.keys() == set(SPECIAL_KEYS) - {deleted}


GLOB_KEYS = [
    b"hello",
    b"hallo",
    b"hxllo",
    b"hllo",
    b"heeeello",
    b"a-b",
    b"]",
    b"a",
    b"b",
    b"z",
    b"*star",
    b"back\\slash",
    b"x\\",
    b"\xff",
    b"\n",
    b"",
]
GLOB_PATTERNS = [
    "h?llo",
    "h*llo",
    "h[ae]llo",
    "h[^e]llo",
    "h[a-b]llo",
    "[z-a]",
    "[a-]*",
    "[]",
    "[^]",
    "[ab",
    "\\*star",
    "*\\\\*",
    "x\\",
    "?",
    "*",
    "*?*",
    "\\",
]


async def test_the_local_matcher_agrees_with_scan_match(target: Target) -> None:
    await target.client.mset(dict.fromkeys(GLOB_KEYS, b"v"))
    for pattern in GLOB_PATTERNS:
        glob = Glob(pattern_bytes(pattern))
        server = await target.keys(pattern)
        assert {k for k in GLOB_KEYS if glob.match(k)} == server, pattern


@pytest.mark.parametrize(
    ("pattern", "everything"),
    [
        *[(p, True) for p in ("*", "**", "?*", "*?*", "*??*", "*[^]*")],
        *[(p, False) for p in ("a*", "\\*", "?", "[a]*", "*a", "*[^a]")],
    ],
)
def test_patterns_that_match_everything(pattern: str, everything: bool) -> None:
    assert Glob(pattern_bytes(pattern)).matches_everything is everything


@pytest.mark.parametrize("pattern", ["*", "?*", "*?*"])
async def test_match_all_demands_the_typed_environment_name(target: Target, pattern: str) -> None:
    await write_keys(target.client, "user", 50)
    runner = target.runner()
    plan = await runner.plan("flush-cache", {"pattern": pattern})
    assert plan.confirm is ConfirmLevel.TYPED and plan.confirm_text == ENVIRONMENT
    assert plan.confirm_reason == f"the pattern {pattern!r} matches every key in db {target.db}"
    with pytest.raises(ActionRefused, match="typed confirmation"):
        await runner.execute(plan, confirmed=True)
    with pytest.raises(ActionRefused, match="typed confirmation"):
        await runner.execute(plan, confirmed=True, typed="production")
    assert await target.client.dbsize() == 50 and target.journal() == []
    outcome = await runner.execute(plan, confirmed=True, typed=ENVIRONMENT)
    assert outcome.counts == {"deleted": 50} and await target.client.dbsize() == 0


@pytest.mark.parametrize("pattern", ["", "   ", "\t"])
async def test_an_empty_pattern_is_refused(target: Target, pattern: str) -> None:
    await write_keys(target.client, "user", 10)
    with pytest.raises(ParamError, match="the pattern is empty"):
        await target.runner().plan("flush-cache", {"pattern": pattern})
    with pytest.raises(ParamError, match="--pattern is required"):
        await target.runner().plan("flush-cache", {})
    assert await target.client.dbsize() == 10 and target.journal() == []


async def test_read_only_refuses_before_reading_anything(target: Target) -> None:
    await write_keys(target.client, "session", 10)
    with pytest.raises(ActionRefused, match="read-only"):
        await target.runner(read_only=True).plan("flush-cache", {"pattern": "session:*"})
    plan = await target.runner().plan("flush-cache", {"pattern": "session:*"})
    with pytest.raises(ActionRefused, match="read-only"):
        await target.runner(read_only=True).execute(plan, confirmed=True, typed=ENVIRONMENT)
    assert await target.client.dbsize() == 10 and target.journal() == []


@pytest.mark.parametrize(("max_rate", "cancel_after"), [(None, 0.0), (None, 0.02), (100_000, 0.1), (100_000, 0.33)])
async def test_cancel_journals_exactly_what_was_deleted(
    target: Target, max_rate: int | None, cancel_after: float
) -> None:
    """The operator cancels `cancel_after` seconds after the first keys went, wherever the flush then is."""
    await write_keys(target.client, "session", 100_000)
    runner = target.runner()
    params = {"pattern": "session:*"} | ({"max_rate": str(max_rate)} if max_rate else {})
    plan = await runner.plan("flush-cache", params)
    progress = Progress()
    loop = asyncio.get_running_loop()

    def cancel_soon(event: ProgressEvent) -> None:
        if event.counts and progress.listener is not None:
            progress.listener = None
            loop.call_later(cancel_after, progress.cancel)

    progress.listener = cancel_soon
    outcome = await runner.execute(plan, confirmed=True, typed=ENVIRONMENT, progress=progress)

    left = await target.client.dbsize()
    assert outcome.status is OutcomeStatus.CANCELLED
    assert 0 < left < 100_000
    assert outcome.counts["deleted"] == 100_000 - left
    cancelled = target.journal()[-1]
    assert cancelled["kind"] == "action.cancelled" and cancelled["data"]["counts"]["deleted"] == 100_000 - left


async def test_cancel_from_the_progress_listener_stops_between_pages(target: Target) -> None:
    await write_keys(target.client, "session", 100_000)
    runner = target.runner()
    plan = await runner.plan("flush-cache", {"pattern": "session:*"})
    progress = Progress()
    progress.listener = lambda event: progress.cancel() if event.counts.get("deleted", 0) >= 30_000 else None
    outcome = await runner.execute(plan, confirmed=True, typed=ENVIRONMENT, progress=progress)
    left = await target.client.dbsize()
    assert outcome.status is OutcomeStatus.CANCELLED and 30_000 <= outcome.counts["deleted"] < 40_000
    assert outcome.counts["deleted"] == 100_000 - left == target.journal()[-1]["data"]["counts"]["deleted"]


async def test_max_rate_holds_the_pace(target: Target) -> None:
    await write_keys(target.client, "session", 2_000)
    runner = target.runner()
    plan = await runner.plan("flush-cache", {"pattern": "session:*", "max_rate": "4000"})
    assert "at most 4,000 keys/s" in plan.notes[0]
    started = time.monotonic()
    outcome = await runner.execute(plan, confirmed=True, typed=ENVIRONMENT)
    assert outcome.counts == {"deleted": 2_000} and time.monotonic() - started >= 0.45


async def test_redis_killed_mid_flush_fails_cleanly_then_the_source_recovers(
    own_target: tuple[RedisServer, Target],
) -> None:
    server, target = own_target
    await write_keys(target.client, "session", 100_000)
    source = RedisSource(RedisSettings(url=target.url))
    runner = target.runner()
    plan = await runner.plan("flush-cache", {"pattern": "session:*", "max_rate": "50000"})
    progress = Progress()
    running = asyncio.create_task(runner.execute(plan, confirmed=True, typed=ENVIRONMENT, progress=progress))
    await until(lambda: progress.counts.get("deleted", 0) >= 20_000, 30, "20,000 keys deleted")
    server.kill()
    outcome = await asyncio.wait_for(running, 10)

    deleted = outcome.counts["deleted"]
    assert outcome.status is OutcomeStatus.FAILED and 20_000 <= deleted < 100_000
    assert outcome.message.startswith(f"Redis failed after {deleted:,} keys were deleted: ")
    failed = target.journal()[-1]
    assert failed["kind"] == "action.failed" and failed["data"]["counts"] == {"deleted": deleted}

    try:
        down = await source.poll()
        assert down.state is State.DOWN and down.reason
        server.start_again()

        async def up() -> bool:
            return (await source.poll()).state is not State.DOWN

        await until(up, 10, "the source up again")
        assert (await source.poll()).state is State.OK
    finally:
        await source.close()


@pytest.fixture
def sync_target(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[redis.Redis, int, Path]]:
    """For the CLI tests (main() runs its own event loop): a sync client on an emptied db, and a config.

    The config's URL names db 0; the tests pass --db.
    """
    db = next(_dbs)
    client = redis.Redis.from_url(f"redis://{redis_server.host}:{redis_server.port}/{db}")
    client.flushdb()
    client.mset({f"session:{n}": "v" for n in range(300)})
    config_path, _ = write_config(tmp_path, redis_server.url)
    yield client, db, config_path
    client.flushdb()
    client.close()


def test_headless_dry_run_previews_and_touches_nothing(sync_target, capsys) -> None:
    client, db, config_path = sync_target
    argv = ["run", "flush-cache", "--config", str(config_path), "--pattern", "session:*", "--db", str(db)]
    code = main([*argv, "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"[{ENVIRONMENT}] flush-cache (destructive)" in out
    assert f"delete keys matching 'session:*' in db {db}" in out and "300 of 300 keys" in out
    assert "dry run: nothing was run" in out
    assert client.dbsize() == 300


def test_headless_wide_flush_needs_confirm_then_runs(sync_target, capsys) -> None:
    client, db, config_path = sync_target
    argv = ["run", "flush-cache", "--config", str(config_path), "--pattern", "session:*", "--db", str(db), "--yes"]
    assert main(argv) == 2
    assert f"pass --confirm {ENVIRONMENT} as well as --yes" in capsys.readouterr().err
    assert client.dbsize() == 300
    assert main([*argv, "--confirm", ENVIRONMENT]) == 0
    assert "flush-cache: completed: deleted 300 keys" in capsys.readouterr().out
    assert client.dbsize() == 0


@pytest.mark.parametrize("pattern", [" ", "bin:\udcff"])
def test_headless_bad_pattern_is_one_line_exit_2(sync_target, capsys, pattern: str) -> None:
    client, db, config_path = sync_target
    code = main(["run", "flush-cache", "--config", str(config_path), "--pattern", pattern, "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "the pattern is empty" in err if pattern == " " else "not UTF-8" in err
    assert client.dbsize() == 300


async def test_the_adaptive_scan_count_range_is_reported_and_journaled(target: Target) -> None:
    await write_keys(target.client, "session", 100_000)
    runner = target.runner()
    plan = await runner.plan("flush-cache", {"pattern": "session:*", "max_rate": "100000"})
    assert any("adapted to keep each page near 0.5 ms of server time" in note for note in plan.notes)
    messages: list[str] = []
    progress = Progress(listener=lambda event: messages.append(event.message) if event.message else None)
    outcome = await runner.execute(plan, confirmed=True, typed=ENVIRONMENT, progress=progress)
    assert outcome.counts == {"deleted": 100_000}
    assert messages and all("SCAN COUNT " in message for message in messages)

    completed = target.journal()[-1]
    found = re.search(r"; SCAN COUNT ([\d,]+)(?:-([\d,]+))?$", completed["data"]["message"])
    assert completed["kind"] == "action.completed" and found, completed["data"]["message"]
    low, high = (int((group or found[1]).replace(",", "")) for group in (found[1], found[2]))
    assert MIN_COUNT <= low <= FIRST_COUNT <= high <= MAX_COUNT
