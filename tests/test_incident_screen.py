"""The incident screen driven by the keyboard: the whole incident, reminders, refusals, and snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from incident_flow import (
    DECISION,
    FOLLOW_UP,
    GOLDEN,
    NOTE,
    ROOT_CAUSE,
    START,
    TITLE,
    Flow,
    make_flow,
    normalize,
)
from textual import on
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from console.clock import ManualClock
from console.incident.commands import IncidentDesk
from console.incident.updates import draft_update
from console.journal import Journal
from console.tui.screens.declare import DeclareScreen
from console.tui.screens.incident import IncidentScreen
from console.tui.screens.status_update import StatusUpdateScreen
from tests.helpers import settle, toasts, until
from themes import THEMES
from widgets.incident_header import OVERDUE, IncidentHeader
from widgets.messages import DetailRequested
from widgets.timeline import Timeline

EASTERN = timezone(timedelta(hours=-5))  # a fixed "local" zone, so the Local column is the same everywhere


class IncidentHost(App):
    """Hosts the incident screen the way the console app will; records notifications and detail requests."""

    def __init__(self, desk: IncidentDesk) -> None:
        super().__init__()
        self.desk = desk
        self.details: list[DetailRequested] = []
        self.notes: list[str] = []

    def notify(self, message: str, **kwargs) -> None:
        self.notes.append(message)
        super().notify(message, **kwargs)

    def on_mount(self) -> None:
        self.register_theme(THEMES["incident-dark"])
        self.theme = "incident-dark"
        self.push_screen(IncidentScreen(self.desk, tz=EASTERN))

    @on(DetailRequested)
    def _detail(self, message: DetailRequested) -> None:
        self.details.append(message)


async def keys(pilot: Pilot, *pressed: str) -> None:
    await pilot.press(*pressed)
    await settle(pilot)


def header_text(app: App) -> str:
    return app.screen.query_one(IncidentHeader).render().plain


async def test_an_incident_from_declaration_to_post_mortem_with_the_keyboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    flow.at(3, 2)
    flow.observe("crit", "ok", "HTTP 500 in 120ms")
    flow.at(3, 10)
    app = IncidentHost(flow.desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, IncidentScreen)
        assert "No incident declared" in header_text(app)

        await keys(pilot, "d")
        assert isinstance(app.screen, DeclareScreen)
        await keys(pilot, *TITLE, "enter", "tab", *"10m ago", "enter")  # severity stays at the default, SEV-2
        assert app.screen is screen
        assert "SEV-2 High" in header_text(app) and "TRIAGE" in header_text(app)

        flow.at(3, 11)
        await keys(pilot, "o", "enter", *"alice", "enter")  # the role list starts at commander
        flow.at(3, 12)
        await keys(pilot, "a", *NOTE, "enter")
        flow.at(3, 14)
        await keys(pilot, "D", *DECISION, "enter")

        flow.at(3, 15)
        assert (await flow.rollback()).ok  # the runner shares the journal, as in the app
        flow.at(3, 16)
        flow.observe("ok", "crit", "")
        await screen.refresh_from_journal()

        flow.at(3, 20)
        await keys(pilot, "c", "down", "down", "enter")  # investigating (preselected) -> identified -> mitigated
        assert "MITIGATED" in header_text(app)

        flow.at(3, 25)
        await keys(pilot, "u", "down", "enter")  # initial is suggested; pick "update"
        assert isinstance(app.screen, StatusUpdateScreen)
        await keys(pilot, "enter", "enter", "enter")  # service -> status -> impact -> root cause
        assert app.focused is app.screen.query_one("#field-root_cause", Input)
        await keys(pilot, "home", "ctrl+k", *ROOT_CAUSE, "ctrl+s")
        assert app.screen is screen
        posted = flow.desk.state().updates[-1]
        assert app.clipboard == posted.text and f"Root cause: {ROOT_CAUSE}" in posted.text

        flow.at(3, 40)
        await keys(pilot, "c", "enter")  # resolved is the next status
        flow.at(3, 41)
        await keys(pilot, "a", *FOLLOW_UP, "enter")
        flow.at(3, 42)
        await keys(pilot, "ctrl+end", "up", "up", "up", "up", "up", "p")  # oldest is #1; up five rows is the rollback
        assert flow.desk.state().pinned == {6}

        flow.at(3, 45)
        await keys(pilot, "e")
    markdown = (tmp_path / "postmortem-INC-20250115-0310.md").read_text()
    assert normalize(markdown) == GOLDEN.read_text()


async def test_an_overdue_update_is_shown_in_words_and_journaled_by_the_desk(tmp_path: Path) -> None:
    clock = ManualClock(START)
    desk = IncidentDesk(Journal(tmp_path / "journal.jsonl", clock=clock.now), clock)
    desk.declare("Site down", "SEV-1")
    app = IncidentHost(desk)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        assert "next update in 30:00 (at 03:30 UTC)" in header_text(app)
        clock.advance(31 * 60)
        assert desk.check_overdue() is not None  # what the app's timer does
        await app.screen.refresh_from_journal()
        assert f"{OVERDUE} by 01:00" in header_text(app)
        assert "update overdue (was due 03:30 UTC)" in app.screen.query_one(Timeline).table.get_row_at(0)[-1].plain


async def test_mistakes_are_caught_in_place_and_nothing_is_journaled(tmp_path: Path) -> None:
    clock = ManualClock(START)
    desk = IncidentDesk(Journal(tmp_path / "journal.jsonl", clock=clock.now), clock)
    app = IncidentHost(desk)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await keys(pilot, "d", "ctrl+s")
        assert isinstance(app.screen, DeclareScreen)
        assert "the title is empty" in str(app.screen.query_one("#declare-error").render())
        await keys(pilot, *"DB down", "tab", "tab", *"in an hour", "enter")
        assert "impact started: expected a time like" in str(app.screen.query_one("#declare-error").render())
        await keys(pilot, "escape")
        assert list(desk.journal.entries()) == []

        desk.declare("DB down", "SEV-1")
        await app.screen.refresh_from_journal()
        await keys(pilot, "u", "enter")  # the initial update
        await keys(pilot, "home", "ctrl+k", "ctrl+s")  # empty the service field, try to post
        assert isinstance(app.screen, StatusUpdateScreen)
        assert "Service is empty" in str(app.screen.query_one("#composer-error").render())
        await keys(pilot, "escape")
        assert desk.state().updates == []

        await keys(pilot, "v", "down", "enter")  # SEV-1 is preselected; down is SEV-2
        await keys(pilot, "v", "enter")  # SEV-2, the current one, is preselected: refused
        assert desk.state().severity == "SEV-2"
        assert app.notes[-1] == f"severity: {desk.state().id} is already SEV-2"


async def test_the_timeline_filters_by_kind_pins_and_shows_the_whole_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    prefill(flow)
    app = IncidentHost(flow.desk)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one(Timeline)
        assert timeline.table.row_count == 10
        await keys(pilot, "k")
        assert (timeline.kind_filter, timeline.table.row_count) == ("actions", 2)
        assert "→ completed" in timeline.table.get_row_at(1)[-1].plain
        await keys(pilot, "ctrl+home", "enter")
        assert app.details[-1].title == "Journal entry #7 · action.completed"
        assert '  "corr": 6,' in app.details[-1].lines
        await keys(pilot, "p")
        await keys(pilot, "k", "k", "k", "k")
        assert (timeline.kind_filter, timeline.table.row_count) == ("pinned", 1)
        await keys(pilot, "p")  # unpin it again
        assert flow.desk.state().pinned == set() and timeline.table.row_count == 0
        assert [e["kind"] for e in flow.journal.entries()][-2:] == ["pin", "pin"]


def prefill(flow: Flow) -> None:
    """A mitigated SEV-2 whose next update is overdue; the action entries are what the runner journals."""
    journal, desk = flow.journal, flow.desk
    flow.at(3, 2)
    flow.observe("crit", "ok", "HTTP 500 in 120ms")
    flow.at(3, 10)
    desk.declare(TITLE, "SEV-2", START)
    desk.assign_role("commander", "alice")
    flow.at(3, 12)
    desk.add_note(NOTE)
    desk.add_decision(DECISION)
    flow.at(3, 15)
    request = {"action": "rollback", "risk": "destructive", "params": {"version": "v1.2.2"}, "confirm": "typed"}
    journal.append("action.requested", {**request, "summary": "rollback on staging: runs ./rollback.sh v1.2.2"})
    outcome = {"action": "rollback", "status": "completed", "message": "exit code 0", "duration_ms": 2100}
    journal.append("action.completed", outcome, corr=6)
    flow.at(3, 16)
    flow.observe("ok", "crit", "")
    flow.at(3, 20)
    desk.set_status("mitigated")
    flow.at(3, 25)
    desk.post_update("update", {**draft_update(desk.state(), "update", flow.clock.now()), "root_cause": ROOT_CAUSE})
    flow.clock.set(datetime(2025, 1, 15, 4, 31, 15, tzinfo=UTC))


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_incident_screen_snapshot(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    prefill(flow)
    assert snap_compare(IncidentHost(flow.desk), terminal_size=size)


async def test_hostile_text_is_shown_as_text_not_markup(tmp_path) -> None:
    """A title, note or failing parameter containing Rich markup ([/x], [bold]) is data: shown, never parsed."""
    from actions.registry import build_runner
    from console import config as cfg
    from console.clock import ManualClock
    from console.sources.base import Feeds
    from console.tui.app import ConsoleApp

    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "j.jsonl"}"\n'
        '[actions.say]\ncommand = ["echo", "{n}"]\nparams = { n = { description = "[count]", type = "int" } }\n'
    )
    config = cfg.load(path, environ={})
    clock = ManualClock(START)
    app = ConsoleApp(config, build_runner(config, clock=clock.now), clock=clock, feeds=Feeds())
    async with app.run_test(size=(100, 30)) as pilot:
        app.incident.desk.declare("[/x] checkout [bold]down", "SEV-2")
        app.incident.desk.add_note("TODO: check [red]pool[/]")
        await app.incident.refresh()
        app.request_action("say", {"n": "[/oops]"})
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.action_incident()
        await until(lambda: app.screen.__class__.__name__ == "IncidentScreen", what="the incident screen")
        assert "[/x] checkout [bold]down" in str(app.dashboard.banner.render())
        await pilot.press("escape")
        await pilot.pause()


async def test_a_pin_from_the_incident_screen_is_journaled_once_without_an_error(tmp_path: Path) -> None:
    """The screen and the app both listen for PinToggled: only one of them may act on a pin."""
    from actions.registry import build_runner
    from console import config as cfg
    from console.sources.base import Feeds
    from console.tui.app import ConsoleApp

    path = tmp_path / "config.toml"
    path.write_text(f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "j.jsonl"}"\n')
    config = cfg.load(path, environ={})
    clock = ManualClock(START)
    app = ConsoleApp(config, build_runner(config, clock=clock.now), clock=clock, feeds=Feeds())
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        app.incident.desk.declare(TITLE, "SEV-2")
        await keys(pilot, "i")
        assert isinstance(app.screen, IncidentScreen)
        await keys(pilot, "p")
        await until(lambda: app.incident.desk.state().pinned, what="the pin")
        await settle(pilot)  # both listeners have had the message: only one may have acted
        assert app.incident.desk.state().pinned == {1}
        assert app.screen.query_one(Timeline).pinned == {1}
        errors = toasts(app, "error")
    assert errors == []
    assert [e["kind"] for e in Journal(tmp_path / "j.jsonl").entries()] == ["incident.declared", "pin"]
