"""Alertmanager in guided triage, against a real Alertmanager: `alerts.firing` conditions (labels narrow them), a
playbook that silences through the runner and verifies the alert is gone, the alerts pane filtered by a look step,
and `triage check` on alert conditions and look filters."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from test_alertmanager import PaneApp, push, source_for, write_config

from actions.registry import build_runner
from console import config as cfg
from console.clock import ManualClock
from console.demo.servers import AlertmanagerServer, free_port
from console.journal import Journal
from console.live import LiveState
from console.triage.conditions import ConditionError, Truth, evaluate, parse
from console.triage.engine import TriageEngine
from console.triage.playbook import Playbook
from console.triage.truth import truth
from widgets.keyed_table import KeyedTable

__all__ = ["source_for"]  # the fixture, shared with test_alertmanager

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def judged(condition: str, live: LiveState) -> Truth:
    """The condition's value; the compiled closures (`truth`) and the worded evaluator agree on it."""
    value = evaluate(condition, live).value
    assert truth(condition, live) is value, condition
    return value


async def test_alerts_firing_conditions_count_what_their_labels_match(
    alertmanager_server: AlertmanagerServer, source_for
) -> None:
    critical = push(alertmanager_server, severity="critical")
    warning = push(alertmanager_server, severity="warning")
    live = LiveState(ManualClock(NOW))
    live.update([await source_for(alertmanager_server.url).poll()])
    mine = f'alertname=~"{critical["alertname"]}|{warning["alertname"]}"'
    assert judged("alerts.firing > 0", live) is Truth.PASS
    assert judged("any alerts is crit", live) is Truth.PASS
    assert judged(f"alerts.firing{{{mine}}} == 2", live) is Truth.PASS
    assert judged(f'alerts.firing{{{mine}, severity="critical"}} == 1', live) is Truth.PASS
    assert judged(f'alerts.firing{{{mine}, severity!="critical"}} is warn', live) is Truth.PASS
    assert judged(f'alerts.firing{{{mine}, severity="page"}} > 0', live) is Truth.FAIL
    assert judged(f'alerts.firing{{{mine}, severity="page"}} is ok', live) is Truth.PASS
    assert judged('alerts.firing{alertname="NeverFired"} > 0 or health.api is down', live) is Truth.UNKNOWN
    evidence = evaluate(f'alerts.firing{{{mine}, severity="critical"}} > 0', live).text
    assert evidence == f'alertmanager firing{{{mine}, severity="critical"}} 1 firing (crit) > 0'


async def test_an_unreachable_alertmanager_decides_no_comparison(source_for) -> None:
    live = LiveState(ManualClock(NOW))
    live.update([await source_for(f"http://127.0.0.1:{free_port()}").poll()])
    assert judged('alerts.firing{severity="critical"} > 0', live) is Truth.UNKNOWN
    assert judged("alerts.firing is down", live) is Truth.PASS
    assert evaluate("alerts.firing > 0", live).text == "alertmanager firing - (down): no number to compare"


