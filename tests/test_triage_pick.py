"""The `pick` step: a value for the next step picked from the last action's output (a runbook offers it when the next
step has a parameter: `get pods` -> pick a pod -> `logs <pod>`) or from the rows of a pane's model (a blocked
session's pid -> terminate), through the real runner; nothing to pick asks instead."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.registry import action_names, build_runner
from console.clock import ManualClock
from console.config import load
from console.journal import Journal
from console.live import LiveState
from console.models import State
from console.models.postgres import PgSession, PostgresSnapshot
from console.triage.builtins import all_playbooks
from console.triage.engine import TriageEngine
from console.triage.errors import TriageError
from console.triage.playbook import Playbook, validate
from console.triage.steps.pick import OTHER

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
RUNBOOK = """# Pods

## Look at a pod

```bash
printf 'NAME      READY\\napi-7f9   1/1\\napi-c2d   1/1\\n'
```

```bash
echo "logs of <pod>"
```
"""


def world(tmp_path: Path) -> tuple[Playbook, Journal, LiveState, ManualClock, object]:
    (tmp_path / "pods.md").write_text(RUNBOOK)
    path = tmp_path / "config.toml"
    path.write_text(f'[console]\nenvironment = "staging"\n[[runbooks]]\npath = "{tmp_path / "pods.md"}"\n')
    config = load(path)
    playbooks, problems = all_playbooks(config)
    assert problems == [] and validate(playbooks, config, action_names(config)) == []
    clock = ManualClock(T0)
    journal = Journal(tmp_path / "journal.jsonl", clock=clock.now)
    return playbooks[0], journal, LiveState(clock), clock, build_runner(config, journal=journal)


async def run_proposal(engine: TriageEngine, runner) -> None:
    proposal = engine.poll().proposal
    assert proposal is not None and proposal.error is None, proposal
    outcome = await runner.execute(await runner.plan(proposal.action, proposal.params), confirmed=True)
    assert outcome.ok, outcome.message


async def test_a_runbook_offers_the_previous_output_for_the_next_parameter(tmp_path: Path) -> None:
    book, journal, live, clock, runner = world(tmp_path)
    engine = TriageEngine.start(book, journal, live, clock)
    await run_proposal(engine, runner)  # printf: the pods
    view = engine.poll()
    assert view.step.kind == "pick" and view.move.choices == ("api-7f9   1/1", "api-c2d   1/1", OTHER)
    with pytest.raises(TriageError, match="no longer there"):
        engine.answer("api-000   1/1")
    engine.answer("api-c2d   1/1")
    assert engine.poll().proposal.params == {"pod": "api-c2d"}  # the ask for <pod> is passed by
    await run_proposal(engine, runner)
    engine.poll()
    outcome = [e for e in journal.entries() if e["kind"] == "action.completed"][-1]
    assert outcome["data"]["output_tail"] == ["logs of api-c2d"]
    picked = next(e["data"] for e in journal.entries() if e["kind"] == "triage.step" and e["data"]["kind"] == "pick")
    assert picked["captured"] == {"pod": "api-c2d"} and picked["evidence"] == "pod = api-c2d"


async def test_none_of_these_asks_instead(tmp_path: Path) -> None:
    book, journal, live, clock, runner = world(tmp_path)
    engine = TriageEngine.start(book, journal, live, clock)
    await run_proposal(engine, runner)
    engine.poll()
    engine.answer(OTHER)
    view = engine.poll()
    assert view.step.kind == "ask" and view.step.capture == "pod"
    engine.answer("api-zzz")
    assert engine.poll().proposal.params == {"pod": "api-zzz"}


def blocked_sessions() -> PostgresSnapshot:
    return PostgresSnapshot(
        state=State.OK,
        max_connections=100,
        sessions=[
            PgSession(pid=4100, user="app", state="idle in transaction", query="UPDATE accounts SET ..."),
            PgSession(pid=4200, user="app", state="active", query="UPDATE accounts SET ...", blocked_by=[4100]),
            PgSession(pid=4300, user="report", state="active", query="SELECT 1"),
        ],
    ).judged()


def test_a_blocked_session_pid_is_picked_from_the_pane_and_proposed_for_terminate(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    live = LiveState(clock)
    live.update([blocked_sessions()])
    book = Playbook.model_validate(
        {
            "name": "blocked",
            "title": "A session is blocked",
            "when": "postgres.blocked > 0",
            "steps": [
                {
                    "kind": "pick",
                    "name": "pid",
                    "question": "Which blocked session?",
                    "feed": "postgres",
                    "json": "sessions[?length(blocked_by) > `0`]",
                    "field": "pid",
                },
                {"kind": "action", "action": "terminate", "params": {"pid": "{pid}"}},
            ],
        }
    )
    engine = TriageEngine.start(book, Journal(tmp_path / "journal.jsonl", clock=clock.now), live, clock)
    view = engine.poll()
    assert view.move.question == "Which blocked session?"
    [label] = view.move.choices
    assert label.startswith("4200 user=app") and "state=active" in label
    engine.answer(label)
    assert engine.poll().proposal.params == {"pid": 4200}


def test_nothing_to_pick_fails_to_its_on_fail(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    book = Playbook.model_validate(
        {
            "name": "empty",
            "title": "Empty",
            "when": "",
            "steps": [
                {"kind": "pick", "name": "pod", "output": r"^(\S+)", "on_fail": "ask"},
                {"id": "ask", "kind": "ask", "question": "Which pod?", "capture": "pod"},
            ],
        }
    )
    engine = TriageEngine.start(book, Journal(tmp_path / "journal.jsonl", clock=clock.now), LiveState(clock), clock)
    assert engine.poll().step.id == "ask"
    assert engine.state.transitions[0].evidence == "nothing to pick pod from in the last action's output"


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ({"kind": "pick", "name": "pod"}, "give exactly one of output"),
        ({"kind": "pick", "name": "pod", "output": "("}, "output is not a regular expression"),
        ({"kind": "pick", "name": "pid", "json": "sessions"}, "json needs feed"),
    ],
)
def test_a_pick_written_wrong_is_one_line(step: dict, words: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=words):
        Playbook.model_validate({"name": "p", "title": "P", "when": "", "steps": [step]})
