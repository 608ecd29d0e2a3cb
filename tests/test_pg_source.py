"""PostgresSource against real servers: sessions, locks, privileges, pg_stat_statements states, restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import asyncpg
import pytest
from conftest import running

from console.clock import ManualClock
from console.config import PostgresSettings
from console.demo.pg_workload import PgWorkload
from console.demo.servers import PostgresServer
from console.models import State
from console.models.postgres import LockNode, PgThresholds, PostgresSnapshot
from console.sources.postgres import PostgresSource
from tests.helpers import until

DB = "ic_source"


def dsn(server: PostgresServer, database: str = DB, user: str = "postgres") -> str:
    return f"postgresql://{user}@{server.host}:{server.port}/{database}"


def settings(url: str, **overrides: str) -> PostgresSettings:
    return PostgresSettings(dsn=url, **{"statement_timeout": "2s", **overrides})


@pytest.fixture(scope="module")
def database(pg_server: PostgresServer) -> Iterator[PostgresServer]:
    """A database of this module's own on the shared server, with a small table to lock."""

    async def setup() -> None:
        admin = await asyncpg.connect(pg_server.dsn)
        await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DB}")
        await admin.close()
        conn = await asyncpg.connect(dsn(pg_server))
        await conn.execute(
            "CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 0)"
        )
        await conn.close()

    async def teardown() -> None:
        admin = await asyncpg.connect(pg_server.dsn)
        await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        await admin.close()

    asyncio.run(setup())
    yield pg_server
    asyncio.run(teardown())


@pytest.fixture(scope="module")
def bare_server() -> Iterator[PostgresServer]:
    """A server of this module's own, without pg_stat_statements preloaded: restarted and killed freely."""
    yield from running(PostgresServer(max_connections=20, extra_conf={"shared_preload_libraries": ""}))


@pytest.fixture
async def source(database: PostgresServer) -> AsyncIterator[PostgresSource]:
    src = PostgresSource(settings(dsn(database), long_running="500ms", idle_older_than="500ms"))
    yield src
    await src.close()


async def connections(url: str, n: int, app: str) -> list[asyncpg.Connection]:
    return [await asyncpg.connect(url, server_settings={"application_name": app}) for _ in range(n)]


async def test_sessions_connections_thresholds_and_own_backend(database: PostgresServer) -> None:
    clock = ManualClock(datetime(2025, 1, 15, 3, 0, tzinfo=UTC))
    src = PostgresSource(settings(dsn(database), long_running="500ms", idle_older_than="500ms"), clock)
    idle = await connections(dsn(database), 3, "shop-api")
    for i, conn in enumerate(idle):
        await conn.execute(f"SELECT 'idle-{i}'")
    sleeper = (await connections(dsn(database), 1, "report-job"))[0]
    sleeping = asyncio.create_task(sleeper.execute("SELECT pg_sleep(5)"))
    try:
        await asyncio.sleep(0.8)  # a sleep by design: the sessions grow older than the 500 ms thresholds
        snap = await src.poll()
        assert snap.state is not State.DOWN, snap.reason
        assert snap.taken_at == clock.now()
        assert snap.server_version_num >= 100000 and snap.superuser and snap.privileged
        assert snap.missing_grant is None and snap.statements_status is None
        own = [s for s in snap.sessions if s.own]
        assert own and all(s.application == "incident-console" and not s.killable for s in own)
        idle_pids = {c.get_server_pid() for c in idle}
        assert idle_pids <= {s.pid for s in snap.idle_over_threshold}
        assert {s.query for s in snap.idle_over_threshold if s.pid in idle_pids} == {
            "SELECT 'idle-0'",
            "SELECT 'idle-1'",
            "SELECT 'idle-2'",
        }
        assert [s.pid for s in snap.long_running] == [sleeper.get_server_pid()]
        # display order, as the server sorts it: client sessions first, busy before idle, longest first, then pid
        order = [(not s.is_client, s.state == "idle", -(s.duration_seconds or 0.0), s.pid) for s in snap.sessions]
        assert order == sorted(order) and not snap.sessions[-1].is_client
        assert snap.by_application["shop-api"] == 3 and snap.by_application["report-job"] == 1
        assert snap.connections["idle"] >= 3 and snap.connections["active"] >= 2
        assert snap.max_connections == database.max_connections
        assert 0 < snap.connections_pct < 100 and snap.db_size_bytes > 0
        checks = {c.name: c for c in snap.checks()}
        assert checks["long-running"].state is State.WARN and checks["long-running"].value == "1"
        assert checks["connections"].state is State.OK and checks["blocked"].state is State.OK
        assert not any(s.pid in idle_pids for s in snap.long_running)
    finally:
        sleeping.cancel()
        for conn in [*idle, sleeper]:
            conn.terminate()
        await src.close()


