"""The triage screen: `t`, pick the suggested playbook, walk it with the keyboard to a real action and back to
green; read-only refusal and skips; snapshots at 80x24 and 160x50."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.registry import build_runner
from console import config as cfg
from console.clock import ManualClock
from console.journal import Journal
from console.models import State
from console.models.health import MetricSnapshot
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.triage import TriageScreen
from tests.helpers import painted, settle, shown_lines, toasts, until

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
CONFIG = """
[console]
environment = "staging"
journal = "{journal}"
read_only = {read_only}

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
id = "errors"
title = "Error rate is over 1 %"
kind = "check"
condition = 'metric."error rate" > 1'

[[playbook.steps]]
id = "deploy"
kind = "ask"
question = "Did a deploy go out just before the errors?"
choices = [{{ label = "yes" }}, {{ label = "no", next = "escalate" }}]

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
on_fail = "escalate"

[[playbook.steps]]
id = "fixed"
kind = "done"
outcome = "mitigated"

[[playbook.steps]]
id = "escalate"
kind = "done"
outcome = "escalated"
"""


def make_app(tmp_path: Path, *, read_only: bool = False) -> ConsoleApp:
    path = tmp_path / "config.toml"
    path.write_text(
        CONFIG.format(journal=tmp_path / "journal.jsonl", read_only=str(read_only).lower(), fixtures=FIXTURES)
    )
    config = cfg.load(path, environ={})
    clock = ManualClock(NOW)
    return ConsoleApp(config, build_runner(config, read_only=read_only, clock=clock.now), clock=clock, feeds=Feeds())


def error_rate(value: float) -> MetricSnapshot:
    state = State.CRIT if value > 1 else State.WARN if value > 0.5 else State.OK
    return MetricSnapshot(name="error rate", state=state, value=value, unit="%", warn=0.5, crit=1, taken_at=NOW)


def journal(tmp_path: Path) -> list[dict]:
    return list(Journal(tmp_path / "journal.jsonl").entries())


async def start_suggested(pilot, *, declare: bool) -> None:
    pilot.app.live.update([error_rate(4.7)])
    await settle(pilot)
    await pilot.press("t")
    await settle(pilot)
    await pilot.press("enter")  # the suggested playbook is highlighted first
    await settle(pilot)
    if not declare:
        await pilot.press("down")  # "Start without an incident"
    await pilot.press("enter")  # else "Declare SEV-2: High error rate"
    await until(lambda: pilot.app.triage.view is not None, what="the run")  # it starts in a worker thread
    await settle(pilot)


async def test_from_red_to_green_through_a_playbook(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_suggested(pilot, declare=True)
        assert app.dashboard.banner.triage == "triage: High error rate, step 2/6"
        assert "▶ triage 2/6" in str(app.dashboard.banner.render())  # 100 columns: the short form
        current = str(app.screen.query_one("#current").render())
        assert "Did a deploy go out" in current and "▶ yes" in current  # its two choices, answered here
        await pilot.press("enter")  # "yes", which leads to the rollback: its preview opens at once
        await settle(pilot)
        assert isinstance(app.screen, ActionRunScreen) and not (tmp_path / "argv.json").exists()  # nothing ran
        assert "version = v1.2.2" in str(app.screen.query_one("#preview-text").render())
        run = app.screen
        await pilot.press("y")
        await until(lambda: run.outcome is not None, what="the rollback's outcome")
        await pilot.press("escape")
        # the engine picks the outcome up on its next poll: the verify step
        await until(lambda: "error rate" in str(app.screen.query_one("#current").render()), what="the verify step")
        app.live.update([error_rate(0.2)])
        await until(lambda: app.triage.engine is None, what="the run's end")
        assert app.triage.engine is None and "▶ triage:" not in str(app.dashboard.banner.render())
    assert json.loads((tmp_path / "argv.json").read_text()) == ["--version", "v1.2.2"]
    entries = journal(tmp_path)
    steps = [(e["data"]["step"], e["data"]["result"]) for e in entries if e["kind"] == "triage.step"]
    assert steps == [
        ("errors", "pass"),
        ("deploy", "answered"),
        ("rollback", "pass"),
        ("recovered", "pass"),
        ("fixed", "done"),
    ]
    kinds = [e["kind"] for e in entries]
    assert kinds.index("incident.declared") < kinds.index("action.requested") < kinds.index("triage.finished")
    finished = next(e for e in entries if e["kind"] == "triage.finished")
    assert finished["data"]["outcome"] == "mitigated" and finished["incident"] is not None


async def test_read_only_refuses_the_action_and_a_skip_is_journaled_with_its_reason(tmp_path: Path) -> None:
    app = make_app(tmp_path, read_only=True)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await start_suggested(pilot, declare=False)
        await pilot.press("enter")  # answer "yes"; the rollback it leads to is refused, nothing journaled
        await settle(pilot)
        assert any("read-only" in text for text in toasts(app))
        assert "proposed: rollback  version = v1.2.2" in str(app.screen.query_one("#current").render())
        await pilot.press("s")
        await settle(pilot)
        await pilot.press(*"no deploy rights here", "enter")
        await settle(pilot)
        assert "recovered" in str(app.screen.query_one("#steps").render()) or app.triage.view.step.id == "recovered"
    entries = journal(tmp_path)
    assert not any(e["kind"].startswith("action.") for e in entries)
    skipped = next(e for e in entries if e["kind"] == "triage.skipped")
    assert skipped["data"] == {"step": "rollback", "reason": "no deploy rights here", "next": "recovered"}


async def test_a_restarted_console_resumes_the_run_at_the_same_step(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_suggested(pilot, declare=False)
    again = make_app(tmp_path)
    async with again.run_test(size=(100, 30)) as pilot:
        await until(lambda: again.triage.view is not None, what="the run")  # picked up after the first paint
        assert again.triage.view is not None and again.triage.view.step.id == "deploy"
        assert "2/6" in str(again.dashboard.banner.render())


async def test_enter_with_no_playbook_highlighted_starts_nothing_and_says_what_to_do(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        app.live.update([error_rate(4.7)])  # a playbook is suggested: only the filter leaves nothing to highlight
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("slash", *"no such playbook", "enter")
        await settle(pilot)
        listed = "\n".join(shown_lines(app.screen.query_one("#playbooks")))
        assert "no playbook matches" in listed and "High error rate" not in listed
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TriageScreen)  # no "Declare one first?" either
        assert any("Pick a playbook first" in text for text in toasts(app, "warning"))
        assert app.triage.engine is None and app.triage.view is None
        title = "\n".join(shown_lines(app.screen.query_one("#run-title")))
        assert "No playbook is running" in title
    assert not any(e["kind"].startswith("triage.") or e["kind"] == "incident.declared" for e in journal(tmp_path))


async def test_a_list_opened_before_the_playbooks_load_says_they_are_loading_not_that_none_match(
    tmp_path: Path,
) -> None:
    """The playbooks load after the first paint: `t` pressed in the first second showed "no playbook matches"."""
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.triage.loaded, what="the playbooks loaded")
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TriageScreen)
        app.triage.loaded, loaded = False, app.triage.playbooks
        app.triage.playbooks = []  # as the controller holds them before its first load
        screen.show_playbooks()
        await settle(pilot)
        listed = "\n".join(shown_lines(screen.query_one("#playbooks")))
        assert "loading the playbooks" in listed and "no playbook matches" not in listed
        app.triage.loaded, app.triage.playbooks = True, loaded
        screen.show_playbooks()
        await settle(pilot)
        assert "High error rate" in "\n".join(shown_lines(screen.query_one("#playbooks")))


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_triage_screen(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot) -> None:
        await start_suggested(pilot, declare=False)
        # the first step's check is judged in a worker: the snapshot shows its verdict
        await until(lambda: "✔  1." in painted(pilot.app), what="the first step's verdict")
        await settle(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=size, run_before=run_before)


LONG_EVIDENCE = """
[console]
environment = "staging"
journal = "{journal}"

