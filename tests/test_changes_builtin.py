"""The ledger's built-in sources and its journal: a real PostgreSQL whose settings change, a real Redis whose config
changes, the config file edited between two starts, an action run through the real runner; each change journaled
once, only within the horizon, and the baselines read back from the journal past its horizon."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from console import config as cfg
from console.changes.ledger import journal_of, ledger_for
from console.changes.model import ChangeLedger
from console.clock import Clock
from console.demo.servers import PostgresServer, RedisServer
from console.http import HttpClient
from console.journal import Journal
from console.journal.cursor import JournalCursor
from console.journal.horizon import RECENT, Summary
from console.sources.redis import open_client
from tests.helpers import cli, config_file, until


def entries(journal: Journal, kind: str) -> list[dict]:
    return [e for e in journal.entries() if e["kind"] == kind]


async def start(config: cfg.Config, *, writes: bool = True) -> ChangeLedger:
    """One console start: a new ledger's first poll."""
    client = HttpClient()
    try:
        return await ledger_for(config, Clock(), client, None, writes=writes).poll()
    finally:
        await client.aclose()


def by_source(ledger: ChangeLedger, source: str) -> list[str]:
    return [change.summary for change in ledger.changes if change.source == source]


# a source that lists nothing: the ledger runs when [[changes]] has one, and the built-in sources with it
GIT_LESS = '[[changes]]\nname = "none yet"\nkind = "command"\ncommand = ["echo", "[]"]\nmap = {id = "id", time = "t"}\n'


async def test_postgres_settings_that_change_are_one_change_each_journaled_once(
    tmp_path: Path, pg_server: PostgresServer
) -> None:
    path = config_file(tmp_path / "etc", f'{GIT_LESS}[postgres]\ndsn = "{pg_server.dsn}"\n')
    config = cfg.load(path, warn=False)
    journal = journal_of(config)
    first = await start(config)
    assert by_source(first, "postgres:settings") == [], "the first reading is the baseline"
    [baseline] = [e for e in entries(journal, "change.baseline") if e["data"]["key"] == "postgres:settings"]
    assert baseline["data"]["values"]["work_mem"] == "4096"
    connection = await asyncpg.connect(pg_server.dsn)
    try:
        await connection.execute("ALTER SYSTEM SET work_mem = '64MB'")
        await connection.execute("SELECT pg_reload_conf()")
        ledger = await start(config)
        assert by_source(ledger, "postgres:settings") == ["work_mem 4096 → 65536"]
        [change] = [c for c in ledger.changes if c.source == "postgres:settings"]
        assert (change.kind, change.version, change.live_known) == ("config", "65536", True)
        again = await start(config)
        assert by_source(again, "postgres:settings") == ["work_mem 4096 → 65536"], "read back from the journal"
        journaled = [
            e["data"]["summary"] for e in entries(journal, "change") if e["data"]["source"] == "postgres:settings"
        ]
        assert journaled == ["work_mem 4096 → 65536"]
    finally:
        await connection.execute("ALTER SYSTEM RESET work_mem")
        await connection.execute("SELECT pg_reload_conf()")
        await connection.close()


