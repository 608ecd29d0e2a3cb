"""The embedded demo's world: everything starts, its config is valid, and everything stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

from console import config as cfg
from console.demo.run import DemoWorld
from console.demo.servers import accepts_connections, process_alive
from console.headless import check


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
