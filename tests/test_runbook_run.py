"""Runbook steps run through the runner: real bash, the real PostgreSQL and Redis, the real CLI."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from actions import runbook_sql as sql
from actions.base import ParamError, Progress
from actions.registry import build_runner
from actions.runbook import RunbookStep
from actions.runner import ActionRefused, Runner
from console import config as cfg
from console.demo.servers import PostgresServer, RedisServer
from console.journal import Journal
from console.models import ConfirmLevel, OutcomeStatus, Risk
from console.runbooks.library import load_runbooks
from console.runbooks.model import load_runbook
from tests.helpers import CLI, cli

ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "runbooks"
DB = "ic_runbooks"
REDIS_DB = 15  # test_redis_flush cycles 1-13 and test_redis_source uses 14
HOSTILE = ("x; touch {p}1", "$(touch {p}2)", "`touch {p}3`", "a\ntouch {p}4", "'; touch {p}5; '", '"; touch {p}6; "')


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n{extra}')
    return path


def runner_for(tmp_path: Path, book_path: Path, step_id: str, extra: str = "") -> tuple[Runner, str]:
    """A runner on a fresh config with the step's action added, as `runbook run` does."""
    runner = build_runner(cfg.load(write_config(tmp_path, extra), environ={}))
    action = RunbookStep(load_runbook(book_path, {}), load_runbook(book_path, {}).step(step_id))
    runner.actions[action.name] = action
    return runner, action.name


def journal(tmp_path: Path) -> list[dict]:
    path = tmp_path / "journal.jsonl"
    return list(Journal(path).entries()) if path.exists() else []


async def test_hostile_values_stay_values_in_every_quoting_context(tmp_path: Path) -> None:
    side = tmp_path / "pwned"
    value = " ".join(HOSTILE).format(p=side)
    runner, name = runner_for(tmp_path, FIXTURES / "inject.md", "echo-values")
    plan = await runner.plan(name, {"value": value})
    assert plan.risk is Risk.READ and plan.confirm is ConfirmLevel.NONE
    assert "RB_VALUE" in plan.detail["script"] and str(side) not in plan.detail["script"]
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
    assert not list(tmp_path.glob("pwned*"))
    flat = outcome.output_tail
    assert flat[0] == f"[x; touch {side}1 $(touch {side}2) `touch {side}3` a"
    assert any(line.startswith("[in single x; touch") for line in flat)
    assert any(line.startswith("heredoc x; touch") for line in flat)


async def test_every_run_is_journaled_with_the_runbook_and_the_outcome(tmp_path: Path) -> None:
    book = load_runbook(FIXTURES / "steps.md", {})
    runner, name = runner_for(tmp_path, FIXTURES / "steps.md", "fail")
    outcome = await runner.execute(await runner.plan(name, {}), confirmed=True)
    assert outcome.status is OutcomeStatus.FAILED and outcome.exit_code == 3
    requested, finished = journal(tmp_path)
    assert requested["kind"] == "action.requested"
    assert requested["data"]["params"] == {
        "runbook": str(FIXTURES / "steps.md"),
        "sha256": book.sha256,
        "section": "Fail on purpose",
        "line": 24,
        "fence_line": 23,
        "step": "fail",
        "kind": "shell",
        "command": 'echo "about to fail"\nexit 3',
        "mode": "run",
        "values": {},
    }
    assert finished["kind"] == "action.failed"
    assert finished["data"]["exit_code"] == 3 and finished["data"]["output_tail"] == ["about to fail"]


