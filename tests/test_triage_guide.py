"""Triage leads right on the screens: a finished run closes with enter and the playbook moves on, an update step is
done only once an update is posted (its note prefilled), abandoning asks first, a finished run shows its outcome."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_triage_screen import FIXTURES, error_rate, journal
from textual.widgets import TextArea

from actions.registry import build_runner
from console import config as cfg
from console.clock import ManualClock
from console.journal import Journal
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.incident import IncidentScreen
from console.tui.screens.pick import PickScreen
from console.tui.screens.status_update import StatusUpdateScreen
from console.tui.screens.triage import TriageScreen
from tests.helpers import painted, settle, until

CONFIG = """
[console]
environment = "staging"
journal = "{journal}"

[[metric]]
name = "error rate"
url = "http://127.0.0.1:9/metrics"
path = "errorRate"
unit = "%"
warn = 0.5
crit = 1

[actions.rollback]
command = ["{fixtures}/record-argv", "--version", "{{version}}"]
params = {{ version = "release to roll back to" }}
risk = "write"

[[playbook]]
name = "high-error-rate"
title = "High error rate"
when = 'metric."error rate" > 1'
severity = "SEV-2"

[[playbook.steps]]
id = "rollback"
kind = "action"
action = "rollback"
params = {{ version = "v1.2.2" }}

[[playbook.steps]]
id = "recovered"
kind = "verify"
condition = 'metric."error rate" < 1'
within = "5m"

[[playbook.steps]]
id = "update"
kind = "update"
status = "mitigated"
note = "Rolled back to v1.2.2."
"""


def make_app(tmp_path: Path) -> ConsoleApp:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(journal=tmp_path / "journal.jsonl", fixtures=FIXTURES))
    config = cfg.load(path, environ={})
    clock = ManualClock(error_rate(0).taken_at)
    return ConsoleApp(config, build_runner(config, clock=clock.now), clock=clock, feeds=Feeds())


async def declared_run(pilot) -> None:
    """`t`, enter on the suggested playbook, enter to declare at its severity: the run at its first step."""
    pilot.app.live.update([error_rate(4.7)])
    await until(lambda: bool(pilot.app.triage.suggestions()), what="a suggestion")
    await pilot.press("t")
    await until(lambda: isinstance(pilot.app.screen, TriageScreen), what="the triage screen")
    await pilot.press("enter")
    await until(lambda: isinstance(pilot.app.screen, PickScreen), what="the offer to declare")
    await pilot.press("enter")
    await until(lambda: pilot.app.triage.view is not None, what="the run")


def title_of(screen: object) -> str:
    """A question's words, when a question is showing (and composed: a screen just pushed may not be yet)."""
    titles = screen.query("#pick-title") if isinstance(screen, PickScreen) else None
    return str(titles.first().render()) if titles else ""


def current(app: ConsoleApp) -> str:
    return str(app.screen.query_one("#current").render())


async def test_enter_closes_a_finished_run_and_the_playbook_moves_on(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await declared_run(pilot)
        await pilot.press("enter")  # preview the rollback
        await until(lambda: isinstance(app.screen, ActionRunScreen), what="the preview")
        await pilot.press("y")
        await until(lambda: app.screen.has_class("-done"), what="the rollback's end")
        assert "enter closes" in str(app.screen.query_one("#hint").render())
        # No tick while the screen returns (a loaded machine may take longer than a tick to get there): only the
        # return itself can move the run on. The controller's one-second ticker is put back after.
        ticker = app.triage._ticker
        assert ticker is not None
        ticker.stop()
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, TriageScreen), what="the triage screen again")
        await until(lambda: app.triage.view.step.id == "recovered", what="the next step, with no tick")
        app.triage._ticker = app.set_interval(1.0, app.triage.poll)
        assert "VERIFY" in current(app)


