"""One incident, run the same way by the post-mortem golden test (headless) and the Pilot test (keyboard).

The clock is fixed; the actor is fixed; the rollback is a real process (tests/fixtures/record-argv) run by the
real runner on the same journal. What a fixed clock cannot fix is normalized before comparing with the golden
file: the runner's own measured duration, and the head hash that covers it.

With `triage=True` the headless run also walks a playbook through the real triage engine (a live state fed with
real metric snapshots): its golden file is GOLDEN_TRIAGE. The Pilot test has no triage screen yet, so it keeps
GOLDEN, the same incident without the playbook run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.registry import build_runner
from actions.runner import Runner
from console.clock import ManualClock
from console.config import loads
from console.incident.commands import IncidentDesk
from console.incident.updates import draft_update
from console.journal import Journal
from console.live import LiveState
from console.models import Outcome, State
from console.models.health import MetricSnapshot
from console.triage.engine import Proposal, TriageEngine
from console.triage.playbook import Playbook

HERE = Path(__file__).parent
GOLDEN = HERE / "fixtures" / "postmortem.md"
GOLDEN_TRIAGE = HERE / "fixtures" / "postmortem-triage.md"
START = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)
ACTOR = {"user": "alice", "host": "bastion-1", "ssh_from": "10.0.0.7", "pid": 4242}
TITLE = "Checkout returns 500s"
NOTE = "Error rate jumped right after the 03:00 deploy of v1.2.3"
ROOT_CAUSE = "v1.2.3 exhausted the database connection pool"
FOLLOW_UP = "TODO: alert on the 5xx rate before customers notice"
DECISION = "Roll back to v1.2.2 rather than hotfix"
CONFIG = """
[console]
environment = "staging"

[actions.rollback]
command = ["./record-argv", "--environment", "{environment}", "--version", "{version}"]
params = { version = "release to roll back to, e.g. v1.2.2" }
risk = "destructive"
"""
SKIP_REASON = "staging has no log source configured"
PLAYBOOK = Playbook.model_validate(
    {
        "name": "high-error-rate",
        "title": "The error rate is high",
        "when": 'metric."error rate" > 1',
        "severity": "SEV-2",
        "steps": [
            {"id": "errors", "kind": "check", "condition": 'metric."error rate" > 1', "on_fail": "done"},
            {"id": "logs", "kind": "look", "pane": "logs", "filter": "level=error"},
            {
                "id": "deploy",
                "kind": "ask",
                "question": "Did a deploy happen just before the errors started?",
                "choices": [{"label": "yes"}, {"label": "no", "next": "done"}],
            },
            {"id": "rollback", "kind": "action", "action": "rollback", "params": {"version": "v1.2.2"}},
            {"id": "verify", "kind": "verify", "condition": 'metric."error rate" < 1', "for": "1m", "within": "10m"},
            {"id": "mitigated", "kind": "done", "outcome": "mitigated by a rollback"},
        ],
    }
)


@dataclass
class Flow:
    clock: ManualClock
    journal: Journal
    runner: Runner
    desk: IncidentDesk

    def at(self, hour: int, minute: int) -> None:
        self.clock.set(START.replace(hour=hour, minute=minute))

    def observe(self, state: str, before: str, reason: str) -> dict:
        """What console.observer.Observer journals when the health check changes state."""
        data = {"source": "health", "name": "api", "state": state, "from": before, "reason": reason}
        return self.journal.append("observation", data)

    async def rollback(self) -> Outcome:
        plan = await self.runner.plan("rollback", {"version": "v1.2.2"})
        return await self.runner.execute(plan, confirmed=True, typed="staging")

    def error_rate(self, live: LiveState, value: float) -> None:
        """What the metric feed hands the live state: one real snapshot of the error rate."""
        state = State.CRIT if value >= 1 else State.OK
        snapshot = MetricSnapshot(
            name="error rate", state=state, value=value, unit="%", warn=0.5, crit=1.0, taken_at=self.clock.now()
        )
        live.update([snapshot])


def make_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flow:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    (tmp_path / "record-argv").symlink_to(HERE / "fixtures" / "record-argv")
    config = loads(CONFIG, source=tmp_path / "config.toml")
    clock = ManualClock(START)
    journal = Journal(tmp_path / "journal.jsonl", environment="staging", clock=clock.now, actor=ACTOR)
    runner = build_runner(config, journal=journal, clock=clock.now)
    return Flow(clock, journal, runner, IncidentDesk(journal, clock, config.incident))


def normalize(markdown: str) -> str:
    """Mask the runner's measured duration (monotonic, not the test clock) and the hashes that cover it."""
    markdown = re.sub(r"sha256:[0-9a-f]{64}", "sha256:<head>", markdown)
    markdown = re.sub(r"(anchor: seq \d+) sha256:[0-9a-f]{12}\b", r"\1 sha256:<anchor>", markdown, flags=re.I)
    duration = re.compile(r"\| \d+(?:\.\d+)?(?:ms|s) \| alice@bastion-1 \|$", re.MULTILINE)
    return duration.sub("| <duration> | alice@bastion-1 |", markdown)


async def run_headless(flow: Flow, *, triage: bool = False) -> None:
    """The incident of the golden file, through the desk and the real runner (the Pilot test does it with keys);
    with `triage`, the rollback is the one the playbook proposes and the run is journaled beside it."""
    desk = flow.desk
    live = LiveState(flow.clock)
    flow.at(3, 2)
    flow.observe("crit", "ok", "HTTP 500 in 120ms")
    flow.at(3, 10)
    desk.declare(TITLE, "SEV-2", START)
    flow.at(3, 11)
    desk.assign_role("commander", "alice")
    flow.at(3, 12)
    desk.add_note(NOTE)
    if triage:
        flow.at(3, 13)
        flow.error_rate(live, 4.7)
        engine = TriageEngine.start(PLAYBOOK, flow.journal, live, flow.clock, incident=desk.state().id)
        assert engine.poll().step.id == "logs"
        engine.skip(SKIP_REASON)
        engine.answer("yes")
        assert engine.poll().proposal == Proposal("rollback", "rollback", {"version": "v1.2.2"})
    flow.at(3, 14)
    desk.add_decision(DECISION)
    flow.at(3, 15)
    assert (await flow.rollback()).ok
    rollback_seq = max(e["seq"] for e in flow.journal.entries() if e["kind"] == "action.requested")
    if triage:
        assert engine.poll().step.id == "verify"  # the engine found the rollback's outcome in the journal
    flow.at(3, 16)
    flow.observe("ok", "crit", "")
    if triage:
        flow.error_rate(live, 0.1)
        assert engine.poll().waiting_for == "time"
        flow.at(3, 18)
        flow.error_rate(live, 0.1)
        assert engine.poll().step is None
    flow.at(3, 20)
    desk.set_status("mitigated")
    flow.at(3, 25)
    fields = draft_update(desk.state(), "update", flow.clock.now())
    desk.post_update("update", {**fields, "root_cause": ROOT_CAUSE})
    flow.at(3, 40)
    desk.set_status("resolved")
    flow.at(3, 41)
    desk.add_note(FOLLOW_UP)
    flow.at(3, 42)
    desk.pin(rollback_seq)
    flow.at(3, 45)
