"""Someone else is acting on the same target: a plan that overlaps another console's recent request on the same
target names it and needs an explicit override, which is journaled; other targets, old requests, this console's own
and other environments do not count."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from actions.overlap import touched
from actions.registry import build_runner
from actions.runner import ActionRefused, Runner
from console import config as cfg
from console.journal import Journal
from console.models import ConfirmLevel, Plan, Risk
from tests.helpers import cli

FIXTURES = Path(__file__).parent / "fixtures"
OTHER = {"user": "alice", "host": "bastion-2", "ssh_from": None, "pid": 424242}


def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[actions.rollback]\ncommand = ["{FIXTURES}/record-argv", "{{version}}"]\nparams = {{ version = "v" }}\n'
        'risk = "destructive"\n'
        f'[actions.scale]\ncommand = ["{FIXTURES}/record-argv", "up"]\nrisk = "write"\n'
    )
    return path


def runner(tmp_path: Path) -> Runner:
    return build_runner(cfg.load(config(tmp_path), environ={}))


def their_request(
    tmp_path: Path,
    action: str = "rollback",
    *,
    actor: dict = OTHER,
    environment: str = "staging",
    ago: float = 120,
    outcome: str | None = None,
) -> dict:
    """Another console's request, journaled in the same journal `ago` seconds before now."""
    then = datetime.now(UTC) - timedelta(seconds=ago)
    journal = Journal(tmp_path / "journal.jsonl", actor=actor, environment=environment, clock=lambda: then)
    request = journal.append("action.requested", {"action": action, "touches": [f"action:{action}"]})
    if outcome is not None:
        journal.append(f"action.{outcome}", {"action": action, "status": outcome}, corr=request["seq"])
    return request


async def test_a_rollback_another_console_ran_minutes_ago_needs_an_explicit_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    first = their_request(tmp_path, outcome="completed")
    ours = runner(tmp_path)
    plan = await ours.plan("rollback", {"version": "v1.2.2"})
    assert plan.confirm is ConfirmLevel.TYPED and plan.confirm_text == "override staging"
    assert plan.notes[0] == (
        "⚠ someone else acted on the same target: rollback by alice@bastion-2 (pid 424242), 2m 00s ago: completed"
    )
    with pytest.raises(ActionRefused, match="typed confirmation does not match 'override staging'"):
        await ours.execute(plan, confirmed=True, typed="staging")
    outcome = await ours.execute(plan, confirmed=True, typed="override staging")
    assert outcome.status.value == "completed"
    requests = [e for e in Journal(tmp_path / "journal.jsonl").entries() if e["kind"] == "action.requested"]
    assert requests[-1]["data"]["override"] == [
        {"seq": first["seq"], "action": "rollback", "by": "alice@bastion-2 (pid 424242)", "status": "completed"}
    ]
    assert requests[-1]["data"]["touches"] == ["action:rollback"]


@pytest.mark.parametrize(
    "request_of",
    [
        lambda tmp: their_request(tmp, "scale"),  # another target
        lambda tmp: their_request(tmp, ago=700),  # over ten minutes ago
        lambda tmp: their_request(tmp, environment="production"),  # another environment
        lambda tmp: their_request(tmp, actor={**OTHER, "host": socket.gethostname(), "pid": os.getpid()}),  # ours
    ],
)
async def test_what_does_not_overlap_asks_as_it_always_did(tmp_path: Path, request_of) -> None:
    request_of(tmp_path)
    plan = await runner(tmp_path).plan("rollback", {"version": "v1.2.2"})
    assert plan.overlaps == [] and plan.confirm_text == "staging"


async def test_a_request_in_flight_on_another_host_counts_through_the_shared_stream(tmp_path: Path) -> None:
    ours = runner(tmp_path)
    remote = {
        "seq": 7,
        "kind": "action.requested",
        "ts": (datetime.now(UTC) - timedelta(seconds=30)).isoformat().replace("+00:00", "Z"),
        "actor": {"user": "bob", "host": "laptop", "pid": 99},
        "environment": "staging",
        "data": {"action": "scale", "touches": ["action:scale"]},
    }
    ours.shared = lambda: [remote]
    plan = await ours.plan("scale", {})
    assert plan.confirm is ConfirmLevel.TYPED
    assert "scale by bob@laptop (pid 99), 30s ago: running" in plan.notes[0]


def test_a_kill_touches_its_sessions_and_a_flush_its_pattern() -> None:
    kill = Plan(action="terminate", risk=Risk.DESTRUCTIVE, summary="", detail={"pids": [42, 7]})
    assert touched(kill) == ["postgres:pid:42", "postgres:pid:7"]
    idle = Plan(
        action="kill-idle", risk=Risk.DESTRUCTIVE, summary="", params={"database": "app"}, detail={"pids": [42]}
    )
    assert touched(idle) == ["postgres:database:app", "postgres:pid:42"]
    flush = Plan(action="flush-cache", risk=Risk.DESTRUCTIVE, summary="", params={"pattern": "session:*", "db": 0})
    assert touched(flush) == ["redis:0:session:*"]
    step = Plan(
        action="runbook:ops:clear-1",
        risk=Risk.DESTRUCTIVE,
        summary="",
        params={"flush": {"pattern": "session:*", "db": None}},
    )
    assert touched(step) == touched(flush)


def test_headless_run_needs_the_override_typed_too(tmp_path: Path) -> None:
    path = config(tmp_path)
    their_request(tmp_path)
    env = {**os.environ, "RECORD_TO": str(tmp_path / "argv.json")}
    refused = cli("run", "rollback", "--version", "v1.2.2", "--config", path, "--yes", "--confirm", "staging", env=env)
    assert refused.returncode == 2 and "pass --confirm override staging" in refused.stderr, refused.stderr
    assert "someone else acted on the same target: rollback by alice@bastion-2" in refused.stdout
    ran = cli(
        "run", "rollback", "--version", "v1.2.2", "--config", path, "--yes", "--confirm", "override staging", env=env
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads((tmp_path / "argv.json").read_text()) == ["v1.2.2"]