PROBE = "/* rate-probe */ SELECT pg_sleep(0.001)"


def descendants(node: LockNode) -> set[int]:
    return {pid for w in node.waiters for pid in {w.session.pid} | descendants(w)}


async def test_lock_chain_becomes_a_tree(database: PostgresServer, source: PostgresSource) -> None:
    holder, *waiters = await connections(dsn(database), 3, "billing")
    await holder.execute("BEGIN; UPDATE accounts SET balance = balance + 1 WHERE id = 1")
    tasks = [asyncio.create_task(w.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 1")) for w in waiters]
    try:
        snap = await source.poll()

        async def both_blocked() -> bool:
            nonlocal snap
            snap = await source.poll()
            return len(snap.blocked) == 2

        await until(both_blocked, 10, "both waiters blocked")
        assert len(snap.locks) == 1
        root = snap.locks[0]
        assert root.session.pid == holder.get_server_pid()
        assert root.session.state == "idle in transaction"
        assert root.count() == 3
        assert descendants(root) == {w.get_server_pid() for w in waiters}
        assert snap.connections["waiting"] == 2
        assert {c.name: c.state for c in snap.checks()}["blocked"] is State.WARN
    finally:
        await holder.execute("ROLLBACK")
        await asyncio.gather(*tasks)
        for conn in [holder, *waiters]:
            await conn.close()


async def test_a_role_without_pg_read_all_stats_gets_the_grant_to_run(database: PostgresServer) -> None:
    admin = await asyncpg.connect(dsn(database))
    await admin.execute("DROP ROLE IF EXISTS ic_plain; DROP ROLE IF EXISTS ic_monitor")
    await admin.execute("CREATE ROLE ic_plain LOGIN; CREATE ROLE ic_monitor LOGIN IN ROLE pg_monitor")
    other = await asyncpg.connect(dsn(database), server_settings={"application_name": "secret-app"})
    plain = PostgresSource(settings(dsn(database, user="ic_plain")))
    monitor = PostgresSource(settings(dsn(database, user="ic_monitor")))
    try:
        snap = await plain.poll()
        assert snap.state is not State.DOWN, snap.reason
        assert not snap.privileged and snap.missing_grant == "GRANT pg_read_all_stats TO ic_plain;"
        hidden = next(s for s in snap.sessions if s.pid == other.get_server_pid())
        assert hidden.hidden and hidden.state is None and hidden.query == "<insufficient privilege>"
        snap = await monitor.poll()
        assert snap.privileged and snap.missing_grant is None
        seen = next(s for s in snap.sessions if s.pid == other.get_server_pid())
        assert seen.application == "secret-app" and seen.state == "idle"
    finally:
        await plain.close()
        await monitor.close()
        await other.close()
        await admin.execute("DROP ROLE ic_plain; DROP ROLE ic_monitor")
        await admin.close()


async def test_pg_stat_statements_not_created_gives_the_two_steps(database: PostgresServer) -> None:
    admin = await asyncpg.connect(database.dsn)
    await admin.execute("DROP DATABASE IF EXISTS ic_nostats WITH (FORCE)")
    await admin.execute("CREATE DATABASE ic_nostats TEMPLATE template0")
    src = PostgresSource(settings(dsn(database, "ic_nostats")))
    try:
        snap = await src.poll()
        assert snap.state is not State.DOWN and snap.statements == []
        assert snap.statements_status == (
            "pg_stat_statements is loaded but not created in database ic_nostats. 1. in postgresql.conf set "
            "shared_preload_libraries = 'pg_stat_statements' and restart PostgreSQL (done); 2. in database "
            "ic_nostats run: CREATE EXTENSION pg_stat_statements;"
        )
    finally:
        await src.close()
        await admin.execute("DROP DATABASE ic_nostats WITH (FORCE)")
        await admin.close()


async def test_stats_reset_between_refreshes_gives_no_negative_rates(
    database: PostgresServer, source: PostgresSource
) -> None:
    conn = await asyncpg.connect(dsn(database))
    await conn.execute("SELECT pg_stat_statements_reset()")  # a clean top list: only this test's statements
    try:
        for _ in range(30):
            await conn.fetchval(PROBE)
        await source.poll()
        for _ in range(20):
            await conn.fetchval(PROBE)
        snap = await source.poll()
        probe = next(s for s in snap.statements if "rate-probe" in s.query)
        assert probe.calls >= 50 and probe.calls_per_s is not None and probe.calls_per_s > 0
        assert not any("incident-console" in s.query for s in snap.statements)
        await conn.execute("SELECT pg_stat_statements_reset()")
        for _ in range(3):
            await conn.fetchval(PROBE)
        snap = await source.poll()
        probe = next(s for s in snap.statements if "rate-probe" in s.query)
        assert probe.calls == 3 and probe.calls_per_s is None and probe.time_per_s is None
        rates = [r for s in snap.statements for r in (s.calls_per_s, s.time_per_s) if r is not None]
        assert all(r >= 0 for r in rates)
        snap = await source.poll()
        assert all(r >= 0 for s in snap.statements for r in (s.calls_per_s, s.time_per_s) if r is not None)
    finally:
        await conn.close()


async def test_pg_stat_statements_not_loaded_gives_the_two_steps(bare_server: PostgresServer) -> None:
    src = PostgresSource(settings(bare_server.dsn))
    try:
        snap = await src.poll()
        assert snap.state is not State.DOWN, snap.reason
        assert snap.statements_status is not None
        assert snap.statements_status.startswith("pg_stat_statements is not loaded. 1.")
        assert "restart PostgreSQL;" in snap.statements_status
        assert "run: CREATE EXTENSION pg_stat_statements; (done)" in snap.statements_status
    finally:
        await src.close()


async def test_down_quickly_then_recovered_within_two_polls(bare_server: PostgresServer) -> None:
    src = PostgresSource(settings(bare_server.dsn))
    try:
        assert (await src.poll()).state is not State.DOWN
        bare_server.kill()
        started = time.monotonic()
        snap = await src.poll()
        assert snap.state is State.DOWN and time.monotonic() - started < 1.0
        assert "connection refused" in snap.reason and bare_server.dsn.split("@")[1].split("/")[0] in snap.reason
        assert [c.state for c in snap.checks()] == [State.DOWN]
        bare_server.start_again()  # it answers again when this returns
        states = []
        for _ in range(2):
            await asyncio.sleep(0.5)  # a sleep by design: a refresh interval (shortened); seen within two of them
            states.append((await src.poll()).state)
        assert states[-1] is not State.DOWN, states
        bare_server.restart()
        states = []
        for _ in range(2):
            states.append((await src.poll()).state)
            await asyncio.sleep(0.5)  # a sleep by design: a refresh interval (shortened)
        assert states[-1] is not State.DOWN, states
    finally:
        await src.close()


async def test_demo_workload_piles_idle_sessions_holds_a_lock_chain_and_stops_clean(
    database: PostgresServer, source: PostgresSource
) -> None:
    workload = PgWorkload(dsn(database), idle_every=0.05, idle_max=5, slow_every=0.1)
    await workload.start()
    try:
        snap = await source.poll()

        async def piled_and_blocked() -> bool:
            nonlocal snap
            snap = await source.poll()
            return snap.by_application.get("demo-worker", 0) >= 5 and len(snap.blocked) == 2

        await until(piled_and_blocked, 15, "the idle sessions piled up and the lock chain held")
        assert snap.by_application["demo-worker"] == 5
        assert len(snap.locks) == 1 and snap.locks[0].session.application == "demo-billing"
        assert any("demo.orders" in s.query for s in snap.statements)
    finally:
        await workload.stop()

    async def none_left() -> bool:
        return not [s for s in (await source.poll()).sessions if s.application.startswith("demo-")]

    await until(none_left, 10, "the workload's sessions gone")


def test_checks_follow_the_thresholds() -> None:
    snap = PostgresSnapshot(
        state=State.OK,
        max_connections=100,
        connections={"active": 85, "waiting": 3},
        cache_hit_pct=93.0,
        cache_blocks=50_000,
        thresholds=PgThresholds(pool_warn_pct=80),
    )
    checks = {c.name: c for c in snap.checks()}
    assert (checks["connections"].state, checks["connections"].value) == (State.WARN, "85%")
    assert checks["cache hit"].state is State.WARN and snap.judged().state is State.WARN
    crowded = snap.model_copy(update={"connections": {"active": 96}, "cache_blocks": 100})
    checks = {c.name: c for c in crowded.checks()}
    assert checks["connections"].state is State.CRIT and crowded.judged().state is State.CRIT
    assert checks["cache hit"].state is State.OK and checks["cache hit"].reason.startswith("warming up")