async def test_the_update_step_waits_for_a_posted_update_with_its_note_prefilled(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await declared_run(pilot)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, ActionRunScreen), what="the preview")
        await pilot.press("y")
        await until(lambda: app.screen.has_class("-done"), what="the rollback's end")
        await pilot.press("enter")
        app.live.update([error_rate(0.2)])
        await until(lambda: app.triage.view is not None and app.triage.view.step.id == "update", what="update")
        assert "ctrl+s posts it" in current(app)

        await pilot.press("enter")  # the incident screen, then which kind of update
        await until(lambda: isinstance(app.screen, PickScreen), what="the kind of update")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, StatusUpdateScreen), what="the composer")
        assert "Rolled back to v1.2.2." in app.screen.query_one("#details", TextArea).text
        await pilot.press("escape")  # not posted: the run stays at the update step
        await until(lambda: isinstance(app.screen, IncidentScreen), what="the incident screen")
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, TriageScreen), what="the triage screen")
        await pilot.pause(1.2)  # a sleep by design: past the one-second tick, the run must not have moved on
        assert app.triage.view.step.id == "update"
        kinds = [e["kind"] for e in journal(tmp_path)]
        assert "update.posted" not in kinds and "triage.finished" not in kinds
        assert "incident.status" in kinds  # moved to mitigated, as the step says, before the composer opened

        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, PickScreen), what="the kind of update")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, StatusUpdateScreen), what="the composer")
        await pilot.press("ctrl+s")
        await until(lambda: app.triage.engine is None, what="the run's end")
    entries = journal(tmp_path)
    kinds = [e["kind"] for e in entries]
    assert kinds.index("update.posted") < kinds.index("triage.finished")
    step = next(e["data"] for e in entries if e["kind"] == "triage.step" and e["data"]["step"] == "update")
    posted = next(e for e in entries if e["kind"] == "update.posted")
    assert step["update_seq"] == posted["seq"] and "Rolled back to v1.2.2." in posted["data"]["text"]


def test_an_initial_update_is_worded_for_the_incident_status(tmp_path: Path) -> None:
    from console.incident.commands import IncidentDesk
    from console.incident.updates import DETAILS, draft_update
    from console.journal import Journal

    clock = ManualClock(error_rate(0).taken_at)
    desk = IncidentDesk(Journal(tmp_path / "journal.jsonl", clock=clock.now), clock)
    desk.declare("The API answers slowly", "SEV-3")
    assert draft_update(desk.state(), "initial", clock.now())[DETAILS].startswith(
        "We are investigating an issue: The API answers slowly."
    )
    desk.set_status("mitigated")
    details = draft_update(desk.state(), "initial", clock.now())[DETAILS]
    assert details.startswith("A fix is in place for an issue (The API answers slowly); we are monitoring")
    assert "investigating" not in details