@pytest.mark.parametrize(
    ("condition", "column", "words"),
    [
        ("alerts.firing{severity=critical} > 0", 14, 'labels: expected name="value"'),
        ('alerts.firing{severity="critical" > 0', 14, "unterminated labels"),
        ('alerts.firing{job=~"("} > 0', 14, "labels: job=~: not a valid regular expression"),
        ("alerts.firing{} > 0", 14, "empty labels"),
        ("alertmanager.firing > 0", 1, "expected a source (health, metric, logs, postgres, redis, alerts, changes)"),
    ],
)
def test_bad_labels_are_one_line_with_their_column(condition: str, column: int, words: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(condition)
    assert (caught.value.column, words in caught.value.reason) == (column, True), caught.value.reason


async def test_a_playbook_silences_the_alert_through_the_runner_and_verifies_it_is_gone(
    alertmanager_server: AlertmanagerServer, source_for, tmp_path: Path
) -> None:
    name = push(alertmanager_server)["alertname"]
    firing = f'alerts.firing{{alertname="{name}"}}'
    playbook = Playbook.model_validate(
        {
            "name": "silence-it",
            "title": "Silence a known alert",
            "when": f"{firing} > 0",
            "steps": [
                {"id": "firing", "kind": "check", "condition": f"{firing} is crit", "on_fail": "done"},
                {"id": "look", "kind": "look", "pane": "alerts", "filter": f'alertname="{name}"'},
                {
                    "id": "silence",
                    "kind": "action",
                    "action": "silence",
                    "params": {"alertname": name, "duration": "30m", "comment": "known, INC-9"},
                },
                {"id": "gone", "kind": "verify", "condition": f"{firing} == 0", "within": "1m"},
            ],
        }
    )
    config = cfg.load(write_config(tmp_path, alertmanager_server.url), environ={})
    clock = ManualClock(NOW)
    live = LiveState(clock)
    source = source_for(alertmanager_server.url)
    live.update([await source.poll()])
    journal = Journal(tmp_path / "journal.jsonl", environment="staging", clock=clock.now)
    engine = TriageEngine.start(playbook, journal, live, clock)
    assert engine.poll().step.id == "look"
    engine.proceed(step="look")
    proposal = engine.poll().proposal
    assert (proposal.action, proposal.error) == ("silence", None)

    runner = build_runner(config, journal=journal)
    outcome = await runner.execute(await runner.plan(proposal.action, proposal.params), confirmed=True)
    assert outcome.ok, outcome.message
    assert engine.poll().step.id == "gone"
    live.update([await source.poll()])  # silenced alerts are no longer firing ones
    view = engine.poll()
    assert view.step is None and view.outcome == "completed"
    steps = [e["data"] for e in journal.entries() if e["kind"] == "triage.step"]
    assert [(s["step"], s["result"]) for s in steps] == [
        ("firing", "pass"),
        ("look", "done"),
        ("silence", "pass"),
        ("gone", "pass"),
    ]
    silence_id = outcome.message.split()[1]
    silence = httpx.get(f"{alertmanager_server.url}/api/v2/silence/{silence_id}", timeout=5).json()
    assert silence["comment"] == "known, INC-9" and silence["status"]["state"] == "active"


async def test_a_look_step_filters_the_alerts_pane_by_labels(
    alertmanager_server: AlertmanagerServer, source_for
) -> None:
    critical = push(alertmanager_server, severity="critical")
    push(alertmanager_server, severity="warning")
    app = PaneApp(await source_for(alertmanager_server.url).poll())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        pane = app.query_one("AlertsPane")
        assert pane.set_filter("critical").startswith('expected name="value"')
        assert pane.set_filter(f'alertname="{critical["alertname"]}"') is None
        await pilot.pause()
        table = app.query_one(KeyedTable)
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == [critical["alertname"]]


BOOKS = """
[[playbook]]
name = "page"
title = "A page fires"
when = 'alerts.firing{severity="critical"} > 0'

[[playbook.steps]]
kind = "look"
pane = "alerts"
filter = 'severity="critical"'

[[playbook.steps]]
kind = "action"
action = "silence"
params = { matchers = 'severity="critical"', comment = "paged" }

[[playbook]]
name = "typos"
title = "Typos"
when = 'postgres.connections{db="x"} > 80 or alerts.fring > 0'

[[playbook.steps]]
id = "look"
kind = "look"
pane = "alerts"
filter = "critical"
"""


def test_triage_check_knows_silence_alert_conditions_and_the_alerts_pane_filter(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[console]\nenvironment = "staging"\n[postgres]\ndsn = "postgresql://a@127.0.0.1:{free_port()}/db"\n'
        f'[alertmanager]\nurl = "http://127.0.0.1:{free_port()}"\n{BOOKS}',
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "triage", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    where = f"{config}: playbook typos"
    assert done.stdout.splitlines() == [
        f"{where}: when: postgres.connections takes no labels",
        f"{where}: when: unknown check alerts.'fring' (known: firing)",
        f"{where}: step look: filter 'critical': expected name=\"value\" (or !=, =~, !~) at 'critical'",
    ]

