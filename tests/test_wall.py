"""The war-room wall: snapshots at three sizes, keys that act doing nothing, and a note from another process."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_changes_pane import CHANGES, ledger

from actions.registry import build_runner
from console import config as cfg
from console.cli import main
from console.clock import ManualClock
from console.incident.commands import IncidentDesk
from console.journal import Journal
from console.live import LiveState
from console.models import State
from console.models.health import HealthSnapshot, MetricSnapshot
from console.sources.base import Feeds
from console.triage.engine import TriageEngine
from console.triage.playbook import Playbook
from console.tui.app import ConsoleApp
from console.tui.screens.detail import DetailScreen
from console.tui.screens.wall import WallScreen
from tests.helpers import ANSI, cli_on_pty, painted, read_until, settle, until
from widgets.changes_pane import ChangesPane
from widgets.wall_header import WallHeader
from widgets.wall_timeline import WallTimeline

NOW = datetime(2026, 11, 23, 3, 4, 5, tzinfo=UTC)
CONFIG = """
[console]
environment = "production"
journal = "{journal}"

[[health]]
name = "api"
url = "http://127.0.0.1:9/api/health"
[[health]]
name = "database"
url = "http://127.0.0.1:9/api/health/db"
[[health]]
name = "cache"
url = "http://127.0.0.1:9/api/health/cache"