async def test_abandoning_asks_first_and_a_finished_run_shows_its_outcome(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await declared_run(pilot)
        await pilot.press("x")
        await until(lambda: isinstance(app.screen, PickScreen), what="the question")
        await pilot.press("enter")  # "No, keep going" is the one highlighted
        await until(lambda: isinstance(app.screen, TriageScreen), what="the triage screen")
        await settle(pilot)  # the journal writes done: none may say the run finished
        assert app.triage.engine is not None and "triage.finished" not in [e["kind"] for e in journal(tmp_path)]
        await pilot.press("x")
        await until(lambda: isinstance(app.screen, PickScreen), what="the question")
        await pilot.press("down", "enter")
        await until(lambda: app.triage.engine is None, what="the run's end")
        assert "abandoned" in current(app) and "finished" in str(app.screen.query_one("#run-title").render())
        assert "suggests SEV-2" not in str(app.screen.query_one("#playbooks").render())  # ranked below the others
    finished = [e["data"] for e in journal(tmp_path) if e["kind"] == "triage.finished"]
    assert finished == [{"outcome": "abandoned", "reason": "abandoned by the operator"}]


async def test_the_wall_follows_a_run_started_after_it_was(tmp_path: Path) -> None:
    from test_wall import PLAYBOOK, journal_as, make_wall

    from console.live import LiveState
    from console.triage.engine import TriageEngine

    clock = ManualClock(error_rate(0).taken_at)
    app = make_wall(tmp_path, clock=clock)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(lambda: app.ready and app.triage.loaded, what="the wall and its playbooks")  # a run needs them
        await app.triage.poll()
        assert app.triage.engine is None
        carol = journal_as(tmp_path / "journal.jsonl", clock, "carol", "bastion")
        TriageEngine.start(PLAYBOOK, carol, LiveState(clock), clock)
        await app.incident.refresh()  # as its one-second timer does

        async def following() -> bool:
            await app.triage.poll()  # one already under way (the first, once the playbooks loaded) returns at once
            return app.triage.view is not None and app.triage.view.step.id == "deploy"

        await until(following, what="the wall following carol's run")
        assert app.triage.view is not None and app.triage.view.step.id == "deploy"
        await pilot.pause()
        shown = str(app.screen.query_one("#wall-triage").render())
        assert "API returns errors" in shown and "run by carol@bastion" in shown
    assert [e["kind"] for e in Journal(tmp_path / "journal.jsonl").entries()] == ["triage.started"]  # it only read


LONG_TITLE = CONFIG.replace('title = "High error rate"', 'title = "The API returns errors on checkout after a deploy"')


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_the_dashboard_hint_names_the_next_step_and_the_key(snap_compare, tmp_path: Path, size) -> None:
    """A look step took the operator to the dashboard: one line says the next step and that `t` continues, even at
    80 columns with a title too long for the banner's `▶ triage` to stay."""
    path = tmp_path / "config.toml"
    path.write_text(LONG_TITLE.format(journal=tmp_path / "journal.jsonl", fixtures=FIXTURES))
    config = cfg.load(path, environ={})
    clock = ManualClock(error_rate(0).taken_at)
    app = ConsoleApp(config, build_runner(config, clock=clock.now), clock=clock, feeds=Feeds())

    async def run_before(pilot) -> None:
        await declared_run(pilot)
        await pilot.press("escape")
        await until(lambda: app.screen is app.dashboard, what="the dashboard")
        hint = "continue triage 1/3: next, run rollback"
        await until(lambda: hint in app.dashboard.triage_hint.text, what="the hint")
        # the timeline lists the run's start once its every-second refresh has read it (what the snapshot shows)
        await until(lambda: "triage started" in painted(app), what="the run's start on the timeline")
        await until(lambda: hint in painted(app), what="the hint painted")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_a_more_severe_playbook_offers_to_raise_and_the_one_that_mitigated_to_retitle(
    tmp_path: Path, monkeypatch
) -> None:
    from console.incident.commands import IncidentDesk

    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    app = make_app(tmp_path)
    clock = app.clock
    IncidentDesk(Journal(tmp_path / "journal.jsonl", clock=clock.now), clock).declare("The API answers slowly", "SEV-3")
    async with app.run_test(size=(100, 30)) as pilot:
        app.live.update([error_rate(4.7)])
        await until(lambda: bool(app.triage.suggestions()), what="a suggestion")
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TriageScreen), what="the triage screen")
        await pilot.press("enter")  # the incident is open: the run starts in it, and SEV-2 is offered
        await until(lambda: isinstance(app.screen, PickScreen), what="the offer to raise")
        assert "SEV-3" in title_of(app.screen)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, TriageScreen), what="the triage screen")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, ActionRunScreen), what="the preview")
        await pilot.press("y")
        await until(lambda: app.screen.has_class("-done"), what="the rollback's end")
        await pilot.press("enter")
        app.live.update([error_rate(0.2)])
        await until(lambda: app.triage.view is not None and app.triage.view.step.id == "update", what="update")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, PickScreen), what="the kind of update")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, StatusUpdateScreen), what="the composer")
        await pilot.press("ctrl+s")
        await until(lambda: "mitigated it" in title_of(app.screen), what="the offer to retitle")
        await pilot.press("enter")
        await until(lambda: "incident.retitled" in [e["kind"] for e in journal(tmp_path)], what="the new title")
    entries = journal(tmp_path)
    severity = next(e["data"] for e in entries if e["kind"] == "incident.severity")
    assert (severity["from"], severity["severity"]) == ("SEV-3", "SEV-2")
    retitled = next(e["data"] for e in entries if e["kind"] == "incident.retitled")
    assert retitled == {"title": "High error rate", "from": "The API answers slowly"}


def test_the_post_mortem_measures_detection_and_acknowledgement_from_the_onset(tmp_path: Path, capsys) -> None:
    """17 WARN/CRIT observations 54 s before a declaration that was not backdated: detected 54 s before it."""
    from console.cli import main
    from console.incident.commands import IncidentDesk

    clock = ManualClock(error_rate(0).taken_at)
    journal_ = Journal(tmp_path / "journal.jsonl", clock=clock.now)
    for n in range(17):
        state = "warn" if n < 5 else "crit"
        journal_.append("observation", {"source": "metric", "name": f"m{n}", "state": state, "from": "ok"})
        clock.advance(3)
    clock.advance(3)  # 54 s after the first
    IncidentDesk(journal_, clock).declare("The API's error rate is high", "SEV-2")
    assert main(["journal", "export", "--journal", str(journal_.path), "--format", "md"]) == 0
    text = capsys.readouterr().out
    assert "| Time to detect | onset → first alert (#1) | 0s |" in text
    assert "| Time to acknowledge | first alert → declared | 54s |" in text
    assert "the first WARN-or-worse observation (54s before the declaration)" in text
