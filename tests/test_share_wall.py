"""A wall on another host: with `[share]`, a wall that shares no file with the bastion's console follows its
incident live through a real Redis stream (the bastion's journal mirrored by the real mirror)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from actions.registry import build_runner
from console import config as cfg
from console.demo.servers import RedisServer
from console.incident.commands import IncidentDesk
from console.journal import Journal
from console.share import start_mirror
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from widgets.wall_timeline import WallTimeline

KEY = "a-shared-key-of-some-length"


def config_for(tmp_path: Path, name: str, redis: RedisServer):
    folder = tmp_path / name
    folder.mkdir(mode=0o700)
    text = (
        f'[console]\nenvironment = "production"\njournal = "{folder / "journal.jsonl"}"\n'
        f'[share]\nredis_url = "{redis.url}"\nkey = "{KEY}"\nhost = "{name}"\n'
    )
    return cfg.loads(text, source=folder / "config.toml", environ={})


async def test_a_wall_on_another_host_follows_the_incident_through_the_stream(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    bastion = config_for(tmp_path, "bastion", redis_server)
    journal = Journal(bastion.console.journal, environment="production")
    desk = IncidentDesk(journal)
    desk.declare("checkout returns 500s", "SEV-1")
    mirror = start_mirror(bastion, journal, host="bastion")
    wall_config = config_for(tmp_path, "wall", redis_server)
    app = ConsoleApp(wall_config, build_runner(wall_config, read_only=True), feeds=Feeds(), wall=True)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            timeline = app.screen.query_one(WallTimeline)
            started = time.monotonic()
            while app.incident.desk.tracker.state is None:
                assert time.monotonic() - started < 10, "the wall never saw the bastion's incident"
                await pilot.pause(0.1)
            assert app.incident.desk.tracker.state.title == "checkout returns 500s"
            desk.add_note("rolled back on the bastion")
            written = time.monotonic()
            while not any((e.get("data") or {}).get("text") == "rolled back on the bastion" for e in timeline.entries):
                assert time.monotonic() - written < 5, "the note did not reach the wall"
                await asyncio.sleep(0.05)
    finally:
        await mirror.stop()
    assert not Path(wall_config.console.journal).exists() or "rolled back" not in Path(
        wall_config.console.journal
    ).read_text(), "the wall keeps the bastion's entries in memory, never in its own journal"