[[metric]]
name = "error rate"
url = "http://127.0.0.1:9/api/metrics/errors"
path = "errorRate"
unit = "%"
warn = 0.5
crit = 1.0
[[metric]]
name = "p95 latency"
url = "http://127.0.0.1:9/api/metrics/latency"
path = "p95"
unit = "ms"
"""
MODELS = [
    HealthSnapshot(
        name="api",
        url="",
        state=State.CRIT,
        reason="HTTP 503",
        status_code=503,
        latency_ms=1143,
        taken_at=NOW,
        history=[12, 14, 13, 40, 180, 600, 1143],
    ),
    HealthSnapshot(name="database", url="", state=State.WARN, reason="above warn 500 ms", latency_ms=612, taken_at=NOW),
    HealthSnapshot(name="cache", url="", state=State.DOWN, reason="connection refused", taken_at=NOW),
    MetricSnapshot(
        name="error rate",
        state=State.CRIT,
        reason="above crit 1%",
        value=4.2,
        unit="%",
        crit=1.0,
        taken_at=NOW,
        history=[0.1, 0.1, 0.4, 1.9, 4.2],
    ),
    MetricSnapshot(name="p95 latency", state=State.OK, value=183, unit="ms", taken_at=NOW, history=[180, 185, 183]),
]
HEALTHY = [m.model_copy(update={"state": State.OK, "reason": ""}) for m in MODELS]
PLAYBOOK = Playbook.model_validate(
    {
        "name": "api-errors",
        "title": "API returns errors",
        "when": "health.api is unhealthy",
        "steps": [
            {"id": "deploy", "kind": "ask", "title": "Was there a deploy?", "question": "Deployed in the last hour?"},
            {"id": "done", "kind": "done"},
        ],
    }
)
NOTES = [
    "error rate 4% since the 03:00 deploy",
    "paging the payments team",
    "payments say the card gateway is fine",
    "503s only from the new pods",
    "rollback to v1.2.2 prepared",
    "status page updated",
    "holding the rollback until 03:10",
]
WALL_ACTOR = {"user": "wall", "host": "tv-1", "ssh_from": None, "pid": 1}


def actor(user: str, host: str) -> dict:
    return {"user": user, "host": host, "ssh_from": None, "pid": 1}


def journal_as(path: Path, clock: ManualClock, user: str, host: str) -> Journal:
    return Journal(path, environment="production", clock=clock.now, actor=actor(user, host))


def make_wall(tmp_path: Path, *, clock: ManualClock | None = None, extra: str = "") -> ConsoleApp:
    text = CONFIG.format(journal=tmp_path / "journal.jsonl") + extra
    config = cfg.loads(text, source=Path("/etc/ic/config.toml"), environ={})
    clock = clock or ManualClock(NOW)
    journal = Journal(config.console.journal, environment="production", clock=clock.now, actor=WALL_ACTOR)
    runner = build_runner(config, read_only=True, journal=journal, clock=clock.now)
    return ConsoleApp(config, runner, clock=clock, feeds=Feeds(), wall=True)


def declare_incident(tmp_path: Path, clock: ManualClock) -> None:
    """Alice declares (backdated 12 minutes) and takes command; Bob and Alice add 7 notes; Carol starts triage."""
    path = tmp_path / "journal.jsonl"
    alice = IncidentDesk(journal_as(path, clock, "alice", "laptop"), clock)
    bob = IncidentDesk(journal_as(path, clock, "bob", "ops-2"), clock)
    clock.set(NOW - timedelta(minutes=4))
    alice.declare("checkout returns 500s", "SEV-2", impact_started=NOW - timedelta(minutes=12))
    alice.assign_role("commander", "alice")
    alice.set_status("investigating")
    for n, desk in enumerate((bob, alice, bob, alice, bob, alice, bob)):
        clock.advance(20)
        desk.add_note(NOTES[n])
    incident = alice.open_incident_id()
    carol = journal_as(path, clock, "carol", "bastion")
    TriageEngine.start(PLAYBOOK, carol, LiveState(clock), clock, incident=incident)
    clock.set(NOW)


async def caught_up(pilot) -> None:
    """The wall reads the journal now (its incident and triage controllers' timers would within a second), then
    settles."""
    await pilot.app.incident.refresh()
    await pilot.app.triage.poll()
    await settle(pilot)


def with_incident(tmp_path: Path, models: list = MODELS, extra: str = ""):
    async def run_before(pilot) -> None:
        pilot.app.live.update(models)
        await caught_up(pilot)

    clock = ManualClock(NOW)
    declare_incident(tmp_path, clock)
    return make_wall(tmp_path, clock=clock, extra=extra), run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 50), (200, 60)], ids=["80x24", "160x50", "200x60"])
def test_wall_with_an_incident(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    app, run_before = with_incident(tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_wall_update_overdue(snap_compare, tmp_path: Path) -> None:
    """An hour and a minute after the declaration, the SEV-2 update (due hourly) is overdue: in words, in red."""
    app, run_before = with_incident(tmp_path)
    app.clock.set(NOW + timedelta(hours=1, minutes=1))
    assert snap_compare(app, terminal_size=(160, 50), run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_wall_with_the_change_ledger(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    """The registry puts the Changes pane on the wall: below the timeline on a small wall, beside it on a large one."""
    app, run_before = with_incident(tmp_path, [*MODELS, ledger(now=NOW)], extra=CHANGES)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_the_wall_shows_the_ledger_read_only(tmp_path: Path) -> None:
    app, feed = with_incident(tmp_path, [*MODELS, ledger(now=NOW)], extra=CHANGES)
    journal = tmp_path / "journal.jsonl"
    async with app.run_test(size=(160, 50)) as pilot:
        await feed(pilot)
        before = journal.read_bytes()
        assert app.screen.query_one(ChangesPane).ledger == ledger(now=NOW)
        screen = painted(app)
        assert "▲ 2 suspects · top (0.83): v1.2.3 went live" in screen
        beside = [line.split("│")[1] for line in screen.splitlines() if line.count("│") == 2]  # the timeline's right
        rows = [line for line in beside if "releases" in line or "postgres:settings" in line]
        assert [("▲1" in r, "v1.2.3" in r, "▲2" in r and "work_mem" in r, "v1.2.2" in r) for r in rows] == [
            (True, True, False, False),
            (False, False, True, False),
            (False, False, False, True),
        ], rows
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, WallScreen) and app.focused is None, "the wall shows, never acts"
        assert journal.read_bytes() == before


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_wall_without_an_incident(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot) -> None:
        pilot.app.live.update(HEALTHY)
        await caught_up(pilot)

    assert snap_compare(make_wall(tmp_path), terminal_size=size, run_before=run_before)


async def test_keys_that_act_do_nothing_on_the_wall(tmp_path: Path) -> None:
    app, feed = with_incident(tmp_path)
    journal = tmp_path / "journal.jsonl"
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot)
        before = journal.read_bytes()
        wall = app.screen
        for key in ("ctrl+p", "colon", "a", "i", "t", "d", "u", "enter"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is wall, key
        for action in ("command_palette", "note", "incident", "triage"):
            assert app.check_action(action, ()) is False
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)  # the wall's help; escape closes it
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is wall and journal.read_bytes() == before
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_a_note_from_another_process_shows_within_a_second(tmp_path: Path) -> None:
    app, feed = with_incident(tmp_path)
    path = tmp_path / "journal.jsonl"
    code = f"from console.journal import Journal; Journal({str(path)!r}).append('note', {{'text': 'from the laptop'}})"
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot)
        timeline = app.screen.query_one(WallTimeline)
        subprocess.run([sys.executable, "-c", code], check=True)
        note = "from the laptop"
        await until(lambda: any((e.get("data") or {}).get("text") == note for e in timeline.entries), 1.5, "the note")
        assert "from the laptop" in timeline.render().plain


async def test_the_header_says_no_incident_and_the_health(tmp_path: Path) -> None:
    app = make_wall(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.live.update(MODELS)
        await caught_up(pilot)
        assert isinstance(app.screen, WallScreen)
        title = str(app.screen.query_one("#wall-title").render())
        assert "NO INCIDENT" in title and "2 CRIT" in title and "1 DOWN" in title


async def test_the_wall_polls_its_tiles_and_follows_no_logs(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text("")
    text = CONFIG.format(journal=tmp_path / "journal.jsonl") + f'[[logs]]\nname = "app"\npath = "{tmp_path}/app.log"\n'
    config = cfg.loads(text, source=Path("/etc/ic/config.toml"), environ={})
    app = ConsoleApp(config, build_runner(config, read_only=True), wall=True)
    async with app.run_test(size=(80, 24)):
        # every tile's first poll has come back (nothing listens on port 9) and the controllers' start-up work is
        # done: only the pollers still run, so the app is not torn down mid-start
        await until(lambda: "▼ 5 DOWN" in painted(app), what="the tiles' first poll")
        await until(lambda: all(worker.group == "feeds" for worker in app.workers), what="the controllers' start")
        assert app.feeds is not None and app.feeds.streams == [] and len(app.feeds.polled) == 5


def test_a_wall_on_an_unreadable_journal_stops_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    journal = tmp_path / "journal.jsonl"
    if os.geteuid() == 0:
        journal.mkdir()  # root reads any file; a folder where the journal should be is no journal
        reason = "a folder, not a regular file; refused as a journal"
    else:
        journal.write_text("")
        journal.chmod(0)
        reason = "cannot read it: "
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(journal=journal))
    assert main(["--config", str(config), "--wall"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"incident-console: --wall: journal {journal}: {reason}") and err.count("\n") == 1


def test_header_shows_the_commander_and_the_countdown(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    declare_incident(tmp_path, clock)
    state = IncidentDesk(journal_as(tmp_path / "journal.jsonl", clock, "x", "y"), clock).state()
    assert WallHeader._due(state, state.declared_at)[:2] == ("NEXT UPDATE IN", "1:00:00")
    assert WallHeader._due(state, state.declared_at + timedelta(hours=1, seconds=5)) == (
        "✖ UPDATE OVERDUE BY",
        "00:05",
        True,
    )


def test_the_wall_in_a_terminal_is_read_only_whatever_the_config_says(tmp_path: Path) -> None:
    """`incident-console --wall` as a real process on a pty: a config that allows actions, a wall that refuses them."""
    config = tmp_path / "config.toml"
    config.write_text(
        CONFIG.format(journal=tmp_path / "journal.jsonl").replace("[console]", "[console]\nread_only = false")
    )
    wall, master = cli_on_pty("--config", config, "--wall")
    try:
        assert b"[READ-ONLY]" in ANSI.sub(b"", read_until(master, b"NO INCIDENT"))
        os.write(master, b"q")
        assert wall.wait(timeout=10) == 0
    finally:
        if wall.poll() is None:
            wall.kill()
            wall.wait()
        os.close(master)
