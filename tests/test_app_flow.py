"""Keyboard flows through the whole app: palette -> form -> preview -> confirm -> output -> journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from actions.registry import build_runner
from console import config as cfg
from console.clock import ManualClock
from console.journal import Journal
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.help import HelpScreen
from tests.helpers import choose_in_palette, painted, shown_lines, toasts, until

FIXTURES = Path(__file__).parent / "fixtures"


def make_app(tmp_path: Path, *, read_only: bool = False, risk: str = "write") -> ConsoleApp:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[actions.say]\ncommand = ["{FIXTURES}/record-argv", "{{word}}"]\nparams = {{ word = "a word" }}\n'
        f'risk = "{risk}"\n'
    )
    config = cfg.load(path, environ={})
    from datetime import UTC, datetime

    clock = ManualClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    runner = build_runner(config, read_only=read_only, clock=clock.now)
    return ConsoleApp(config, runner, clock=clock, feeds=Feeds())


def _preview(app: ConsoleApp) -> str:
    """The action preview on screen, "" while no action screen is up."""
    if not isinstance(app.screen, ActionRunScreen):
        return ""
    return str(app.screen.query_one("#preview-text", Static).render())


async def test_palette_runs_a_command_action_and_journals_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await choose_in_palette(pilot, "say")
        assert isinstance(app.focused, Input) and app.focused.id == "param-word"
        await pilot.press(*"hello world", "enter")
        await until(lambda: "record-argv" in _preview(app), what="the preview")
        screen = app.screen
        assert not (tmp_path / "argv.json").exists(), "nothing runs before confirmation"
        assert "hello world" in _preview(app)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        result = str(screen.query_one("#result", Static).render())
        assert "COMPLETED" in result and "journal seq 1" in result
        assert "arg: hello world" in "\n".join(screen.query_one("#output").lines)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ActionRunScreen)
    assert json.loads((tmp_path / "argv.json").read_text()) == ["hello world"]
    kinds = [e["kind"] for e in Journal(tmp_path / "journal.jsonl").entries()]
    assert kinds == ["action.requested", "action.completed"]


async def test_typed_confirmation_refuses_the_wrong_word(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    app = make_app(tmp_path, risk="destructive")
    async with app.run_test(size=(100, 30)) as pilot:
        await choose_in_palette(pilot, "say")
        await pilot.press(*"x", "enter")
        await until(lambda: isinstance(app.focused, Input) and app.focused.id == "typed", what="the confirmation field")
        screen = app.screen
        assert isinstance(screen, ActionRunScreen)
        await pilot.press("y")  # y is not enough for a destructive action: it types into the confirmation field
        await pilot.press(*"production", "enter")
        await pilot.pause()
        assert "That is not 'staging'" in str(screen.query_one("#hint", Static).render())
        assert not (tmp_path / "argv.json").exists()
        screen.query_one("#typed", Input).value = ""
        await pilot.press(*"staging", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "COMPLETED" in str(screen.query_one("#result", Static).render())
    assert (tmp_path / "argv.json").exists()


async def test_read_only_palette_lists_but_refuses(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    app = make_app(tmp_path, read_only=True)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await choose_in_palette(pilot, "say")
        refused = "refused, the console is read-only"
        await until(lambda: any(refused in text for text in toasts(app)), what="the refusal")
        assert not isinstance(app.screen, ActionRunScreen)
        assert "READ-ONLY" in str(app.dashboard.banner.render())
    assert list(Journal(tmp_path / "journal.jsonl").entries()) == []
    assert not (tmp_path / "argv.json").exists()


async def test_help_lists_every_binding_with_remapped_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    app.config.keys["app.help"] = "f1"
    async with app.run_test(size=(100, 40)) as pilot:
        app.set_keymap(app.config.keys)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = {row[3]: row for row in app.screen.rows}
        wanted = {"app.palette", "app.quit", "app.quit_anywhere", "action.confirm", "action.close", "form.submit"}
        assert wanted | {"detail.copy"} <= set(rows)
        assert rows["app.help"][1] == "f1"


def test_theme_choice_and_no_color() -> None:
    from themes import choose_theme

    assert choose_theme(None, "incident-dark", no_color=False) == "incident-dark"
    assert choose_theme(None, "incident-light", no_color=True) == "incident-mono"
    assert choose_theme("incident-light", "incident-dark", no_color=True) == "incident-light"
    with pytest.raises(ValueError, match="unknown theme 'neon'"):
        choose_theme("neon", "incident-dark", no_color=False)


def test_unknown_theme_is_a_usage_error(tmp_path: Path, capsys) -> None:
    from console.cli import main

    path = tmp_path / "config.toml"
    path.write_text('[console]\ntheme = "neon"\n')
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 2: console.theme: expected 'incident-dark', 'incident-light' or 'incident-mono', got 'neon'" in err
    path.write_text("[console]\n")
    assert main(["--config", str(path), "--theme", "neon"]) == 2
    err = capsys.readouterr().err
    assert "console.theme / --theme: unknown theme 'neon' (themes: incident-dark, incident-light, incident-mono)" in err


async def test_resizing_switches_between_all_panes_and_one_pane(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(200, 60)) as pilot:
        dashboard = app.dashboard
        assert not dashboard.has_class("-narrow")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert dashboard.has_class("-narrow")
        timeline = dashboard.query_one("#panes").children[0]
        assert timeline.display and timeline.region.height > 5
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        assert not dashboard.has_class("-narrow")


async def test_ctrl_c_quits(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0


async def test_palette_declares_an_incident_and_a_notes_from_the_dashboard(tmp_path: Path) -> None:
    from console.tui.screens.declare import DeclareScreen

    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await choose_in_palette(pilot, "Declare an")
        await until(lambda: isinstance(app.screen, DeclareScreen), what="the declare form")
        await pilot.press(*"checkout returns 500s", "ctrl+s")
        await until(lambda: app.screen.__class__.__name__ == "IncidentScreen", what="the incident screen")
        await pilot.press("escape")
        await until(lambda: app.screen is app.dashboard, what="the dashboard")
        await pilot.press("a")
        await until(lambda: isinstance(app.focused, Input), what="the note field")
        await pilot.press(*"TODO: add a pool alert", "enter")

        def kinds() -> list[str]:
            return [e["kind"] for e in Journal(tmp_path / "journal.jsonl").entries()]

        # the prompt's answer starts a worker that journals the note in a thread, then refreshes the banner
        await until(lambda: "note" in kinds(), what="the note journaled")
        await app.workers.wait_for_complete()
        assert "checkout returns 500s" in str(app.dashboard.banner.render())
    assert kinds() == ["incident.declared", "note"]


async def test_live_polling_updates_tiles_and_journals_state_changes(tmp_path: Path, http_server) -> None:
    """A real endpoint goes from healthy to failing: the tile says so and the change reaches the timeline."""
    from widgets.health_grid import HealthGrid
    from widgets.timeline import Timeline

    http_server.route("/health", body={"status": "ok"})
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\nrefresh = "500ms"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[[health]]\nname = "api"\nurl = "{http_server.url("/health")}"\ntimeout = "1s"\n'
    )
    config = cfg.load(path, environ={})
    app = ConsoleApp(config, build_runner(config))
    async with app.run_test(size=(120, 40)):
        tile = app.dashboard.query_one(HealthGrid).tiles["health:api"]
        await until(lambda: tile.check.state.value == "ok", what="the tile OK")
        assert tile.check.state.value == "ok" and tile.has_class("-ok")
        http_server.route("/health", status=500, body={"status": "error"})
        await until(lambda: tile.check.state.value == "down", what="the tile DOWN")
        assert tile.check.state.value == "down" and tile.check.reason == "HTTP 500"
        await until(lambda: app.dashboard.query_one(Timeline).table.row_count, what="a timeline row")
        assert app.dashboard.query_one(Timeline).table.row_count == 1
    entries = list(Journal(tmp_path / "journal.jsonl").entries())
    assert [(e["kind"], e["data"]["state"], e["data"]["reason"]) for e in entries] == [
        ("observation", "down", "HTTP 500")
    ]


async def test_a_worker_that_dies_is_shown_and_journaled(tmp_path: Path) -> None:
    async def broken() -> None:
        raise RuntimeError("driver bug: list index out of range")

    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30), notifications=True):
        app.run_worker(broken, name="the share follower", exit_on_error=False)
        await until(lambda: toasts(app), what="a notice")
        shown = toasts(app)
        assert any("RuntimeError: driver bug: list index out of range" in m for m in shown), shown
    errors = [e for e in Journal(tmp_path / "journal.jsonl").entries() if e["kind"] == "console.error"]
    assert len(errors) == 1 and "the share follower failed" in errors[0]["data"]["error"]


async def test_a_poll_that_raises_is_shown_once_and_journaled_while_the_others_go_on(tmp_path: Path) -> None:
    from console.sources.base import Feed

    polls = {"good": 0}

    async def broken() -> None:
        raise RuntimeError("driver bug: list index out of range")

    async def good() -> None:
        polls["good"] += 1

    app = make_app(tmp_path)
    app.feeds = Feeds(polled=[Feed("metric:broken", 0.2, 1.0, broken), Feed("metric:good", 0.2, 1.0, good)])
    async with app.run_test(size=(100, 30), notifications=True):
        await until(lambda: polls["good"] >= 4 and toasts(app), what="four polls of the good feed and a notice")
        shown = toasts(app)
    assert polls["good"] >= 4, "the other feed of the interval stopped"
    assert sum("polling metric:broken failed: RuntimeError: driver bug" in m for m in shown) == 1, shown
    errors = [e for e in Journal(tmp_path / "journal.jsonl").entries() if e["kind"] == "console.error"]
    assert [e["data"]["feed"] for e in errors] == ["metric:broken"]


async def test_ctrl_c_copies_a_log_selection_and_quits_once_nothing_is_selected(tmp_path: Path) -> None:
    from test_log_view import app_lines, parse

    from widgets.log_pane import LogPane
    from widgets.log_view import LogView

    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        '[[logs]]\nname = "app"\npath = "/var/log/app/app.log"\n'
    )
    config = cfg.load(path, environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(160, 50)) as pilot:
        app.dashboard.query_one(LogPane).append(parse("app", app_lines(5)))
        view = app.dashboard.query_one(LogView)
        await until(lambda: any("12:00:00" in line for line in shown_lines(view)), what="the lines painted")
        await pilot.mouse_down(LogView, offset=(1, 1))
        await pilot.mouse_up(LogView, offset=(8, 1))
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running and app.clipboard == "12:00:00"
        await pilot.press("escape", "ctrl+c")
        await pilot.pause()
    assert app.return_code == 0


async def test_the_palette_lists_the_console_commands_before_textual_ones(tmp_path: Path) -> None:
    from textual.command import CommandList, CommandPalette

    from console.tui.controllers.incident import INCIDENT_COMMANDS
    from console.tui.palette import QUIT_HELP

    app = make_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("ctrl+p")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await until(lambda: palette.has_class("-ready"), what="the palette's commands")
        prompts = [str(option.prompt) for option in palette.query_one(CommandList).options]
    names = [prompt.split("\n")[0] for prompt in prompts]
    console = ["Run say (write)", *INCIDENT_COMMANDS.values(), "Guided triage"]
    assert names[: len(console)] == console
    assert {"Theme", "Quit"} <= set(names[len(console) :])
    assert f"Quit\n{QUIT_HELP}" in prompts, "the console's quit: it cancels a running action first"


async def test_the_palette_quit_ends_the_console(tmp_path: Path) -> None:
    """The palette calls the console's quit (a coroutine since it waits for a running action's outcome)."""
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await choose_in_palette(pilot, "Quit")
        await until(lambda: not app.is_running, what="the console ended")
    assert app.return_code == 0


async def test_the_preview_shows_the_parameters_before_a_long_argv_at_80x24(tmp_path: Path) -> None:
    long_dir = "/opt/incident-console/releases/2026-11-23T03-00-00Z/venv/bin"
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "demo"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[actions.rollback]\ncommand = ["{long_dir}/python3", "{long_dir}/../share/rollback.py", "--url", '
        '"http://127.0.0.1:41234", "--environment", "{environment}", "--version", "{version}"]\n'
        'params = { version = { description = "release to roll back to", default = "v1.2.2" } }\n'
        'risk = "destructive"\n'
    )
    config = cfg.load(path, environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(80, 24)) as pilot:
        app.request_action("rollback", {"version": "v1.2.2"})
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ActionRunScreen)
        shown = painted(app)
    assert "version = v1.2.2" in shown


async def test_a_controller_called_while_the_app_closes_finds_no_screen_and_raises_nothing(tmp_path: Path) -> None:
    """Textual empties the screen stack before it stops the timers: a triage tick or an outbox repaint that lands
    then must not read `app.screen` (ScreenStackError ended a CI run after the demo's rollback)."""
    from textual.app import ScreenStackError

    import console.tui.screens.triage  # noqa: F401  (imported: the controller asks whether its screen shows)
    from console.tui.controllers import showing

    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert showing(app) is app.screen
    assert app.screen_stack == []
    with pytest.raises(ScreenStackError):
        _ = app.screen  # what the controllers read before
    assert showing(app) is None
    assert app.triage._screen() is None
    app.outbox.show()
