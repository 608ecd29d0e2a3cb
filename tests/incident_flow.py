"""One incident, run the same way by the post-mortem golden test (headless) and the Pilot test (keyboard).

The clock is fixed; the actor is fixed; the rollback is a real process (tests/fixtures/record-argv) run by the
real runner on the same journal. What a fixed clock cannot fix is normalized before comparing with the golden
file: the runner's own measured duration, and the head hash that covers it.
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
from console.models import Outcome

HERE = Path(__file__).parent
GOLDEN = HERE / "fixtures" / "postmortem.md"
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
    markdown = re.sub(r"^(anchor: seq \d+) sha256:[0-9a-f]{12}$", r"\1 sha256:<anchor>", markdown, flags=re.M)
    duration = re.compile(r"\| \d+(?:\.\d+)?(?:ms|s) \| alice@bastion-1 \|$", re.MULTILINE)
    return duration.sub("| <duration> | alice@bastion-1 |", markdown)


async def run_headless(flow: Flow) -> None:
    """The incident of the golden file, through the desk and the real runner (the Pilot test does it with keys)."""
    desk = flow.desk
    flow.at(3, 2)
    flow.observe("crit", "ok", "HTTP 500 in 120ms")
    flow.at(3, 10)
    desk.declare(TITLE, "SEV-2", START)
    flow.at(3, 11)
    desk.assign_role("commander", "alice")
    flow.at(3, 12)
    desk.add_note(NOTE)
    flow.at(3, 14)
    desk.add_decision(DECISION)
    flow.at(3, 15)
    assert (await flow.rollback()).ok
    flow.at(3, 16)
    flow.observe("ok", "crit", "")
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
    desk.pin(6)
    flow.at(3, 45)
