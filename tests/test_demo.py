"""The embedded demo's world: everything starts, its config is valid, and everything stops."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest

from console import config as cfg
from console.commands.check import check
from console.demo.run import DemoWorld
from console.demo.servers import accepts_connections, process_alive
from tests.helpers import ANSI, cli_on_pty, read_until, wait_for


def test_demo_world_starts_everything_and_stops_everything(tmp_path: Path) -> None:
    world = DemoWorld(tmp_path, incident_after=3600)
    world.start()
    try:
        assert world.notices == [], "PostgreSQL and Redis binaries are installed by the test script"
        path = tmp_path / "config.toml"
        path.write_text(world.config_text())
        config = cfg.load(path)
        assert config.console.environment == "demo"
        assert {h.name for h in config.health} == {"api", "database", "cache"}
        assert config.postgres is not None and config.redis is not None
        assert {log.name for log in config.logs} == {"app", "worker"}
        assert config.actions["rollback"].risk.value == "destructive"
        assert asyncio.run(check(config)) == 0, "every target of the demo config is reachable"
        pids = [world.postgres.pid, world.redis.pid]
        ports = [world.postgres.port, world.redis.port, world.service.port]
    finally:
        world.stop()
    assert not any(process_alive(pid) for pid in pids if pid)
    assert not any(accepts_connections(port) for port in ports)


def test_the_demo_keeps_its_journal_and_config_and_the_wall_opens_on_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On exit `demo` prints where its journal and its config are kept: the README's wall command works on them."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the demo's folder is a temp dir: here, not in /tmp
    demo, master = cli_on_pty("demo", columns=120, rows=40)
    try:
        read_until(master, b"error rate", timeout=60)
        os.write(master, b"a")
        read_until(master, b"TODO:", timeout=10)
        os.write(master, b"kept for the wall\r")
        _wait_for_note(tmp_path, "kept for the wall")
        os.write(master, b"q")
        said = ANSI.sub(b"", read_until(master, None, timeout=60)).decode(errors="replace")  # may start mid-character
        assert demo.wait(timeout=30) == 0
    finally:
        if demo.poll() is None:
            demo.terminate()  # the demo stops its servers on SIGTERM
            demo.wait(timeout=30)
        os.close(master)
    journal = Path(re.search(r"the demo journal is kept at (\S+)", said)[1])
    config = Path(re.search(r"its config is kept at (\S+);", said)[1])
    assert f"`incident-console --wall --config {config}` opens the wall on it" in said
    assert sorted(journal.parent.iterdir()) == [config, journal]
    assert cfg.load(config).console.journal == journal
    wall, master = cli_on_pty("--wall", "--config", config)
    try:
        assert b"[READ-ONLY]" in ANSI.sub(b"", read_until(master, b"kept for the wall"))
        os.write(master, b"q")
        assert wall.wait(timeout=10) == 0
    finally:
        if wall.poll() is None:
            wall.kill()
            wall.wait()
        os.close(master)


def _wait_for_note(folder: Path, text: str, timeout: float = 10.0) -> None:
    """Until the demo's journal (in its temp folder under `folder`) holds `text`: the note screen has closed."""
    journals = lambda: folder.glob("incident-console-demo-*/journal.jsonl")  # noqa: E731
    wait_for(lambda: any(text in journal.read_text() for journal in journals()), timeout, f"{text!r} journaled")


def test_the_demo_blocks_sessions_with_its_incident_not_before_it(tmp_path: Path) -> None:
    """The minute before the demo's incident has no WARN: a lock chain from the start made the incident's onset (the
    first WARN-or-worse) precede the v1.2.3 deploy, so the change ledger could not name it."""
    import asyncpg

    async def waiting() -> int:
        conn = await asyncpg.connect(world.postgres.dsn)
        try:
            return int(await conn.fetchval("select count(*) from pg_stat_activity where wait_event_type = 'Lock'"))
        finally:
            await conn.close()

    world = DemoWorld(tmp_path, incident_after=6)
    world.start()
    try:
        assert world.service.phase == "normal" and asyncio.run(waiting()) == 0
        wait_for(lambda: world.service.phase != "normal", 20, "the demo's incident")
        wait_for(lambda: asyncio.run(waiting()) == 2, 20, "two sessions waiting on the blocker")
    finally:
        world.stop()
