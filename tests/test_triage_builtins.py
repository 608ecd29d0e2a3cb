"""The built-in playbooks against real servers: a lock chain and a pile of idle sessions on a real PostgreSQL are
found, proposed, fixed through the runner and verified; the path is in the journal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from actions.registry import build_runner
from console import config as cfg
from console.clock import ManualClock
from console.demo.servers import PostgresServer
from console.journal import Journal
from console.live import LiveState
from console.sources.base import build_feeds
from console.triage.builtins import all_playbooks
from console.triage.engine import TriageEngine
from console.triage.suggest import suggest
from tests.helpers import until

DB = "ic_triage"
NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
INCIDENT = "INC-20261129-0300"


@pytest.fixture(scope="module")
def database(pg_server: PostgresServer) -> Iterator[str]:
    async def run(sql: str) -> None:
        admin = await asyncpg.connect(pg_server.dsn)
        try:
            await admin.execute(sql)
        finally:
            await admin.close()

    asyncio.run(run(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
    asyncio.run(run(f"CREATE DATABASE {DB}"))
    yield f"postgresql://postgres@{pg_server.host}:{pg_server.port}/{DB}"
    asyncio.run(run(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))


@pytest.fixture
async def sessions(database: str) -> AsyncIterator[list[asyncpg.Connection]]:
    conns: list[asyncpg.Connection] = []
    yield conns
    for conn in conns:
        conn.terminate()


class World:
    """The config, a live state fed by the real PostgreSQL source, the runner and a triage engine's clock."""

    def __init__(self, tmp_path: Path, sections: str) -> None:
        path = tmp_path / "config.toml"
        path.write_text(f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n{sections}')
        self.config = cfg.load(path)
        self.clock = ManualClock(NOW)
        self.live = LiveState(self.clock)
        self.runner = build_runner(self.config, clock=self.clock.now)
        self.journal = Journal(tmp_path / "journal.jsonl", clock=self.clock.now)
        self.feeds = build_feeds(self.config, self.clock)

    async def poll(self) -> None:
        self.live.update([await source.poll() for source in self.feeds.polled])

    async def run_proposal(self, engine: TriageEngine) -> None:
        proposal = engine.proposal()
        assert proposal.error is None, proposal.error
        plan = await self.runner.plan(proposal.action, proposal.params)
        outcome = await self.runner.execute(plan, confirmed=True, typed=self.config.console.environment)
        assert outcome.ok, outcome.message
        engine.record_action(outcome.request_seq)

    def start(self, name: str) -> TriageEngine:
        """A run of the named playbook in an incident (an update step waits for an update posted in it)."""
        return TriageEngine.start(self.playbook(name), self.journal, self.live, self.clock, incident=INCIDENT)

    def playbook(self, name: str):
        playbooks, problems = all_playbooks(self.config)
        assert problems == []
        return next(p for p in playbooks if p.name == name)


async def test_lock_contention_is_found_and_its_top_blocker_terminated(database: str, sessions, tmp_path) -> None:
    world = World(tmp_path, f'[postgres]\ndsn = "{database}"\n')
    holder = await asyncpg.connect(database, server_settings={"application_name": "billing"})
    waiter = await asyncpg.connect(database, server_settings={"application_name": "billing"})
    sessions.extend([holder, waiter])
    await holder.execute("CREATE TABLE IF NOT EXISTS accounts (id int primary key, total int)")
    await holder.execute("INSERT INTO accounts VALUES (1, 0) ON CONFLICT DO NOTHING")
    await holder.execute("BEGIN; UPDATE accounts SET total = total + 1 WHERE id = 1")
    blocked = asyncio.create_task(waiter.execute("UPDATE accounts SET total = total + 2 WHERE id = 1"))
    holder_pid = holder.get_server_pid()

    async def blocked_seen() -> bool:
        await world.poll()
        return bool(world.live.check("postgres", "blocked").number)

    await until(blocked_seen, 10, "the blocked session seen")

    suggested = suggest(all_playbooks(world.config)[0], world.live)
    assert suggested[0].playbook.name == "pg-locks"
    engine = world.start("pg-locks")
    assert engine.poll().step.id == "chain"
    engine.proceed(step="chain")
    assert engine.poll().step.id == "decide"
    engine.answer("terminate its session")
    view = engine.poll()
    assert view.proposal.action == "terminate" and view.proposal.params == {"pid": holder_pid}
    await world.run_proposal(engine)
    await asyncio.wait_for(blocked, 5)  # the waiter got its lock
    await world.poll()
    assert engine.poll().step.id == "verify"
    world.clock.advance(31)
    await world.poll()
    assert engine.poll().step.id == "update"
    results = [(t.step, t.result) for t in engine.state.transitions]
    assert results == [
        ("blocked", "pass"),
        ("chain", "done"),
        ("decide", "answered"),
        ("terminate", "pass"),
        ("verify", "pass"),
    ]
    kinds = [e["kind"] for e in world.journal.entries()]
    assert kinds.count("action.completed") == 1 and kinds[0] == "triage.started"
    await world.feeds.aclose()


async def test_a_pile_of_idle_sessions_is_found_and_killed(database: str, sessions, tmp_path) -> None:
    world = World(tmp_path, f'[postgres]\ndsn = "{database}"\npool_warn_pct = 2\nidle_older_than = "1s"\n')
    sessions.extend([await asyncpg.connect(database, server_settings={"application_name": "pile"}) for _ in range(8)])
    await asyncio.sleep(1.2)  # a sleep by design: the sessions idle for longer than idle_older_than = 1s
    await world.poll()
    assert world.live.check("postgres", "connections").state.value in ("warn", "crit")
    engine = world.start("pg-connections")
    for look in ("idle", "idle-in-xact"):
        assert engine.poll().step.id == look
        engine.proceed(step=look)
    engine.answer("idle only")
    view = engine.poll()
    assert view.proposal.action == "kill-idle"
    await world.run_proposal(engine)

    async def connections_ok() -> bool:
        await world.poll()
        return world.live.check("postgres", "connections").state.value == "ok"

    await until(connections_ok, 10, "the connections back to OK")
    assert engine.poll().step.id == "verify"
    world.clock.advance(61)
    await world.poll()
    assert engine.poll().step.id == "update"
    done = next(e for e in world.journal.entries() if e["kind"] == "action.completed")
    assert done["data"]["counts"]["terminated"] >= 8
    await world.feeds.aclose()


async def test_a_cache_near_maxmemory_is_found_and_the_named_pattern_flushed(tmp_path) -> None:
    import redis.asyncio as aioredis

    from console.demo.servers import RedisServer

    with RedisServer() as server:
        client = aioredis.from_url(server.url)
        await client.config_set("maxmemory", "4mb")
        await client.config_set("maxmemory-policy", "noeviction")
        await client.set("config:keep", "1")
        pipe = client.pipeline(transaction=False)
        for n in range(4000):
            pipe.set(f"session:{n}", "x" * 1000)
        await pipe.execute(raise_on_error=False)
        world = World(tmp_path, f'[redis]\nurl = "{server.url}"\n')
        await world.poll()
        assert world.live.check("redis", "memory").state.value in ("warn", "crit")
        engine = world.start("redis-degraded")
        assert engine.poll().step.id == "keys"
        engine.proceed(step="keys")
        engine.answer("session:*")
        assert engine.poll().proposal.params == {"pattern": "session:*"}
        await world.run_proposal(engine)
        await world.poll()
        assert engine.poll().step.id == "verify"
        world.clock.advance(31)
        await world.poll()
        assert engine.poll().step.id == "update"
        assert await client.exists("config:keep") == 1 and await client.dbsize() == 1
        await client.aclose()
        await world.feeds.aclose()
