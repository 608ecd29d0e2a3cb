"""Posting and paging from the console's screens, against loopback services: `u` on the incident screen picks the
channels, the preview shows each audience's text (side by side when wide, one at a time at 80x24), `y` posts it
through the runner without blocking the keys while a channel hangs; the incident screen and the wall show what the
outbox holds; a read-only console and the wall never send; a declaration at a paging rule's severity, or a raise to it,
offers `P`; an overdue update offers the channels the last one went to."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from channel_world import channels_toml
from textual.widgets import Static

from actions.registry import build_runner
from console import config as cfg
from console.clock import ManualClock
from console.demo.servers.channels import HANG_AFTER_READ, ChannelServer, Fault
from console.incident.commands import IncidentDesk
from console.journal import Journal
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.incident import IncidentScreen
from console.tui.screens.pick import PickScreen
from tests.helpers import toasts, until
from widgets.outbox_line import OutboxLine


@pytest.fixture
def server() -> Iterator[ChannelServer]:
    with ChannelServer() as running:
        yield running


def make_app(tmp_path: Path, server: ChannelServer, *, extra: str = "", read_only: bool = False, wall: bool = False):
    path = tmp_path / "config.toml"
    toml = channels_toml(server, timeout="2s").replace(
        '[console]\nenvironment = "production"\n',
        f'[console]\nenvironment = "production"\njournal = "{tmp_path / "journal.jsonl"}"\n',
    )
    path.write_text(toml + extra)
    path.chmod(0o600)
    config = cfg.load(path, environ={})
    runner = build_runner(config, read_only=read_only or wall)
    return ConsoleApp(config, runner, clock=ManualClock(time_now()), feeds=Feeds(), wall=wall), config


def time_now():
    from console.models import utc_now

    return utc_now()


def declare(tmp_path: Path, severity: str = "SEV-2") -> IncidentDesk:
    desk = IncidentDesk(Journal(tmp_path / "journal.jsonl", environment="production"))
    desk.declare("checkout returns 500s on db-7.internal.example", severity)
    return desk


async def compose_and_preview(pilot, app: ConsoleApp, choice: str) -> ActionRunScreen:
    """i, u, the suggested kind, the composer as drafted, then the channel picker's `choice`: the preview."""
    await pilot.press("i")
    await until(lambda: isinstance(app.screen, IncidentScreen) and app.screen.state is not None)
    await pilot.press("u")
    await until(lambda: isinstance(app.screen, PickScreen))
    await pilot.press("enter")  # the kind due
    await until(lambda: not isinstance(app.screen, PickScreen))
    await pilot.press("ctrl+s")  # the composer, as prefilled
    await until(lambda: isinstance(app.screen, PickScreen))
    picker = app.screen
    assert isinstance(picker, PickScreen)
    options = [value for value, _ in picker.options]
    await pilot.press(*["down"] * options.index(choice), "enter")
    await until(lambda: isinstance(app.screen, ActionRunScreen))
    screen = app.screen
    assert isinstance(screen, ActionRunScreen)
    return screen


def panels(screen: ActionRunScreen) -> dict[str, tuple[bool, str]]:
    """Each panel's title: (shown, its text)."""
    return {
        str(panel.border_title): (panel.display, str(panel.render()))
        for panel in screen.query("#panels > .panel")
        if isinstance(panel, Static)
    }


async def test_u_posts_an_update_previewed_per_audience_and_the_runner_delivers_it(
    tmp_path: Path, server: ChannelServer
) -> None:
    declare(tmp_path)
    app, _ = make_app(tmp_path, server)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await compose_and_preview(pilot, app, "every")
        shown = panels(screen)
        assert list(shown) == ["internal", "stakeholders", "customers"] and all(on for on, _ in shown.values())
        assert "db-7.internal.example" in shown["internal"][1] and "[host]" in shown["customers"][1]
        assert "anchor:" not in shown["customers"][1] and "Root cause" not in shown["customers"][1]
        assert not server.received, "nothing is posted before y"
        await pilot.press("y")
        await until(lambda: screen.outcome is not None)
        assert "COMPLETED" in str(screen.query_one("#result", Static).render())
    services = sorted({r.service for r in server.received})
    assert services == ["hook", "slack", "statuspage", "teams"]
    entries = list(Journal(tmp_path / "journal.jsonl").entries())
    posted = next(e for e in entries if e["kind"] == "update.posted")
    assert posted["data"]["channels"] == ["chat", "team", "hook", "status"]
    assert [e["kind"] for e in entries].count("update.delivery") == 8  # a claim and an outcome per channel


async def test_at_80x24_one_audience_at_a_time_and_a_hung_channel_never_blocks_the_keys(
    tmp_path: Path, server: ChannelServer
) -> None:
    declare(tmp_path)
    app, _ = make_app(tmp_path, server)
    server.fail("/slack", Fault(hang=HANG_AFTER_READ))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await compose_and_preview(pilot, app, "every")
        assert [title for title, (on, _) in panels(screen).items() if on] == ["internal"]
        await pilot.press("a")
        assert [title for title, (on, _) in panels(screen).items() if on] == ["stakeholders"]
        await pilot.press("y")
        started = time.monotonic()
        await pilot.press("a")  # keys are answered while the hung channel waits out its timeout
        assert time.monotonic() - started < 0.5 and screen.outcome is None
        await until(lambda: screen.outcome is not None)
        assert time.monotonic() - started < 3.0  # the hung channel cost its 2 s timeout
        result = str(screen.query_one("#result", Static).render())
        assert "FAILED" in result and "chat unknown" in result and "status delivered" in result


