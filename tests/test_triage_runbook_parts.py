"""A runbook opens as its parts in the triage screen: "High Error Rate" of a long runbook (ours, in the shape of a
team's operations guide) in 3 keys
(enter, h, enter), each part comes back to the question at its end, a reference part ("Useful Commands") is a menu
of its commands, and typing (or `/`) filters any list of choices."""

from __future__ import annotations

import shutil
from pathlib import Path

from actions.registry import build_runner
from console import config as cfg
from console.runbooks.model import load_runbook
from console.sources.base import Feeds
from console.triage.runbook_view import SECTIONS, as_playbook
from console.triage.steps import ActionStep, AskStep
from console.tui.app import ConsoleApp
from console.tui.screens.pick import PickScreen
from console.tui.screens.triage import TriageScreen
from tests.helpers import until

RUNBOOKS = Path(__file__).parent / "fixtures" / "triage-runbooks"
GUIDE = RUNBOOKS / "ops-guide.md"  # a long operations guide: "High Error Rate" is its 9th part
SHORT = RUNBOOKS / "service-ops.md"  # a short one ending in a reference section


def test_each_part_is_a_choice_and_comes_back_to_the_question() -> None:
    book = as_playbook(load_runbook(GUIDE, {}))
    parts = book.steps[0]
    assert isinstance(parts, AskStep) and parts.id == SECTIONS
    labels = [c.label for c in parts.choices]
    assert labels[:3] == ["Quick Health Check", "Incident Response Workflow", "Application Management"]
    assert "High Error Rate" in labels and labels[-1] == "done with the runbook"
    first = book.step(next(c.next for c in parts.choices if c.label == "High Error Rate"))
    assert first is not None and first.title.startswith("Investigation Steps")
    ends = [s for s in book.steps if s.next == SECTIONS]
    assert len(ends) >= len(labels) - 2  # every checklist part, and the menus' way back


def test_a_reference_part_is_a_menu_of_its_commands() -> None:
    book = as_playbook(load_runbook(SHORT, {}))
    menu = next(s for s in book.steps if isinstance(s, AskStep) and s.id.startswith("useful-commands--menu"))
    labels = [c.label for c in menu.choices]
    assert labels[0] == "Check service health: npm run health:check (line 23)"
    assert labels[-1] == "back to the parts of the runbook"
    for choice in menu.choices[:-1]:
        step = book.step(choice.next)
        assert isinstance(step, ActionStep) and step.next == menu.id  # run it, then back to the menu


async def test_high_error_rate_is_three_keys_from_the_start_of_the_runbook(tmp_path: Path) -> None:
    runbook = tmp_path / "ops-guide.md"
    shutil.copy(GUIDE, runbook)
    runbook.chmod(0o600)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[[runbooks]]\npath = "{runbook}"\n'
    )
    config = cfg.load(path, environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: bool(app.triage.playbooks), what="the playbooks")
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TriageScreen), what="the triage screen")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, PickScreen), what="the offer to declare")
        await pilot.press("down", "enter")  # start without an incident
        await until(lambda: app.triage.view is not None, what="the run")
        assert app.triage.view.step.id == SECTIONS
        keys = ["enter", "h", "enter"]
        await pilot.press(keys[0])
        await until(lambda: isinstance(app.screen, PickScreen), what="the parts")
        await pilot.press(*keys[1:])
        await until(lambda: app.triage.view.step.id != SECTIONS, what="the part")
        assert app.triage.view.step.title.startswith("Investigation Steps") and len(keys) <= 3


async def test_typing_or_slash_filters_the_choices(tmp_path: Path) -> None:
    from textual.app import App
    from textual.widgets import OptionList

    chosen: list[str | None] = []

    class Host(App):
        def on_mount(self) -> None:
            options = [("a", "Database Management"), ("b", "High Error Rate"), ("c", "Incident Communication")]
            self.push_screen(PickScreen("Which part?", options), chosen.append)

    async with Host().run_test() as pilot:
        await pilot.press("c", "o", "m")  # "Incident Communication" holds it; none starts with it
        shown = pilot.app.screen.query_one(OptionList)
        assert shown.option_count == 1
        await pilot.press("enter")
        await pilot.pause()
    assert chosen == ["c"]
    async with Host().run_test() as pilot:
        await pilot.press("slash", "e", "down", "enter")  # all three hold an e, none starts with one: in order
        await pilot.pause()
    assert chosen[-1] == "b"
