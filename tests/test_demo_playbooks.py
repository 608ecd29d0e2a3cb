"""The demo's playbooks: the config `incident-console demo` writes validates (`triage check`), and high-error-rate
walks the demo's real incident to a rollback by the real script against the real service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.registry import action_names, build_runner
from console.cli import main
from console.clock import ManualClock
from console.config import load
from console.demo.run import PLAYBOOKS, demo_config
from console.demo.service import DemoService
from console.incident.commands import IncidentDesk
from console.incident.updates import draft_update
from console.journal import Journal
from console.live import LiveState
from console.sources.base import build_feeds, poll_once
from console.triage.builtins import all_playbooks
from console.triage.engine import Proposal, TriageEngine
from console.triage.playbook import validate
from console.triage.steps import PostUpdate
from console.triage.suggest import suggest

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
ACTOR = {"user": "alice", "host": "ops1", "ssh_from": None, "pid": 1}
NOTE = "Rolled back the suspect deploy; the error rate has been under 1% for 30 seconds."


def write_config(directory: Path, url: str, **servers: str) -> Path:
    path = directory / "config.toml"
    path.write_text(demo_config(url, directory, **servers))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("servers", [{}, {"postgres_dsn": "postgresql://demo@127.0.0.1:1/demo"}])
def test_the_demo_config_names_its_playbooks_and_every_one_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], servers: dict[str, str]
) -> None:
    config = load(write_config(tmp_path, "http://127.0.0.1:1", **servers))
    assert config.console.playbooks == [str(PLAYBOOKS)]
    playbooks, problems = all_playbooks(config)
    assert problems == []
    names = [p.name for p in playbooks if p.origin.startswith(str(PLAYBOOKS))]
    assert sorted(names) == ["high-error-rate", "slow-responses"]
    assert validate(playbooks, config, action_names(config)) == []
    assert main(["triage", "check", "--config", str(tmp_path / "config.toml")]) == 0
    assert capsys.readouterr().out == f"{len(playbooks)} playbooks valid\n"


async def test_high_error_rate_walks_the_demo_incident_to_a_rollback(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    with DemoService(incident_after=60.0, clock=clock, recovery=0.0, seed=5) as service:
        config = load(write_config(tmp_path, service.url))
        playbooks, _ = all_playbooks(config)
        journal = Journal(tmp_path / "journal.jsonl", environment="demo", clock=clock.now, actor=ACTOR)
        runner = build_runner(config, journal=journal, clock=clock.now)
        live = LiveState(clock)
        feeds = build_feeds(config, clock, live=live)  # the change ledger ranks against this live state

        async def refresh() -> None:
            live.update(await asyncio.gather(*(poll_once(source) for source in feeds.polled)))

        try:
            await refresh()
            assert suggest(playbooks, live) == []
            clock.advance(100)
            await refresh()
            await refresh()  # the ledger ranks against the checks the batch before turned red
            ledger = live.model("changes")
            assert [(c.version, s.rank) for c, s in ledger.ranked()] == [("v1.2.3", 1)], (ledger, live.checks())
            assert ledger.ranked()[0][1].reason.startswith("v1.2.3 went live 40s before the first ")
            found = {s.playbook.name: s for s in suggest(playbooks, live)}
            assert sorted(found) == ["high-error-rate", "slow-responses"]
            assert found["high-error-rate"].severity == "SEV-2"
            desk = IncidentDesk(journal, clock)
            declared = desk.declare(found["high-error-rate"].playbook.title, "SEV-2")
            book = found["high-error-rate"].playbook
            engine = TriageEngine.start(book, journal, live, clock, incident=declared["incident"])
            assert engine.poll().step.id == "logs"
            engine.proceed()
            proposal = engine.poll().proposal  # the deploy step passed: v1.2.3 is the top suspect
            assert proposal == Proposal("rollback", "rollback", {"version": "v1.2.2"})
            plan = await runner.plan(proposal.action, proposal.params)
            assert (await runner.execute(plan, confirmed=True, typed="demo")).ok
            assert engine.poll().step.id == "verify"
            await refresh()
            assert engine.poll().waiting_for == "time"
            clock.advance(31)
            await refresh()
            assert engine.poll().step.id == "mitigate"
            engine.answer("yes")
            view = engine.poll()
            assert view.step.id == "update" and view.move == PostUpdate("mitigated", NOTE)
            desk.set_status("mitigated")  # what the console does before it opens the composer
            assert engine.poll().step.id == "update"  # nothing is posted yet: the run waits
            desk.post_update("initial", draft_update(desk.state(), "initial", clock.now()))
            assert engine.poll().step is None
        finally:
            await feeds.aclose()
    steps = [(t.step, t.result) for t in engine.state.transitions]
    assert steps == [
        ("errors", "pass"),
        ("logs", "done"),
        ("deploy", "pass"),
        ("rollback", "pass"),
        ("verify", "pass"),
        ("mitigate", "answered"),
        ("update", "done"),
    ]
    assert engine.state.outcome == "completed"
    assert service.releases()["current"] == "v1.2.2"


async def test_a_headless_triage_sees_the_demo_deploy_as_the_suspect(tmp_path: Path) -> None:
    """What `incident-console triage` reads (`seen_now`: one poll, the change sources read once): the deploy step of
    high-error-rate passes and its rollback goes to the release before v1.2.3, as on the screen."""
    from console.commands.triage import seen_now
    from console.triage.conditions import Truth, evaluate
    from console.triage.resolve import resolve_params

    clock = ManualClock(T0)
    with DemoService(incident_after=60.0, clock=clock, recovery=0.0, seed=5) as service:
        config = load(write_config(tmp_path, service.url))
        clock.advance(100)
        live = await seen_now(config, clock)
    book = next(p for p in all_playbooks(config)[0] if p.name == "high-error-rate")
    deploy, rollback = (next(step for step in book.steps if step.id == id_) for id_ in ("deploy", "rollback"))
    assert evaluate(deploy.condition, live).value is Truth.PASS, live.model("changes")
    assert resolve_params(rollback.params, {}, live) == {"version": "v1.2.2"}
    assert config.console.journal is not None and not config.console.journal.exists(), "it journals nothing"