async def test_a_destructive_step_needs_the_typed_environment(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.write_text("x")
    runner, name = runner_for(tmp_path, FIXTURES / "steps.md", "unmark")
    plan = await runner.plan(name, {"path": str(marker)})
    assert plan.risk is Risk.DESTRUCTIVE and plan.confirm is ConfirmLevel.TYPED
    assert plan.summary.endswith("destructive: `rm -f <path>` removes files")
    assert plan.rows == [["1", f"rm -f {marker}"]]
    with pytest.raises(ActionRefused, match="typed confirmation does not match 'staging'"):
        await runner.execute(plan, confirmed=True, typed="prod")
    assert marker.exists() and journal(tmp_path) == []
    outcome = await runner.execute(plan, confirmed=True, typed="staging")
    assert outcome.status is OutcomeStatus.COMPLETED and not marker.exists()


async def test_a_nul_in_a_value_is_refused_before_anything_runs(tmp_path: Path) -> None:
    runner, name = runner_for(tmp_path, FIXTURES / "steps.md", "hello")
    with pytest.raises(ParamError, match="--who: a NUL byte cannot be passed; refused"):
        await runner.plan(name, {"who": "a\0b"})
    with pytest.raises(ParamError, match="--who is required"):
        await runner.plan(name, {})


async def test_a_value_bash_would_evaluate_as_arithmetic_must_be_a_whole_number(tmp_path: Path) -> None:
    side = tmp_path / "pwned"
    runner, name = runner_for(tmp_path, FIXTURES / "steps.md", "count")
    with pytest.raises(ParamError, match=r"`--n` is `a\[\$\(touch .*\)\]`: bash evaluates it as arithmetic"):
        await runner.plan(name, {"n": f"a[$(touch {side})]"})
    outcome = await runner.execute(await runner.plan(name, {"n": "41"}), confirmed=True)
    assert outcome.output_tail == ["next: 42"] and not side.exists()


async def test_an_unclosed_fence_or_a_changed_file_is_refused(tmp_path: Path) -> None:
    runner, name = runner_for(tmp_path, FIXTURES / "unclosed.md", "the-rest-1")
    with pytest.raises(ActionRefused, match="the fence at line 11 is never closed"):
        await runner.plan(name, {})
    copy = tmp_path / "steps.md"
    shutil.copy(FIXTURES / "steps.md", copy)
    runner, name = runner_for(tmp_path, copy, "hello")
    copy.write_text(copy.read_text().replace("hello", "goodbye"))
    with pytest.raises(ActionRefused, match="changed since it was loaded; reload it"):
        await runner.plan(name, {"who": "you"})
    assert journal(tmp_path) == []


async def test_an_sql_step_without_postgres_in_the_config_is_refused(tmp_path: Path) -> None:
    runner, name = runner_for(tmp_path, FIXTURES / "sql.md", "echo-a-word-1")
    with pytest.raises(ParamError, match=r"the config has no \[postgres\] section to run SQL on"):
        await runner.plan(name, {"word": "x"})


async def test_a_failing_command_stops_the_step_and_the_outcome_names_its_runbook_line(tmp_path: Path) -> None:
    runner, name = runner_for(tmp_path, FIXTURES / "errexit.md", "middle")
    plan = await runner.plan(name, {})
    assert plan.rows == [["1", "echo before"], ["2", "false; echo after"], ["3", "echo never"]]
    assert any("runs under `set -eo pipefail`: stops at the first failing command" in n for n in plan.notes)
    outcome = await runner.execute(plan, confirmed=True)
    assert (outcome.status, outcome.exit_code) == (OutcomeStatus.FAILED, 1)
    assert outcome.message == "exit code 1 at line 7: false"
    assert outcome.output_tail == ["before", "runbook step failed at line 7 (of the runbook file): false"]
    assert journal(tmp_path)[-1]["data"]["message"] == "exit code 1 at line 7: false"
    runner, name = runner_for(tmp_path, FIXTURES / "errexit.md", "pipeline")
    outcome = await runner.execute(await runner.plan(name, {}), confirmed=True)
    assert outcome.status is OutcomeStatus.FAILED and outcome.message == "exit code 2 at line 23: cat"
    assert "never" not in outcome.output_tail


async def test_a_loop_that_never_ends_is_followed_until_the_operator_ends_it(tmp_path: Path) -> None:
    path = tmp_path / "loops.md"
    path.write_text("# Loops\n\n## Tick\n\n```bash\nwhile true; do echo tick; sleep 0.05; done\necho never\n```\n")
    path.chmod(0o600)
    assert load_runbook(path, {}).step("tick-1.2").command == "echo never"  # cut off: a step of its own
    runner, name = runner_for(tmp_path, path, "tick-1.1")
    plan = await runner.plan(name, {})
    assert plan.mode == "follow" and any("its output followed, no timeout" in n for n in plan.notes)
    progress = Progress()
    progress.listener = lambda event: progress.end_follow() if progress.lines >= 3 else None
    outcome = await asyncio.wait_for(runner.execute(plan, confirmed=True, progress=progress), 60)
    assert outcome.status is OutcomeStatus.COMPLETED
    assert outcome.message.startswith("stopped by the operator after ")
    assert set(outcome.output_tail) == {"tick"}


async def test_a_follow_that_timeout_bounds_ends_on_its_own_and_the_step_goes_on(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("line one\n")
    path = tmp_path / "bounded.md"
    path.write_text(
        f"# Bounded\n\n## Tail\n\n```bash\ntimeout 0.5 tail -f {log} || true\necho after\n```\n\n"
        f"## Bare\n\n```bash\ntimeout 0.5 tail -f {log}\necho after\n```\n"
    )
    path.chmod(0o600)
    assert [s.ref for s in load_runbook(path, {}).steps] == ["tail-1", "bare-1"]  # neither cut
    runner, name = runner_for(tmp_path, path, "tail-1")
    plan = await runner.plan(name, {})
    assert plan.mode == "follow"
    outcome = await asyncio.wait_for(runner.execute(plan, confirmed=True), 60)  # no end_follow: it ends itself
    assert (outcome.status, outcome.message, outcome.output_tail) == (
        OutcomeStatus.COMPLETED,
        "exit code 0",
        ["line one", "after"],
    )
    runner, name = runner_for(tmp_path, path, "bare-1")  # timeout's 124 stops the step under errexit
    outcome = await asyncio.wait_for(runner.execute(await runner.plan(name, {}), confirmed=True), 60)
    assert (outcome.status, outcome.exit_code) == (OutcomeStatus.FAILED, 124)
    assert "after" not in outcome.output_tail


async def test_a_block_that_sets_its_own_options_runs_as_written(tmp_path: Path) -> None:
    runner, name = runner_for(tmp_path, FIXTURES / "errexit.md", "own")
    plan = await runner.plan(name, {})
    assert any("the block sets its own shell options: run as written" in n for n in plan.notes)
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.status is OutcomeStatus.COMPLETED and outcome.message == "exit code 0"
    assert outcome.output_tail == ["runbook step failed at line 15 (of the runbook file): false", "still here"]


async def test_secret_values_reach_the_command_and_nothing_else(tmp_path: Path) -> None:
    token, key = "nextauth-s3cr3t-value", "gk-0123456789"
    runner, name = runner_for(tmp_path, FIXTURES / "errexit.md", "secret")
    assert runner.get(name).secret_params == {"nextauth_secret", "grafana_api_key"}
    plan = await runner.plan(name, {"nextauth_secret": token, "grafana_api_key": key, "user": "ops"})
    assert plan.params["values"] == {"nextauth_secret": "***", "grafana_api_key": "***", "user": "ops"}
    assert plan.rows[0] == ["1", 'echo "token *** key *** for ops"']
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
    assert outcome.output_tail == ["token *** key *** for ops", '{"key": ***}']  # as typed and as JSON
    written = (tmp_path / "journal.jsonl").read_text() + (tmp_path / "outputs" / "1.log").read_text()
    assert "for ops" in written and token not in written and key not in written


def test_a_secret_not_given_is_asked_on_the_terminal_without_echo(tmp_path: Path) -> None:
    token = "typed-s3cr3t-value"
    main, child = os.openpty()
    book = str(FIXTURES / "errexit.md")
    given = ["--grafana_api_key", "gk-0123456789", "--user", "ops", "--yes"]
    proc = subprocess.Popen(
        [*CLI, "runbook", "run", "--config", str(write_config(tmp_path)), book, "secret", *given],
        stdin=child,
        stdout=child,
        stderr=child,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(child)
    seen = b""
    while b"nextauth_secret (not shown): " not in seen:
        seen += os.read(main, 1024)
    os.write(main, token.encode() + b"\n")
    assert proc.wait(timeout=60) == 0
    with contextlib.suppress(OSError):  # the child has gone: EIO once everything is read
        while chunk := os.read(main, 4096):
            seen += chunk
    os.close(main)
    assert b"| token *** key *** for ops" in seen and token.encode() not in seen
    assert token not in (tmp_path / "journal.jsonl").read_text() + (tmp_path / "outputs" / "1.log").read_text()


def test_a_secret_read_from_the_environment_is_masked_too(tmp_path: Path) -> None:
    runbook = tmp_path / "env.md"
    runbook.write_text('# Env\n\n```bash {name=show}\necho "key=$GRAFANA_API_KEY home=$HOME"\n```\n')
    done = subprocess.run(
        [*CLI, "runbook", "run", "--config", str(write_config(tmp_path)), str(runbook), "show", "--yes"],
        cwd=ROOT,
        env={**os.environ, "GRAFANA_API_KEY": "gk-from-the-env-42", "HOME": "/home/ops"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "| key=*** home=/home/ops" in done.stdout and "gk-from-the-env-42" not in done.stdout
    assert (
        "gk-from-the-env-42" not in (tmp_path / "journal.jsonl").read_text() + (tmp_path / "outputs/1.log").read_text()
    )


def test_display_blocks_are_not_actions() -> None:
    book = load_runbook(FIXTURES / "steps.md", {})
    with pytest.raises(ValueError, match="shown but not run"):
        RunbookStep(book, book.step("shown-only-1"))


def test_configured_runbooks_are_registered_with_the_runner(tmp_path: Path) -> None:
    folder = tmp_path / "books"
    folder.mkdir()
    shutil.copy(FIXTURES / "steps.md", folder / "steps.md")
    shutil.copy(FIXTURES / "nul.md", folder / "nul.md")
    config = cfg.load(write_config(tmp_path, '[[runbooks]]\npath = "books"\n'), environ={})
    books, problems = load_runbooks(config, {})
    assert [b.key for b in books] == ["steps"]
    assert len(problems) == 1 and "nul.md: a NUL byte on line 4" in problems[0]
    runner = build_runner(config)
    assert {"runbook:steps:hello", "runbook:steps:marker", "runbook:steps:unmark", "runbook:steps:fail"} <= set(
        runner.actions
    )


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database(pg_server: PostgresServer) -> Iterator[str]:
    async def run(url: str, sql: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(pg_server.dsn, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
    asyncio.run(run(pg_server.dsn, "DROP ROLE IF EXISTS rb_app; CREATE ROLE rb_app"))
    asyncio.run(run(pg_server.dsn, f"CREATE DATABASE {DB}"))
    url = f"postgresql://postgres@{pg_server.host}:{pg_server.port}/{DB}"
    asyncio.run(run(url, "CREATE TABLE rb_orders (id serial, region text); CREATE SEQUENCE rb_seq;"))
    asyncio.run(run(url, "INSERT INTO rb_orders (region) VALUES ('eu'), ('eu'), ('us')"))
    yield url
    asyncio.run(run(pg_server.dsn, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
    asyncio.run(run(pg_server.dsn, "DROP ROLE rb_app"))


def pg_runner(tmp_path: Path, url: str, step: str, *, read_only: bool = False) -> tuple[Runner, str]:
    console = "read_only = true\n" if read_only else ""
    return runner_for(tmp_path, FIXTURES / "sql.md", step, f'{console}[postgres]\ndsn = "{url}"\n')


async def test_a_reading_sql_step_returns_rows_and_needs_no_confirmation(tmp_path: Path, database: str) -> None:
    runner, name = pg_runner(tmp_path, database, "count-a-region-s-orders-1")
    plan = await runner.plan(name, {"region": "eu"})
    assert plan.risk is Risk.READ and plan.confirm is ConfirmLevel.NONE
    assert plan.params["command"] == "SELECT count(*) AS n\n  FROM rb_orders\n WHERE region = 'eu';"
    outcome = await runner.execute(plan)
    assert outcome.status is OutcomeStatus.COMPLETED
    assert outcome.output_tail == ["n", "-", "2"]


async def test_sql_values_are_literals_never_sql(tmp_path: Path, database: str) -> None:
    runner, name = pg_runner(tmp_path, database, "echo-a-word-1")
    hostile = "x'; DROP TABLE rb_orders; --\\"
    outcome = await runner.execute(await runner.plan(name, {"word": hostile}))
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
    assert outcome.output_tail[2].startswith(hostile)
    conn = await asyncpg.connect(database)
    assert await conn.fetchval("SELECT count(*) FROM rb_orders") >= 3
    await conn.close()


async def test_a_read_that_would_write_is_destructive_and_its_read_only_transaction_still_refuses_it(
    tmp_path: Path, database: str
) -> None:
    runner, name = pg_runner(tmp_path, database, "a-read-that-would-write-1")
    plan = await runner.plan(name, {})
    assert plan.risk is Risk.DESTRUCTIVE and plan.confirm_reason == "destructive: calls nextval()"
    outcome = await sql.run(runner.ctx, ["SELECT nextval('rb_seq')"], read_only=True, progress=Progress())
    assert outcome.status is OutcomeStatus.FAILED
    assert "read-only transaction" in outcome.message


async def superuser_and_table(url: str) -> tuple[bool, str | None]:
    conn = await asyncpg.connect(url)
    try:
        superuser = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = 'rb_app'")
        return superuser, await conn.fetchval("SELECT to_regclass('rb_pwned')::text")
    finally:
        await conn.close()


async def test_a_commit_cannot_end_the_read_only_transaction(tmp_path: Path, database: str) -> None:
    """`SELECT 1; COMMIT; ALTER ROLE ... SUPERUSER`: the COMMIT once ended the read-only transaction."""
    step = "escape-the-read-only-transaction-1"
    read_only, name = pg_runner(tmp_path, database, step, read_only=True)
    with pytest.raises(ActionRefused, match=r"refused, the console is read-only \(destructive action\)"):
        await read_only.plan(name, {})
    runner, name = pg_runner(tmp_path, database, step)
    assert runner.get(name).step.risk_reason.startswith("destructive: `COMMIT` is transaction control, refused")
    with pytest.raises(ActionRefused, match=r"statement 2, `COMMIT`, is transaction control, refused in a runbook"):
        await runner.plan(name, {})
    statements = ["SELECT 1", "COMMIT", "ALTER ROLE rb_app SUPERUSER", "CREATE TABLE rb_pwned (a int)"]
    outcome = await sql.run(runner.ctx, statements, read_only=False, progress=Progress())
    assert outcome.status is OutcomeStatus.FAILED and outcome.message.endswith("; nothing was run")
    assert await superuser_and_table(database) == (False, None)
    assert journal(tmp_path) == []


async def test_a_side_effect_function_asks_for_the_typed_environment(tmp_path: Path, database: str) -> None:
    runner, name = pg_runner(tmp_path, database, "reload-the-configuration-1")
    plan = await runner.plan(name, {})
    assert plan.risk is Risk.DESTRUCTIVE and plan.confirm is ConfirmLevel.TYPED and plan.confirm_text == "staging"
    assert plan.confirm_reason == "destructive: calls pg_reload_conf()"
    with pytest.raises(ActionRefused, match="typed confirmation"):
        await runner.execute(plan, confirmed=True)


async def test_the_filled_text_is_judged_again_with_the_values_in_place(tmp_path: Path, database: str) -> None:
    runner, name = pg_runner(tmp_path, database, "call-a-function-by-name-1")
    assert runner.get(name).risk is Risk.WRITE  # "<fn>"() is an unknown function
    with pytest.raises(ParamError, match=r"judges destructive: calls pg_reload_conf\(\), more than the step's write"):
        await runner.plan(name, {"fn": "pg_reload_conf"})
    plan = await runner.plan(name, {"fn": "now"})
    assert plan.risk is Risk.WRITE and plan.detail["statements"] == ['SELECT "now"()']
    assert plan.confirm is ConfirmLevel.YES  # a write runs in a transaction that commits: it is confirmed
    with pytest.raises(ActionRefused, match="not confirmed"):
        await runner.execute(plan)


async def test_a_writing_sql_step_is_destructive_and_needs_the_typed_environment(tmp_path: Path, database: str) -> None:
    runner, name = pg_runner(tmp_path, database, "add-an-order-1")
    plan = await runner.plan(name, {"region": "apac"})
    assert plan.risk is Risk.DESTRUCTIVE and plan.confirm is ConfirmLevel.TYPED
    with pytest.raises(ActionRefused, match="typed confirmation"):
        await runner.execute(plan, confirmed=True)
    outcome = await runner.execute(plan, confirmed=True, typed="staging")
    assert outcome.status is OutcomeStatus.COMPLETED and outcome.output_tail == ["INSERT 0 1"]
    conn = await asyncpg.connect(database)
    assert await conn.fetchval("SELECT count(*) FROM rb_orders WHERE region = 'apac'") == 1
    await conn.close()


# -- Redis ----------------------------------------------------------------------------------------


@pytest.fixture
async def cache(redis_server: RedisServer) -> AsyncIterator[tuple[aioredis.Redis, str]]:
    url = f"redis://{redis_server.host}:{redis_server.port}/0"
    client = aioredis.Redis.from_url(f"redis://{redis_server.host}:{redis_server.port}/{REDIS_DB}")
    await client.flushdb()
    yield client, url
    await client.flushdb()
    await client.aclose()


async def test_a_flush_step_is_flush_cache_deleting_only_the_pattern(
    tmp_path: Path, cache: tuple[aioredis.Redis, str]
) -> None:
    client, url = cache
    for n in range(30):
        await client.set(f"cache:acme:{n}", "x")
        await client.set(f"cache:globex:{n}", "x")
        await client.set(f"user:{n}", "x")
    runner, name = runner_for(tmp_path, FIXTURES / "flush.md", "drop-one-tenant-s-cache-1", f'[redis]\nurl = "{url}"\n')
    plan = await runner.plan(name, {"tenant": "acme"})
    assert plan.risk is Risk.DESTRUCTIVE and plan.confirm is ConfirmLevel.YES
    assert plan.params["flush"] == {"pattern": "cache:acme:*", "db": REDIS_DB, "max_rate": None}
    assert any("runs as the built-in flush-cache, never as written" in note for note in plan.notes)
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.status is OutcomeStatus.COMPLETED and outcome.counts == {"deleted": 30}
    left = {key async for key in client.scan_iter(count=1000)}
    assert len(left) == 60 and not any(k.startswith(b"cache:acme:") for k in left)
    assert journal(tmp_path)[0]["data"]["params"]["command"].startswith("redis-cli -n 15 --scan")


# -- the CLI --------------------------------------------------------------------------------------


def runbook_run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return cli("runbook", "run", "--config", write_config(tmp_path), *argv)


def test_cli_dry_run_previews_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    result = runbook_run(tmp_path, str(FIXTURES / "steps.md"), "marker", "--path", str(marker), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "[staging] runbook:steps:marker (write)" in result.stdout
    assert f"printf 'marked\\n' > {marker}" in result.stdout
    assert "dry run: nothing was run" in result.stdout
    assert not marker.exists() and journal(tmp_path) == []


def test_cli_runs_a_step_with_yes_and_refuses_without(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    refused = runbook_run(tmp_path, str(FIXTURES / "steps.md"), "marker", "--path", str(marker))
    assert refused.returncode == 2 and "no terminal to confirm on: pass --yes" in refused.stderr
    assert not marker.exists()
    done = runbook_run(tmp_path, str(FIXTURES / "steps.md"), "marker", "--path", str(marker), "--yes")
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "marked\n"
    assert "runbook:steps:marker: completed: exit code 0" in done.stdout
    destructive = runbook_run(tmp_path, str(FIXTURES / "steps.md"), "unmark", "--path", str(marker), "--yes")
    assert destructive.returncode == 2 and "pass --confirm staging as well as --yes" in destructive.stderr
    assert marker.exists()
    typed = runbook_run(
        tmp_path, str(FIXTURES / "steps.md"), "unmark", "--path", str(marker), "--yes", "--confirm", "staging"
    )
    assert typed.returncode == 0, typed.stderr
    assert not marker.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("steps.md", "nope"), "no step 'nope' (runnable steps: hello, marker, unmark, fail, count)"),
        (("steps.md", "shown-only-1"), "step shown-only-1 is a yaml block, shown but not run"),
        (("steps.md", "hello"), "runbook:steps:hello: --who is required"),
        (("steps.md", "hello", "--who", "x", "--whom", "y"), "unknown parameter --whom"),
        (("binary.md", "x"), "binary.md: not UTF-8 text"),
    ],
)
def test_cli_mistakes_are_one_line_and_exit_2(tmp_path: Path, argv: tuple[str, ...], message: str) -> None:
    result = runbook_run(tmp_path, str(FIXTURES / argv[0]), *argv[1:], "--yes")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert journal(tmp_path) == []
