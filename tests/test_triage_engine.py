"""The triage engine: steps against a live state, actions through the real runner, every move journaled and replayed
(two engines on one journal file), `for` and `verify` timeouts by a ManualClock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from actions.registry import build_runner
from console.clock import ManualClock
from console.config import Config, load
from console.journal import Journal
from console.live import LiveState
from console.models import State
from console.models.health import HealthSnapshot, MetricSnapshot
from console.models.postgres import PgSession, PostgresSnapshot, lock_tree
from console.triage.engine import TriageEngine, TriageError
from console.triage.playbook import Playbook

START = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
ACTOR = {"user": "alice", "host": "ops1", "ssh_from": None, "pid": 1}

STEPS: list[dict[str, Any]] = [
    {"id": "errors", "kind": "check", "condition": 'metric."error rate" > 1', "on_fail": "calm"},
    {"id": "logs", "kind": "look", "pane": "logs", "filter": "level=error"},
    {
        "id": "roll",
        "kind": "ask",
        "question": "Roll back?",
        "choices": [{"label": "yes", "next": "version"}, {"label": "no", "next": "done"}],
    },
    {"id": "version", "kind": "ask", "question": "Which version?", "capture": "version"},
    {"id": "rollback", "kind": "action", "action": "rollback", "params": {"version": "{version}"}},
    {"id": "deployed", "kind": "capture", "name": "deployed", "output": r"rolled back to (\S+)"},
    {"id": "verify", "kind": "verify", "condition": "health.api is ok", "within": "5m", "for": "1m", "on_fail": "roll"},
    {"id": "update", "kind": "update", "next": "done"},
    {"id": "calm", "kind": "done", "outcome": "nothing to do"},
]


def playbook(steps: list[dict[str, Any]] = STEPS, **extra: Any) -> Playbook:
    return Playbook.model_validate(
        {"name": "api-down", "title": "The API is down", "when": "health.api is down", "steps": steps, **extra}
    )


def metric(value: float, state: State) -> MetricSnapshot:
    return MetricSnapshot(name="error rate", state=state, value=value, unit="%", taken_at=START)


def api(state: State) -> HealthSnapshot:
    return HealthSnapshot(name="api", url="http://x", state=state, latency_ms=40.0, taken_at=START)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def live(clock: ManualClock) -> LiveState:
    state = LiveState(clock)
    state.update([metric(4.7, State.CRIT), api(State.DOWN)])
    return state


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        '[console]\nenvironment = "staging"\n'
        '[actions.rollback]\ncommand = ["echo", "rolled back to {version}"]\nparams = { version = "release" }\n',
        encoding="utf-8",
    )
    return load(path)


def journal_at(tmp_path: Path, clock: ManualClock) -> Journal:
    return Journal(tmp_path / "journal.jsonl", environment="staging", clock=clock.now, actor=ACTOR)


def kinds(journal: Journal) -> list[tuple[str, Any, Any]]:
    return [(e["kind"], e["data"].get("step"), e["data"].get("result")) for e in journal.entries()]


async def test_a_run_from_check_to_finish_journals_every_transition(
    tmp_path: Path, clock: ManualClock, live: LiveState, config: Config
) -> None:
    journal = journal_at(tmp_path, clock)
    engine = TriageEngine.start(playbook(), journal, live, clock, incident="INC-1")
    view = engine.poll()
    assert (view.step.id, view.waiting_for) == ("logs", "operator")
    clock.advance(5)
    engine.proceed(step="logs")
    engine.answer("YES")
    with pytest.raises(TriageError, match="an answer is needed"):
        engine.answer("  ")
    engine.answer("v1.2.2")
    proposal = engine.poll().proposal
    assert (proposal.action, proposal.params, proposal.error) == ("rollback", {"version": "v1.2.2"}, None)

    runner = build_runner(config, journal=journal)  # plans are stamped by the wall clock
    plan = await runner.plan(proposal.action, proposal.params)
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.ok
    view = engine.poll()  # finds the outcome, captures from its output, starts verifying
    assert (view.step.id, view.waiting_for) == ("verify", "time")
    assert engine.state.captures == {"version": "v1.2.2", "deployed": "v1.2.2"}
    live.update([api(State.OK)])
    assert engine.poll().step.id == "verify"
    clock.advance(59)
    assert "held 59s" in engine.poll().evidence
    clock.advance(1)
    assert engine.poll().step.id == "update"
    assert engine.poll().step.id == "update"  # waits until an update is posted in the incident
    journal.append("update.posted", {"kind": "update", "fields": {}, "text": ""}, incident="INC-1")
    assert engine.poll().step is None and engine.view().outcome == "completed"

    assert kinds(journal) == [
        ("triage.started", None, None),
        ("triage.step", "errors", "pass"),
        ("triage.step", "logs", "done"),
        ("triage.step", "roll", "answered"),
        ("triage.step", "version", "answered"),
        ("action.requested", None, None),
        ("action.completed", None, None),
        ("triage.step", "rollback", "pass"),
        ("triage.step", "deployed", "pass"),
        ("triage.step", "verify", "pass"),
        ("update.posted", None, None),
        ("triage.step", "update", "done"),
        ("triage.finished", None, None),
    ]
    entries = list(journal.entries())
    started = entries[0]
    assert started["incident"] == "INC-1" and started["data"]["digest"] == playbook().digest
    assert all(e["corr"] == started["seq"] for e in entries if e["kind"].startswith("triage.") and e is not started)
    errors = entries[1]["data"]
    assert errors["evidence"] == "metric error rate 4.7% (crit) > 1" and errors["next"] == "logs"
    assert entries[2]["data"]["duration_ms"] == 5000
    assert entries[3]["data"]["answer"] == "yes"
    assert entries[7]["data"]["request_seq"] == entries[5]["seq"]
    assert entries[7]["data"]["evidence"].startswith("rollback: completed")
    assert entries[9]["data"]["evidence"] == "health api 40 ms (ok) is ok (held 1m 00s)"


def test_a_verify_that_never_holds_fails_after_within_and_branches(
    tmp_path: Path, clock: ManualClock, live: LiveState
) -> None:
    steps = [
        {"id": "verify", "kind": "verify", "condition": "health.api is ok", "within": "2m", "on_fail": "again"},
        {"id": "ok", "kind": "done"},
        {"id": "again", "kind": "ask", "question": "Try again?", "choices": [{"label": "yes", "next": "verify"}]},
    ]
    journal = journal_at(tmp_path, clock)
    engine = TriageEngine.start(playbook(steps), journal, live, clock)
    assert engine.poll().waiting_for == "time"
    clock.advance(119)
    assert engine.poll().step.id == "verify"
    clock.advance(1)
    assert engine.poll().step.id == "again"
    failed = list(journal.entries())[-1]["data"]
    assert failed["result"] == "fail" and failed["duration_ms"] == 120_000
    assert failed["evidence"] == "health api 40 ms (down) is not ok; did not hold within 2m 00s"
    engine.answer("yes")
    live.update([api(State.OK)])  # `for` is 0: passes as soon as it holds
    assert engine.poll().outcome == "completed"


def test_a_check_with_for_waits_until_held_and_unknown_follows_on_fail(
    tmp_path: Path, clock: ManualClock, live: LiveState
) -> None:
    steps = [
        {"id": "sustained", "kind": "check", "condition": 'metric."error rate" > 1', "for": "5m"},
        {"id": "missing", "kind": "check", "condition": "health.nothing is down", "on_fail": "end"},
        {"id": "never", "kind": "look", "pane": "health"},
        {"id": "end", "kind": "done", "outcome": "checked"},
    ]
    journal = journal_at(tmp_path, clock)
    engine = TriageEngine.start(playbook(steps), journal, live, clock)
    assert engine.poll().step.id == "sustained"
    clock.advance(300)
    view = engine.poll()
    assert view.step is None and view.outcome == "checked"
    results = [(e["data"].get("step"), e["data"].get("result")) for e in journal.entries()][1:]
    assert results == [("sustained", "pass"), ("missing", "unknown"), ("end", "done"), (None, None)]
    assert list(journal.entries())[2]["data"]["evidence"] == "health nothing: no reading"


def test_two_engines_on_one_journal_resume_at_the_same_step(
    tmp_path: Path, clock: ManualClock, live: LiveState
) -> None:
    first = TriageEngine.start(playbook(), journal_at(tmp_path, clock), live, clock)
    first.poll()
    first.proceed()
    second = TriageEngine.resume(journal_at(tmp_path, clock), live, clock)
    assert second is not None and second.run == first.run
    assert second.current.id == first.current.id == "roll"
    second.answer("yes", step="roll")
    with pytest.raises(TriageError, match="step roll is no longer current \\(the run is at version\\)"):
        first.answer("no", step="roll")
    assert first.current.id == "version"
    first.back()
    assert second.sync().current == "roll"
    second.abandon("false alarm")
    assert TriageEngine.resume(journal_at(tmp_path, clock), live, clock) is None
    with pytest.raises(TriageError, match="has finished \\(abandoned\\)"):
        first.skip("late")


def test_skip_back_and_a_proposal_for_the_top_blocker(tmp_path: Path, clock: ManualClock) -> None:
    steps = [
        {"id": "look", "kind": "look", "pane": "postgres", "filter": "blocked"},
        {"id": "cancel", "kind": "action", "action": "cancel-query", "params": {"pid": "{postgres.top_blocker.pid}"}},
    ]
    live = LiveState(clock)
    engine = TriageEngine.start(playbook(steps), journal_at(tmp_path, clock), live, clock)
    with pytest.raises(TriageError, match="this is the first step"):
        engine.back()
    with pytest.raises(TriageError, match="step look is a look step, not action"):
        engine.proposal()
    engine.skip("seen it already")
    assert engine.proposal().error == "{postgres.top_blocker.pid}: no PostgreSQL sessions seen yet"
    sessions = [
        PgSession(pid=10, state="idle in transaction"),
        PgSession(pid=11, state="active", blocked_by=[10]),
        PgSession(pid=12, state="active", blocked_by=[11]),
        PgSession(pid=20, state="idle in transaction"),
        PgSession(pid=21, state="active", blocked_by=[20]),
    ]
    live.update([PostgresSnapshot(state=State.OK, sessions=sessions, locks=lock_tree(sessions)).judged()])
    assert engine.proposal().params == {"pid": 10}
    with pytest.raises(TriageError, match="journal seq 99 is not a request of cancel-query"):
        engine.record_action(99)
    engine.back()
    assert engine.current.id == "look"
    skipped = [e for e in engine.journal.entries() if e["kind"] == "triage.skipped"]
    assert skipped[0]["data"] == {"step": "look", "reason": "seen it already", "next": "cancel"}


def test_a_changed_playbook_keeps_the_running_version_and_says_so(
    tmp_path: Path, clock: ManualClock, live: LiveState
) -> None:
    original = playbook()
    engine = TriageEngine.start(original, journal_at(tmp_path, clock), live, clock)
    edited = playbook([{"id": "only", "kind": "done"}])
    assert engine.changed(original) is None
    assert engine.changed(edited) == (
        "playbook api-down changed since this run started; the run keeps the version it started with"
    )
    resumed = TriageEngine.resume(journal_at(tmp_path, clock), live, clock)
    assert resumed is not None
    assert [s.id for s in resumed.playbook.steps] == [s["id"] for s in STEPS]
    assert resumed.poll().step.id == "logs"


def test_a_verify_held_too_briefly_before_within_fails(tmp_path: Path, clock: ManualClock, live: LiveState) -> None:
    steps = [{"id": "verify", "kind": "verify", "condition": "health.api is ok", "within": "3m", "for": "2m"}]
    journal = journal_at(tmp_path, clock)
    engine = TriageEngine.start(playbook(steps), journal, live, clock)
    clock.advance(90)
    live.update([api(State.OK)])
    assert engine.poll().evidence == "health api 40 ms (ok) is ok (held 0ms)"
    clock.advance(90)  # held 90s of the 2m asked for when the 3m are up
    assert engine.poll().outcome == "completed"
    [failed] = [e["data"] for e in journal.entries() if e["kind"] == "triage.step"]
    assert (failed["result"], failed["next"]) == ("fail", "done")
    assert failed["evidence"] == "health api 40 ms (ok) is ok (held 1m 30s); did not hold for 2m 00s within 3m 00s"