async def test_the_incident_screen_and_the_wall_show_what_waits_and_neither_a_wall_nor_read_only_sends(
    tmp_path: Path, server: ChannelServer
) -> None:
    desk = declare(tmp_path)
    server.down()
    from console.incident.updates import draft_update

    state = desk.state()
    desk.post_update("initial", draft_update(state, "initial", desk.clock.now()), ["chat"])
    for kwargs in ({"wall": True}, {"read_only": True}):
        app, _ = make_app(tmp_path, server, **kwargs)
        async with app.run_test(size=(120, 40)) as pilot:
            if not kwargs.get("wall"):
                await pilot.press("i")
            await until(lambda app=app: any(line.has_class("-shown") for line in app.screen.query(OutboxLine)))
            line = str(app.screen.query_one(OutboxLine).render())
            assert "QUEUED chat #2" in line
    assert not [e for e in Journal(tmp_path / "journal.jsonl").entries() if e["kind"] == "update.delivery"]


async def test_a_declaration_at_a_paging_rules_severity_offers_p_to_page(tmp_path: Path, server: ChannelServer) -> None:
    rule = '\n[[incident.escalate]]\nafter = "30m"\nseverity = "SEV-1"\nsay = "page the on-call"\npage = ["oncall"]\n'
    declare(tmp_path, "SEV-1")
    app, _ = make_app(tmp_path, server, extra=rule)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.outbox.offered == ["oncall"])
        await pilot.press("P")
        await until(lambda: isinstance(app.screen, ActionRunScreen))
        screen = app.screen
        assert isinstance(screen, ActionRunScreen)
        await pilot.press("y")
        await until(lambda: screen.outcome is not None)
    incident = IncidentDesk(Journal(tmp_path / "journal.jsonl")).state().id
    assert server.state.pages[incident]["events"] == ["trigger"]


async def test_an_overdue_update_offers_the_last_updates_channels_and_posts_to_them(
    tmp_path: Path, server: ChannelServer
) -> None:
    from console.incident.updates import draft_update

    desk = declare(tmp_path)
    state = desk.state()
    desk.post_update("initial", draft_update(state, "initial", desk.clock.now()), ["chat", "status"])
    app, _ = make_app(tmp_path, server)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(lambda: sorted(r.service for r in server.received) == ["slack", "statuspage"])
        app.clock.advance(2 * 3600)  # SEV-2 asks for an update every hour
        await app.incident.check_overdue()  # what the app's timer does every 20 s
        assert any("overdue: press i, then u (to chat, status, as the last one)" in t for t in toasts(app, "warning"))
        await pilot.press("i")
        await until(lambda: isinstance(app.screen, IncidentScreen) and app.screen.state is not None)
        await pilot.press("u")
        await until(lambda: isinstance(app.screen, PickScreen))
        await pilot.press("enter")  # the kind due
        await until(lambda: not isinstance(app.screen, PickScreen))
        await pilot.press("ctrl+s")  # the composer, as prefilled
        await until(lambda: isinstance(app.screen, PickScreen))
        picker = app.screen
        assert isinstance(picker, PickScreen)
        assert picker.options[0][1] == "as the last update: chat, status" and picker.selected == picker.options[0][0]
        await pilot.press("enter")  # the choice offered first
        await until(lambda: isinstance(app.screen, ActionRunScreen))
        screen = app.screen
        assert isinstance(screen, ActionRunScreen)
        await pilot.press("y")
        await until(lambda: screen.outcome is not None)
        assert "COMPLETED" in str(screen.query_one("#result", Static).render())
    assert sorted(r.service for r in server.received[2:]) == ["slack", "statuspage"]  # the new update, nowhere else
    posted = [e for e in Journal(tmp_path / "journal.jsonl").entries() if e["kind"] == "update.posted"]
    assert [e["data"]["channels"] for e in posted] == [["chat", "status"], ["chat", "status"]]


async def test_raising_an_open_incident_to_a_paging_rules_severity_offers_p_to_page(
    tmp_path: Path, server: ChannelServer
) -> None:
    rule = '\n[[incident.escalate]]\nafter = "30m"\nseverity = "SEV-1"\nsay = "page the on-call"\npage = ["oncall"]\n'
    declare(tmp_path, "SEV-3")
    app, _ = make_app(tmp_path, server, extra=rule)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("i")
        await until(lambda: isinstance(app.screen, IncidentScreen) and app.screen.state is not None)
        await app.outbox.tick()  # a pass of the outbox's timer: SEV-3 is below the rule, nothing is offered
        assert app.outbox.offered == [] and not any("press P" in text for text in toasts(app))
        await pilot.press("v")
        await until(lambda: isinstance(app.screen, PickScreen))
        levels = [value for value, _ in app.screen.options]
        await pilot.press(*["up"] * (levels.index("SEV-3") - levels.index("SEV-1")), "enter")
        await until(lambda: app.incident.desk.tracker.state.severity == "SEV-1")
        await until(lambda: app.outbox.offered == ["oncall"])  # on the timer's next pass
        assert any("is SEV-1: press P to page oncall (page the on-call)" in text for text in toasts(app, "warning"))
        await pilot.press("P")
        await until(lambda: isinstance(app.screen, ActionRunScreen))
        screen = app.screen
        assert isinstance(screen, ActionRunScreen)
        await pilot.press("y")
        await until(lambda: screen.outcome is not None)
    incident = IncidentDesk(Journal(tmp_path / "journal.jsonl")).state().id
    assert server.state.pages[incident]["events"] == ["trigger"]
