"""`[keys]` and the theme are judged where every command reads the config (console/config/keys.py), and `check`
reports whatever another command would refuse: the TUI's bindings and themes are held to the core's lists here."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.keys import Keys

import console.tui.screens
import widgets
from console.config.keys import BINDING_IDS, NAMED_KEYS, PANE_KEY_DIGITS, THEME_NAMES, key_problem
from console.sources.base import PANE_KEYS
from console.tui.app import ConsoleApp
from tests.helpers import cli, config_file
from themes import THEMES


def binding_classes() -> list[type]:
    """The app, every screen and every widget class (all imported)."""
    classes: list[type] = [ConsoleApp]
    for package in (console.tui.screens, widgets):
        for module_info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(module_info.name)
            classes.extend(v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__)
    return classes


def bindings() -> list[Binding]:
    return [b for cls in binding_classes() for b in getattr(cls, "BINDINGS", []) if isinstance(b, Binding)]


def test_the_core_lists_every_binding_id_the_tui_defines() -> None:
    """A binding added, renamed or removed in the TUI is added, renamed or removed in console/config/keys.py."""
    unbound = {f"pane.{key}" for key in PANE_KEY_DIGITS if key not in PANE_KEYS}  # no pane takes them yet
    assert {b.id for b in bindings() if b.id} == BINDING_IDS - unbound


def test_the_core_names_every_theme() -> None:
    assert set(THEMES) == set(THEME_NAMES)


def test_every_key_the_console_binds_is_one_the_grammar_accepts() -> None:
    for binding in bindings():
        for key in binding.key.split(","):
            assert key_problem(key.strip()) is None, binding


def test_every_named_key_is_one_textual_knows() -> None:
    known = {key.value for key in Keys} | {"enter", "space"}  # Textual's aliases of return and ctrl+@
    assert known >= NAMED_KEYS


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("ctrl+nonsense+++", "'nonsense' is not a modifier"),
        ("ctrl+", "a key is missing after the last +"),
        ("nonsense", "'nonsense' is not a key"),
        ("ctrl+p,", "no key given"),
    ],
)
def test_a_key_no_terminal_sends_is_named(key: str, problem: str) -> None:
    from console.config import loads

    with pytest.raises(Exception, match=problem):
        loads(f'[keys]\n"app.palette" = "{key}"\n')


CHECK_REFUSES = [
    ('theme = "nope"\n', "line 4: console.theme: expected 'incident-dark', 'incident-light' or 'incident-mono'"),
    ('[keys]\n"no.such.binding" = "z"\n', 'line 5: keys."no.such.binding": no binding has this id'),
    ('[keys]\n"app.palette" = "ctrl+nonsense+++"\n', "line 5: keys.\"app.palette\": 'ctrl+nonsense+++': 'nonsense'"),
]


@pytest.mark.parametrize(("body", "expected"), CHECK_REFUSES)
def test_check_refuses_the_keys_and_theme_the_tui_would(tmp_path: Path, body: str, expected: str) -> None:
    path = config_file(tmp_path / "etc", body)
    for argv in (["check"], ["status"], ["run", "anything"], []):  # [] is the TUI (stdout no terminal here)
        result = cli(*argv, "--config", path)
        assert result.returncode == 2 and result.stdout == "", (argv, result.stdout)
        assert result.stderr.startswith(f"incident-console: {path}: "), result.stderr
        assert expected in result.stderr and result.stderr.count("\n") == 1, (argv, result.stderr)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('playbooks = ["/nonexistent"]\n', "console.playbooks: /nonexistent is not a folder"),
        ('[[runbooks]]\npath = "/nonexistent"\n', "runbooks: /nonexistent is neither a file nor a folder"),
        (
            '[redis]\nurl = "redis://127.0.0.1:1"\n[actions.flush-cache]\nscript = "echo hi"\n',
            "actions.flush-cache: the name is taken by a built-in action",
        ),
    ],
)
def test_check_reports_what_triage_and_run_refuse(tmp_path: Path, body: str, expected: str) -> None:
    path = config_file(tmp_path / "etc", body)
    result = cli("check", "--config", path)
    assert result.returncode == 2, result.stdout
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert f"{path}: 1 problem, listed above; " in result.stdout


def test_every_class_with_keys_has_a_name_the_operator_knows() -> None:
    """`?` shows where a key works by HELP_PLACE (`PostgreSQL pane`), never by class name (`PgLockTree`)."""
    for cls in binding_classes():
        if any(isinstance(b, Binding) and b.description for b in getattr(cls, "BINDINGS", [])):
            assert getattr(cls, "HELP_PLACE", "") not in ("", cls.__name__), cls


async def test_help_names_places_never_classes(tmp_path: Path) -> None:
    from test_dashboard_snapshots import feed_every_pane, make_full_app

    app = make_full_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed_every_pane(pilot)
        await pilot.press("3", "question_mark")
        await pilot.pause()
        places = {row[0] for row in app.screen.rows}
    assert {"everywhere", "dashboard", "PostgreSQL pane", "PostgreSQL locks", "any table"} <= places
    assert not places & {cls.__name__ for cls in binding_classes()}


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
async def test_a_pane_key_moves_the_focus_before_the_next_key_is_read(tmp_path: Path, size: tuple[int, int]) -> None:
    """`5` then enter typed in one breath: enter goes to the Redis pane. Widget.focus() moves the focus only on a
    later turn of the message loop, after an enter already queued (a pty walk opened a PostgreSQL session instead)."""
    from test_dashboard_snapshots import feed_every_pane, make_full_app

    app = make_full_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await feed_every_pane(pilot)
        dashboard = app.screen
        for index, pane in enumerate(dashboard.panes):
            dashboard.action_focus_pane(index)  # no await between the key and the question
            assert app.focused is not None and pane.widget in (app.focused, *app.focused.ancestors), pane.title