async def test_redis_config_changes_and_a_secret_one_says_only_that_it_changed(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    path = config_file(tmp_path / "etc", f'{GIT_LESS}[redis]\nurl = "{redis_server.url}"\n')
    config = cfg.load(path, warn=False)
    client = open_client(redis_server.url, 5)
    try:
        await start(config)
        await client.config_set("maxmemory-policy", "allkeys-lru")
        await client.config_set("masterauth", "hunter2-replica-secret")
        ledger = await start(config)
        assert sorted(by_source(ledger, "redis:config")) == [
            "masterauth changed (a secret: its value is not kept)",
            "maxmemory-policy noeviction → allkeys-lru",
        ]
        text = journal_of(config).path.read_text()
        assert "hunter2-replica-secret" not in text
    finally:
        await client.config_set("maxmemory-policy", "noeviction")
        await client.config_set("masterauth", "")
        await client.aclose()


async def test_the_config_file_differing_from_the_last_start_on_this_host_is_a_change(tmp_path: Path) -> None:
    path = config_file(tmp_path / "etc", GIT_LESS)
    ledger = await start(cfg.load(path, warn=False))
    assert by_source(ledger, "console:config") == []
    assert by_source(await start(cfg.load(path, warn=False)), "console:config") == [], "the same file: no change"
    path.write_text(path.read_text() + 'interval = "2m"\n')
    ledger = await start(cfg.load(path, warn=False))
    [summary] = by_source(ledger, "console:config")
    assert summary.startswith(f"config.toml changed since the last start on {os.uname().nodename} (sha256 ")
    headless = await start(cfg.load(path, warn=False), writes=False)
    assert by_source(headless, "console:config") == [summary]
    assert len([e for e in entries(journal_of(cfg.load(path, warn=False)), "change")]) == 1


def test_an_action_through_the_runner_is_a_change_of_console_actions(tmp_path: Path) -> None:
    path = config_file(tmp_path / "etc", f'{GIT_LESS}[actions.restart-worker]\ncommand = ["true"]\nrisk = "write"\n')
    done = cli("run", "restart-worker", "--yes", "--config", path)
    assert done.returncode == 0, done.stderr
    document = json.loads(cli("changes", "--json", "--config", path).stdout)
    [action] = [c for c in document["changes"] if c["source"] == "console:actions"]
    assert action["kind"] == "action" and action["id"].startswith("action:") and action["live_at"].endswith("Z")
    assert "restart-worker" in action["summary"] or "true" in action["summary"]
    assert entries(Journal(tmp_path / "state" / "journal.jsonl"), "change") == [], "`changes` journals nothing"


async def test_only_changes_within_the_horizon_are_journaled(tmp_path: Path) -> None:
    script = tmp_path / "etc" / "deploys"
    path = config_file(
        tmp_path / "etc",
        '[[changes]]\nname = "deploys"\nkind = "command"\ncommand = ["./deploys"]\nhorizon = "1h"\n'
        'map = { id = "id", time = "at" }\n',
    )
    now = Clock().now()
    listed = [{"id": f"d{n}", "at": (now - timedelta(minutes=50 * n)).isoformat()} for n in range(4)]
    script.write_text(f"#!/bin/sh\necho '{json.dumps(listed)}'\n")
    script.chmod(0o700)
    config = cfg.load(path, warn=False)
    ledger = await start(config)
    assert [c.id for c in ledger.changes if c.source == "deploys"] == ["d0", "d1", "d2", "d3"], "all are shown"
    await start(config)
    journaled = [e["data"]["id"] for e in entries(journal_of(config), "change")]
    assert journaled == ["d0", "d1"], "older than the 1h horizon: shown, never journaled; each once"


async def test_a_baseline_older_than_the_horizon_is_read_back_through_the_summary(tmp_path: Path) -> None:
    path = config_file(tmp_path / "etc", GIT_LESS)
    config = cfg.load(path, warn=False)
    journal = journal_of(config)
    await start(config)  # the config's baseline
    for n in range(RECENT + 50):
        journal.append("note.added", {"text": f"filler {n}"})
    cursor = JournalCursor(journal)
    cursor.read()
    [baseline] = entries(journal, "change.baseline")
    assert cursor.start.line > baseline["seq"], "the horizon starts after the baseline"
    assert set(cursor.start.summary.baselines) == {baseline["data"]["key"]}
    carried = Summary.carried({"seq": 9, "data": cursor.start.summary.data()})
    assert carried.baselines == cursor.start.summary.baselines, "a checkpoint carries it"
    path.write_text(path.read_text() + "# edited\n")
    ledger = await start(cfg.load(path, warn=False))
    assert len(by_source(ledger, "console:config")) == 1, "compared with the baseline from before the horizon"


@pytest.mark.parametrize("mode", [0o620, 0o602])
async def test_a_config_file_others_can_change_is_the_sources_error(tmp_path: Path, mode: int) -> None:
    path = config_file(tmp_path / "etc", GIT_LESS)
    config = cfg.load(path, warn=False)
    path.chmod(mode)
    path.parent.chmod(0o755)  # not a private folder: the file's own mode decides
    ledger = await start(config)
    assert "others" in dict(ledger.errors)["console:config"]
    assert ledger.errors == (("console:config", dict(ledger.errors)["console:config"]),)


@pytest.mark.parametrize("wall", [False, True], ids=["dashboard", "wall"])
async def test_baselines_and_checkpoints_are_not_listed_on_the_live_timeline(tmp_path: Path, wall: bool) -> None:
    """With no incident open the timeline lists the journal's recent entries: the bookkeeping ones are not events."""
    from actions.registry import build_runner
    from console.sources.base import Feeds
    from console.tui.app import ConsoleApp
    from widgets.timeline import Timeline
    from widgets.wall_timeline import WallTimeline

    path = config_file(tmp_path / "etc", "")
    config = cfg.load(path, environ={})
    journal = journal_of(config)
    journal.append("observation", {"source": "health", "name": "api", "state": "crit", "from": "ok"})
    journal.append("change.baseline", {"key": "redis:config", "values": {"maxmemory": "0"}})
    journal.append("journal.checkpoint", {})
    journal.append("observation", {"source": "health", "name": "api", "state": "ok", "from": "crit"})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds(), wall=wall)
    async with app.run_test(size=(120, 40)):

        def kinds() -> list[str]:
            if wall:
                return [e["kind"] for e in app.screen.query_one(WallTimeline).entries]
            table = app.dashboard.query_one(Timeline).table
            return [str(table.get_row_at(row)) for row in range(table.row_count)]

        await until(lambda: len(app.incident.desk.tracker.recent) >= 4 and kinds(), what="the journal read")
        await app.workers.wait_for_complete()
        shown = kinds()
        assert len(shown) == 2, shown
        assert not any("baseline" in kind or "checkpoint" in kind for kind in shown), shown
