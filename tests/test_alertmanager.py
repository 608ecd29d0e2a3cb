"""`[alertmanager]` against a real Alertmanager: an alert the test pushes is seen by the source, silenced and
unsilenced through the runner, read back from Alertmanager's API; Alertmanager down; the pane at 80x24."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from actions.base import ParamError
from actions.registry import build_runner
from actions.runner import ActionRefused
from console import config as cfg
from console.cli import main
from console.clock import Clock
from console.demo.servers import AlertmanagerServer, free_port
from console.http import HttpClient
from console.journal import Journal
from console.models import State
from console.models.alerts import Alert, AlertsSnapshot, format_matchers, parse_matchers
from console.redact import Redactor
from console.sources.alertmanager import AlertmanagerSource
from console.sources.base import Feeds
from tests.helpers import until
from widgets.alerts_pane import AlertsPane
from widgets.keyed_table import KeyedTable
from widgets.messages import ActionRequested


def push(server: AlertmanagerServer, severity: str = "critical", minutes_ago: int = 5) -> dict[str, str]:
    """Fire an alert with a name of its own (tests share the server); returns its labels."""
    labels = {"alertname": f"Test{uuid.uuid4().hex[:8]}", "severity": severity, "job": "api"}
    now = datetime.now(UTC)
    alert = {
        "labels": labels,
        "annotations": {"summary": "errors above 5%"},
        "startsAt": (now - timedelta(minutes=minutes_ago)).isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }
    httpx.post(f"{server.url}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()
    return labels


def read_alert(server: AlertmanagerServer, name: str) -> dict:
    answer = httpx.get(f"{server.url}/api/v2/alerts", params={"filter": f'alertname="{name}"'}, timeout=5)
    [alert] = answer.json()
    return alert


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[alertmanager]\nurl = "{url}"\ntimeout = "2s"\n'
    )
    return path


@pytest.fixture
async def source_for() -> AsyncIterator:
    client = HttpClient()

    def make(url: str) -> AlertmanagerSource:
        return AlertmanagerSource(cfg.AlertmanagerSettings(url=url), client, Clock(), Redactor(), 2.0)

    yield make
    await client.aclose()


async def test_a_pushed_alert_is_seen_silenced_and_unsilenced_through_the_runner(
    alertmanager_server: AlertmanagerServer, source_for, tmp_path: Path
) -> None:
    labels = push(alertmanager_server)
    name = labels["alertname"]
    source = source_for(alertmanager_server.url)
    snap = await source.poll()
    [alert] = [a for a in snap.alerts if a.name == name]
    assert alert.labels == labels and 295 <= snap.firing_for(alert) <= 330
    check = snap.checks()[0]
    assert check.key == "alertmanager:firing" and check.state is State.CRIT and "critical" in check.reason
    assert snap.feed_key == "alertmanager"

    runner = build_runner(cfg.load(write_config(tmp_path, alertmanager_server.url), environ={}))
    with pytest.raises(ParamError, match="--comment is required"):
        await runner.plan("silence", {"matchers": format_matchers(alert.labels)})
    plan = await runner.plan("silence", {"matchers": format_matchers(alert.labels), "comment": "deploy, INC-7"})
    assert plan.summary.startswith(f'silence alertname="{name}", job="api", severity="critical" from ')
    assert "(1h) on " in plan.summary and plan.summary.endswith("1 firing alert silenced now")
    [row] = plan.rows
    assert row[:2] == [name, "critical"] and row[2].startswith("5m0")
    assert row[3] == f'alertname="{name}", job="api", severity="critical"'
    assert "comment: deploy, INC-7" in plan.notes
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.ok, outcome.message
    silence_id = outcome.message.split()[1]
    assert outcome.message.startswith(f"silence {silence_id} created: ")

    status = read_alert(alertmanager_server, name)["status"]
    assert status["state"] == "suppressed" and status["silencedBy"] == [silence_id]
    assert name not in [a.name for a in (await source.poll()).alerts]
    journal = [e for e in Journal(tmp_path / "journal.jsonl").entries() if e["kind"].startswith("action.")]
    assert [e["kind"] for e in journal] == ["action.requested", "action.completed"]
    assert silence_id in journal[1]["data"]["message"] and journal[0]["data"]["risk"] == "write"

    plan = await runner.plan("unsilence", {"id": silence_id})
    assert plan.summary.startswith(f"expire silence {silence_id} (active, ")
    assert "(incident-console)) of alertname=" in plan.summary
    assert plan.summary.endswith(": 1 silenced alert will notify again")
    assert [row[0] for row in plan.rows] == [name] and "comment: deploy, INC-7" in plan.notes
    assert (await runner.execute(plan, confirmed=True)).ok
    silence = httpx.get(f"{alertmanager_server.url}/api/v2/silence/{silence_id}", timeout=5).json()
    assert silence["status"]["state"] == "expired"
    await until(lambda: read_alert(alertmanager_server, name)["status"]["state"] == "active")
    with pytest.raises(ActionRefused, match="already expired"):
        await runner.plan("unsilence", {"id": silence_id})


def test_status_names_each_firing_alert_with_its_severity_and_age(
    alertmanager_server: AlertmanagerServer, tmp_path: Path, capsys
) -> None:
    old = push(alertmanager_server, severity="warning", minutes_ago=90)
    new = push(alertmanager_server, severity="critical", minutes_ago=2)
    config = str(write_config(tmp_path, alertmanager_server.url))
    assert main(["status", "--config", config]) == 2
    lines = capsys.readouterr().out.splitlines()
    firing = next(i for i, line in enumerate(lines) if "alertmanager" in line and "firing" in line)
    named = lines[firing + 1 :]
    mine = [line.split() for line in named if line.split()[2:3] in ([new["alertname"]], [old["alertname"]])]
    assert mine[0][:4] == ["2m", mine[0][1], new["alertname"], "critical"] and mine[0][4] == "job=api"
    assert mine[1][:4] == ["1h", "30m", old["alertname"], "warning"]
    assert main(["status", "--config", config, "--json"]) == 2
    alerts = {a["name"]: a for a in json.loads(capsys.readouterr().out)["alerts"]}
    assert alerts[new["alertname"]]["severity"] == "critical" and alerts[new["alertname"]]["labels"] == "job=api"
    assert 5400 <= alerts[old["alertname"]]["firing_s"] < 5460 and alerts[old["alertname"]]["since"].endswith("Z")


def test_headless_run_silence_by_alertname(alertmanager_server: AlertmanagerServer, tmp_path: Path, capsys) -> None:
    name = push(alertmanager_server, severity="warning")["alertname"]
    argv = ["run", "silence", "--config", str(write_config(tmp_path, alertmanager_server.url)), "--alertname", name]
    assert main([*argv, "--duration", "30m", "--comment", "load test", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f'silence alertname="{name}" from ' in out and "(30m) on" in out and "dry run" in out
    assert main([*argv, "--duration", "30m", "--comment", "load test", "--yes"]) == 0
    assert "silence: completed: silence " in capsys.readouterr().out
    assert read_alert(alertmanager_server, name)["status"]["state"] == "suppressed"


async def test_silence_params_are_checked() -> None:
    assert parse_matchers('{a="x", b!="y\\"z",c=~"d.*"}') == [("a", "=", "x"), ("b", "!=", 'y"z'), ("c", "=~", "d.*")]
    with pytest.raises(ValueError, match="expected name="):
        parse_matchers("a=x")


async def test_alertmanager_down_source_pane_and_plan(source_for, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    snap = await source_for(url).poll()
    assert snap.state is State.DOWN and snap.reason == "Alertmanager unreachable: connection refused"
    assert [c.state for c in snap.checks()] == [State.DOWN]
    runner = build_runner(cfg.load(write_config(tmp_path, url), environ={}))
    with pytest.raises(ActionRefused, match="Alertmanager unreachable: connection refused; nothing was run"):
        await runner.plan("silence", {"alertname": "X", "comment": "c"})
    app = PaneApp(snap)
    async with app.run_test(size=(80, 24)):
        status = str(app.query_one("#alerts-status").render())
    assert "DOWN" in status and "Alertmanager unreachable: connection refused" in status


class PaneApp(App):
    def __init__(self, snapshot: AlertsSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.requests: list[ActionRequested] = []

    def compose(self) -> ComposeResult:
        yield AlertsPane()

    def on_mount(self) -> None:
        self.query_one(AlertsPane).update_model(self.snapshot)

    def on_action_requested(self, message: ActionRequested) -> None:
        self.requests.append(message)


async def test_the_pane_lists_newest_first_at_80x24_and_asks_to_silence_the_selected_alert(
    alertmanager_server: AlertmanagerServer, source_for
) -> None:
    old = push(alertmanager_server, severity="warning", minutes_ago=90)
    new = push(alertmanager_server, severity="critical", minutes_ago=2)
    snap = await source_for(alertmanager_server.url).poll()
    names = [a.name for a in snap.alerts]
    assert names.index(new["alertname"]) < names.index(old["alertname"])
    app = PaneApp(snap)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.focus()
        await pilot.pause()
        first = [str(cell) for cell in table.get_row_at(0)]
        await pilot.press("M")
        await pilot.pause()
    assert first[1] == snap.alerts[0].name and first[3] == "job=api"
    assert [(m.action, m.params) for m in app.requests] == [
        ("silence", {"matchers": format_matchers(snap.alerts[0].labels)})
    ]


async def test_from_the_pane_m_opens_the_prefilled_form_and_the_silence_runs_after_the_preview(
    alertmanager_server: AlertmanagerServer, source_for, tmp_path: Path
) -> None:
    from console.tui.app import ConsoleApp
    from console.tui.screens.action_run import ActionRunScreen

    labels = push(alertmanager_server)
    config = cfg.load(write_config(tmp_path, alertmanager_server.url), environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(120, 40)) as pilot:
        snap = await source_for(alertmanager_server.url).poll()
        await pilot.pause()
        pane = app.screen.query_one(AlertsPane)
        pane.update_model(snap)
        await pilot.pause()
        table = pane.query_one(KeyedTable)
        table.focus()
        table.move_cursor(row=[a.name for a in snap.alerts].index(labels["alertname"]))
        await pilot.press("M")
        await until(lambda: app.screen.query("#param-matchers"), what="the silence form")
        matchers = app.screen.query_one("#param-matchers", Input)
        assert matchers.value == format_matchers(labels)
        assert app.screen.query_one("#param-duration", Input).value == "1h"
        app.screen.query_one("#param-comment", Input).value = "checked from the pane"
        await pilot.press("ctrl+s")
        await until(lambda: isinstance(app.screen, ActionRunScreen), what="the preview")
        await pilot.press("y")
        await until(lambda: read_alert(alertmanager_server, labels["alertname"])["status"]["state"] == "suppressed")


def fixed_alerts() -> AlertsSnapshot:
    now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    fired = [
        ("HighErrorRate", "critical", {"job": "api", "route": "/checkout"}, 4),
        ("PostgresPoolSaturated", "warning", {"job": "db", "instance": "db-1:9187"}, 37),
        ("RedisMemoryHigh", "warning", {"job": "cache", "instance": "cache-1:9121", "team": "platform"}, 185),
    ]
    alerts = [
        Alert(
            fingerprint=f"f{n}",
            labels={"alertname": name, "severity": severity, **labels},
            annotations={"summary": f"{name} on {labels['job']}"},
            starts_at=now - timedelta(minutes=minutes),
        )
        for n, (name, severity, labels, minutes) in enumerate(fired)
    ]
    return AlertsSnapshot(state=State.WARN, target="127.0.0.1:9093", alerts=alerts, taken_at=now)


def test_alerts_pane_80x24(snap_compare) -> None:
    assert snap_compare(PaneApp(fixed_alerts()), terminal_size=(80, 24))


def test_alerts_pane_160x50(snap_compare) -> None:
    assert snap_compare(PaneApp(fixed_alerts()), terminal_size=(160, 50))