[[metric]]
name = "error rate of the checkout api"
url = "http://127.0.0.1:9/metrics"
crit = 1

[[metric]]
name = "p95 latency of the checkout api"
url = "http://127.0.0.1:9/metrics"
crit = 2000

[[playbook]]
name = "slow-and-failing"
title = "Checkout is slow and failing"
when = 'metric."error rate of the checkout api" > 1 and metric."p95 latency of the checkout api" > 2000'
severity = "SEV-2"

[[playbook.steps]]
id = "done"
kind = "done"
"""


def long_evidence_app(tmp_path: Path) -> ConsoleApp:
    path = tmp_path / "config.toml"
    path.write_text(LONG_EVIDENCE.format(journal=tmp_path / "journal.jsonl"))
    config = cfg.load(path, environ={})
    clock = ManualClock(NOW)
    return ConsoleApp(config, build_runner(config, clock=clock.now), clock=clock, feeds=Feeds())


async def show_long_evidence(pilot) -> None:
    readings = [("error rate of the checkout api", 4.7, 1.0), ("p95 latency of the checkout api", 2513.0, 2000.0)]
    pilot.app.live.update(
        MetricSnapshot(name=name, state=State.CRIT, value=value, crit=crit, taken_at=NOW)
        for name, value, crit in readings
    )
    await settle(pilot)
    await pilot.press("t")
    await settle(pilot)


async def test_evidence_too_long_for_the_list_ends_with_an_ellipsis_and_only_start_keys_show(tmp_path: Path) -> None:
    app = long_evidence_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_long_evidence(pilot)
        listed = shown_lines(app.screen.query_one("#playbooks"))
        footer = " ".join(line.strip() for key in app.screen.query("FooterKey") for line in shown_lines(key))
        lines = [line for widget in app.screen.query("Static") for line in shown_lines(widget)]
    evidence = next(line for line in listed if "metric error rate of the checkout api" in line)
    assert evidence.rstrip(" │").endswith("…"), evidence
    assert "⏎ Start" in footer and "esc Dashboard" in footer
    assert not {"Do step", "Skip", "Previous", "Abandon"} & set(footer.split()), footer
    assert not any("enter do step" in line or "enter start" in line for line in lines)  # no second key line


def test_triage_list_with_long_evidence_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(long_evidence_app(tmp_path), terminal_size=(80, 24), run_before=show_long_evidence)


async def test_a_look_step_shows_its_pane_with_its_filter(tmp_path: Path) -> None:
    from test_log_view import app_lines, parse

    from widgets.log_pane import LogPane

    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        '[[logs]]\nname = "app"\npath = "/var/log/app/app.log"\n'
        '[[playbook]]\nname = "errors"\ntitle = "Errors"\nwhen = "any logs is ok"\n'
        '[[playbook.steps]]\nkind = "look"\npane = "logs"\nfilter = "level=error"\n'
        '[[playbook.steps]]\nkind = "done"\n'
    )
    config = cfg.load(path, environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.dashboard.query_one(LogPane)
        pane.append(parse("app", app_lines(30)))
        app.live.update([pane.stats["app"]])
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("enter", "down", "enter")  # start it, without an incident
        await until(lambda: app.triage.view is not None, what="the run")
        await pilot.press("enter")  # the look step: the dashboard, the logs pane, filtered
        await settle(pilot)
        assert app.screen is app.dashboard
        assert pane.view.store.log_filter is not None and pane.view.store.hide_unmatched
    step = next(e["data"] for e in journal(tmp_path) if e["kind"] == "triage.step")
    assert (step["kind"], step["result"], step["evidence"]) == ("look", "done", "level=error")


async def test_a_runbook_step_runs_from_the_triage_screen_and_its_sha256_is_journaled(tmp_path: Path) -> None:
    import hashlib

    runbook = tmp_path / "marker.md"
    marker = tmp_path / "marked"
    runbook.write_text("# Markers\n\n## Write the marker\n\n```bash {name=marker}\nprintf 'marked\\n' > <path>\n```\n")
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[[runbooks]]\npath = "{runbook}"\n'
    )
    config = cfg.load(path, environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("enter", "down", "enter")  # the runbook's playbook, without an incident
        await until(lambda: app.triage.view is not None, what="the run")
        assert app.triage.view.step.kind == "ask"  # the value for <path>, asked once
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press(*str(marker), "enter")  # the answer leads to the step: its preview opens, then confirm
        await settle(pilot)
        assert isinstance(app.screen, ActionRunScreen) and not marker.exists()
        assert app.screen.plan.action == "runbook:marker:marker"
        run = app.screen
        await pilot.press("y")
        await until(lambda: run.outcome is not None, what="the step's outcome")
    assert marker.read_text() == "marked\n"
    request = next(e for e in journal(tmp_path) if e["kind"] == "action.requested")
    assert request["data"]["params"]["sha256"] == hashlib.sha256(runbook.read_bytes()).hexdigest()
    assert request["data"]["params"]["runbook"] == str(runbook)


async def test_a_runbook_secret_is_asked_by_the_action_form_without_echo_never_as_an_answer(tmp_path: Path) -> None:
    from textual.widgets import Input

    secret = "s3cr3t-from-the-form"
    marker = tmp_path / "marked"
    runbook = tmp_path / "token.md"
    runbook.write_text('# Token\n\n## Keep it\n\n```bash {name=keep}\necho "$API_TOKEN" > <path>\n```\n')
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[[runbooks]]\npath = "{runbook}"\n'
    )
    config = cfg.load(path, environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("enter", "down", "enter")
        await until(lambda: app.triage.view is not None, what="the run")
        assert app.triage.view.step.capture == "path"  # only <path> is a playbook answer
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press(*str(marker), "enter")  # the proposal lacks the secret: the form asks for it
        await settle(pilot)
        field = app.screen.query_one("#param-api_token", Input)
        assert field.password
        field.focus()
        await pilot.press(*secret, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ActionRunScreen)
        run = app.screen
        await pilot.press("y")
        await until(lambda: run.outcome is not None, what="the step's outcome")
    assert marker.read_text() == secret + "\n"
    assert secret not in (tmp_path / "journal.jsonl").read_text()
