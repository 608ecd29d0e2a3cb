"""kill-idle, cancel-query and terminate through the real runner and journal, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from actions.base import ParamError
from actions.registry import build_runner
from actions.runner import ActionRefused, Runner
from console import cli
from console import config as cfg
from console.demo.servers import PostgresServer
from console.journal import Journal
from console.models import ConfirmLevel, OutcomeStatus
from tests.helpers import until

DB = "ic_actions"


def dsn(server: PostgresServer, user: str = "postgres") -> str:
    return f"postgresql://{user}@{server.host}:{server.port}/{DB}"


def write_config(tmp_path: Path, url: str, environment: str = "staging") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "{environment}"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[postgres]\ndsn = "{url}"\nidle_older_than = "1h"\n'
    )
    return path


def make_runner(tmp_path: Path, url: str, environment: str = "staging") -> Runner:
    return build_runner(cfg.load(write_config(tmp_path, url, environment)))


@pytest.fixture(scope="module")
def database(pg_server: PostgresServer) -> Iterator[PostgresServer]:
    async def run(sql: str) -> None:
        admin = await asyncpg.connect(pg_server.dsn)
        try:
            await admin.execute(sql)
        finally:
            await admin.close()

    asyncio.run(run(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
    asyncio.run(run(f"CREATE DATABASE {DB}"))
    yield pg_server
    asyncio.run(run(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))


@pytest.fixture
async def opened(database: PostgresServer) -> AsyncIterator[list[asyncpg.Connection]]:
    """Connections a test opens; afterwards every backend on the test database is terminated."""
    conns: list[asyncpg.Connection] = []
    yield conns
    for conn in conns:
        conn.terminate()
    admin = await asyncpg.connect(database.dsn)
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", DB
    )
    await admin.close()


async def connect(opened: list, url: str, app: str, n: int = 1) -> list[asyncpg.Connection]:
    new = [await asyncpg.connect(url, server_settings={"application_name": app}) for _ in range(n)]
    opened.extend(new)
    return new


async def live_pids(server: PostgresServer) -> set[int]:
    admin = await asyncpg.connect(server.dsn)
    try:
        rows = await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", DB)
    finally:
        await admin.close()
    return {r["pid"] for r in rows}


async def wait_gone(server: PostgresServer, pids: set[int]) -> set[int]:
    """The `pids` still connected once they are all gone, or after 2 s."""
    with contextlib.suppress(AssertionError):
        await until(lambda: _none_of(server, pids), timeout=2)
    return pids & await live_pids(server)


async def _none_of(server: PostgresServer, pids: set[int]) -> bool:
    return not pids & await live_pids(server)


async def sessions_of(server: PostgresServer, where: str, *args: object) -> int:
    admin = await asyncpg.connect(server.dsn)
    try:
        return await admin.fetchval(f"SELECT count(*) FROM pg_stat_activity WHERE {where}", *args)
    finally:
        await admin.close()


async def test_kill_idle_terminates_exactly_the_idle_sessions(
    database: PostgresServer, opened: list, tmp_path: Path
) -> None:
    url = dsn(database)
    idle = await connect(opened, url, "leaky-app", 41)
    for i, conn in enumerate(idle):
        await conn.execute(f"SELECT 'leak-{i}'")
    active = await connect(opened, url, "report-job", 3)
    sleeps = [asyncio.create_task(c.execute("SELECT pg_sleep(20)")) for c in active]
    (in_tx,) = await connect(opened, url, "billing")
    await in_tx.execute("BEGIN; SELECT 1")
    (console_conn,) = await connect(opened, url, "incident-console")
    await asyncio.sleep(1.1)  # a sleep by design: the sessions idle for longer than older_than = 1s

    runner = make_runner(tmp_path, url, environment="production")
    plan = await runner.plan("kill-idle", {"older_than": "1s", "database": DB})
    idle_pids = {c.get_server_pid() for c in idle}
    assert {int(row[0]) for row in plan.rows} == idle_pids
    assert plan.confirm is ConfirmLevel.TYPED and plan.confirm_text == "production"
    assert {row[-1] for row in plan.rows} == {f"SELECT 'leak-{i}'" for i in range(41)}

    survivor = idle[0]
    await survivor.execute("SELECT 'busy again'")  # between preview and execute
    with pytest.raises(ActionRefused, match="typed confirmation"):
        await runner.execute(plan, confirmed=True, typed="prod")
    assert idle_pids <= await live_pids(database)

    outcome = await runner.execute(plan, confirmed=True, typed="production")
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
    assert outcome.counts == {"terminated": 40, "skipped": 1, "failed": 0}
    assert f"pid {survivor.get_server_pid()}: skipped: ran a query since the preview" in outcome.output_tail
    killed = idle_pids - {survivor.get_server_pid()}
    assert await wait_gone(database, killed) == set()
    others = {survivor, *active, in_tx, console_conn}
    assert {c.get_server_pid() for c in others} <= await live_pids(database)
    assert await survivor.fetchval("SELECT 'still here'") == "still here"
    assert await in_tx.fetchval("SELECT 2") == 2 and in_tx.is_in_transaction()
    assert await console_conn.fetchval("SELECT 3") == 3
    assert not any(t.done() for t in sleeps)

    requested, done = [e for e in Journal(tmp_path / "journal.jsonl").entries() if e["kind"].startswith("action.")][-2:]
    assert requested["kind"] == "action.requested" and requested["data"]["targets_total"] == 41
    assert {int(row[0]) for row in requested["data"]["targets"]} == idle_pids
    assert "SELECT 'leak-7'" in {row[-1] for row in requested["data"]["targets"]}
    assert done["kind"] == "action.completed" and done["data"]["counts"]["terminated"] == 40
    for task in sleeps:
        task.cancel()


async def test_include_idle_in_transaction_and_filters(database: PostgresServer, opened: list, tmp_path: Path) -> None:
    url = dsn(database)
    (in_tx,) = await connect(opened, url, "billing")
    await in_tx.execute("BEGIN; SELECT 1")
    (plain,) = await connect(opened, url, "billing")
    (other_app,) = await connect(opened, url, "cron")
    await asyncio.sleep(1.1)  # a sleep by design: the sessions idle for longer than older_than = 1s
    runner = make_runner(tmp_path, url)
    plan = await runner.plan("kill-idle", {"older_than": "1s", "database": DB, "application": "billing"})
    assert [int(r[0]) for r in plan.rows] == [plain.get_server_pid()]
    plan = await runner.plan(
        "kill-idle",
        {"older_than": "1s", "database": DB, "application": "billing", "include_idle_in_transaction": "true"},
    )
    assert {int(r[0]) for r in plan.rows} == {plain.get_server_pid(), in_tx.get_server_pid()}
    assert plan.confirm is ConfirmLevel.YES
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.counts["terminated"] == 2
    assert await wait_gone(database, {plain.get_server_pid(), in_tx.get_server_pid()}) == set()
    assert other_app.get_server_pid() in await live_pids(database)


async def test_superuser_backends_fail_with_the_reason_for_a_plain_role(
    database: PostgresServer, opened: list, tmp_path: Path
) -> None:
    admin = await asyncpg.connect(database.dsn)
    await admin.execute("DROP ROLE IF EXISTS ic_killer; DROP ROLE IF EXISTS ic_victim")
    await admin.execute("CREATE ROLE ic_killer LOGIN IN ROLE pg_signal_backend, pg_read_all_stats")
    await admin.execute("CREATE ROLE ic_victim LOGIN")
    try:
        supers = await connect(opened, dsn(database), "mixed", 2)
        (victim,) = await connect(opened, dsn(database, "ic_victim"), "mixed")
        await asyncio.sleep(1.1)  # a sleep by design: the sessions idle for longer than older_than = 1s
        runner = make_runner(tmp_path, dsn(database, "ic_killer"))
        plan = await runner.plan("kill-idle", {"older_than": "1s", "database": DB, "application": "mixed"})
        assert len(plan.rows) == 3
        outcome = await runner.execute(plan, confirmed=True)
        assert outcome.counts == {"terminated": 1, "skipped": 0, "failed": 2}
        assert all("insufficient privilege" in line for line in outcome.output_tail)
        assert await wait_gone(database, {victim.get_server_pid()}) == set()
        assert {c.get_server_pid() for c in supers} <= await live_pids(database)
    finally:
        for conn in opened:
            conn.terminate()
        opened.clear()
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename IN ('ic_killer', 'ic_victim')"
        )
        await until(lambda: _no_sessions_of_the_roles(admin))  # DROP ROLE refuses a role still connected
        await admin.execute("DROP ROLE ic_killer; DROP ROLE ic_victim")
        await admin.close()


async def _no_sessions_of_the_roles(admin: asyncpg.Connection) -> bool:
    roles = ("ic_killer", "ic_victim")
    return not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE usename = ANY($1)", roles)


async def test_cancel_query_and_terminate_by_pid(database: PostgresServer, opened: list, tmp_path: Path) -> None:
    url = dsn(database)
    runner = make_runner(tmp_path, url)
    busy, idle = await connect(opened, url, "report-job", 2)
    sleeping = asyncio.create_task(busy.execute("SELECT pg_sleep(20)"))
    await until(lambda: sessions_of(database, "pid = $1 AND state = 'active'", busy.get_server_pid()))
    plan = await runner.plan("cancel-query", {"pid": str(busy.get_server_pid())})
    assert plan.rows[0][0] == str(busy.get_server_pid()) and plan.rows[0][-1] == "SELECT pg_sleep(20)"
    assert plan.confirm is ConfirmLevel.YES
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.counts == {"cancelled": 1, "skipped": 0, "failed": 0}
    with pytest.raises(asyncpg.QueryCanceledError):
        await sleeping
    assert await busy.fetchval("SELECT 1") == 1  # cancelled, not disconnected

    with pytest.raises(ParamError, match="no query to cancel"):
        await runner.plan("cancel-query", {"pid": idle.get_server_pid()})
    plan = await runner.plan("terminate", {"pid": f"{idle.get_server_pid()}"})
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.counts["terminated"] == 1
    assert await wait_gone(database, {idle.get_server_pid()}) == set()


async def test_never_the_console_itself_nor_a_server_process(
    database: PostgresServer, opened: list, tmp_path: Path
) -> None:
    runner = make_runner(tmp_path, dsn(database))
    (console_conn,) = await connect(opened, dsn(database), "incident-console")
    with pytest.raises(ParamError, match="this console's own session"):
        await runner.plan("terminate", {"pid": console_conn.get_server_pid()})
    checkpointer = await console_conn.fetchval("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
    with pytest.raises(ParamError, match="checkpointer process, not a client session"):
        await runner.plan("terminate", {"pid": checkpointer})
    with pytest.raises(ParamError, match="no backend with pid 1"):
        await runner.plan("terminate", {"pid": 1})
    plan = await runner.plan("kill-idle", {"older_than": "0s", "database": DB})
    assert str(console_conn.get_server_pid()) not in {r[0] for r in plan.rows}


async def test_headless_dry_run(database: PostgresServer, opened: list, tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path, dsn(database))
    loop = asyncio.get_running_loop()
    code = await loop.run_in_executor(
        None, cli.main, ["run", "kill-idle", "--config", str(path), "--older-than", "10m", "--dry-run"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "kill-idle on staging: terminate 0 sessions idle for more than 10m 00s" in out
    assert "dry run: nothing was run" in out

    waiting = await connect(opened, dsn(database), "leaky-app", 2)
    await asyncio.sleep(1.1)  # a sleep by design: the sessions idle for longer than older_than = 1s
    code = await loop.run_in_executor(
        None,
        cli.main,
        ["run", "kill-idle", "--config", str(path), "--older-than", "1s", "--database", DB, "--dry-run"],
    )
    out = capsys.readouterr().out
    assert code == 0 and "terminate 2 sessions" in out
    assert all(str(c.get_server_pid()) in out for c in waiting)
    assert {c.get_server_pid() for c in waiting} <= await live_pids(database)
