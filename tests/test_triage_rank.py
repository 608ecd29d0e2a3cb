"""Suggestions rank by fit: the demo's error-rate playbook ranks above the slow-answers one once the api goes DOWN,
each rank is explained in words, a playbook whose run in this incident fell short drops below the others, and
`fixes` names checks `triage check` knows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.registry import action_names
from console.clock import ManualClock
from console.config import load
from console.demo.run import demo_config
from console.journal import Journal
from console.live import LiveState
from console.models import State
from console.models.health import HealthSnapshot, MetricSnapshot
from console.triage.builtins import all_playbooks
from console.triage.engine import TriageEngine
from console.triage.playbook import Playbook, validate
from console.triage.run import replay, setbacks
from console.triage.suggest import suggest

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
INCIDENT = "INC-20260301-0300"


def demo(tmp_path: Path) -> list[Playbook]:
    path = tmp_path / "config.toml"
    path.write_text(demo_config("http://127.0.0.1:1", tmp_path))
    path.chmod(0o600)
    playbooks, problems = all_playbooks(load(path))
    assert problems == []
    return playbooks


def twenty_seconds_after_crit(clock: ManualClock) -> LiveState:
    """The demo 20 s after its error rate turned CRIT: the api health check is DOWN (503), p95 latency CRIT."""
    live = LiveState(clock)
    live.update(
        [
            MetricSnapshot(name="error rate", state=State.CRIT, value=4.7, unit="%", crit=1.0, taken_at=T0),
            MetricSnapshot(name="p95 latency", state=State.CRIT, value=2400, unit="ms", crit=2000, taken_at=T0),
            HealthSnapshot(name="api", url="", state=State.DOWN, reason="HTTP 503", status_code=503, taken_at=T0),
        ]
    )
    clock.advance(20)
    return live


def test_the_playbook_that_fixes_the_incident_ranks_first_once_the_api_is_down(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    found = suggest(demo(tmp_path), twenty_seconds_after_crit(clock))
    assert [(s.playbook.name, s.severity) for s in found] == [
        ("high-error-rate", "SEV-2"),
        ("slow-responses", "SEV-3"),
    ]
    first, second = found
    assert first.fit == (
        "suggests SEV-2; fixes metric.error rate, health.api, metric.p95 latency; its condition reads 1 failing check"
    )
    assert second.fit == "suggests SEV-3; fixes metric.p95 latency; its condition reads 2 failing checks"


@pytest.mark.parametrize(
    ("fell_short", "why"),
    [
        ("abandon", "its run in this incident was abandoned"),
        ("verify", "its verify (verify) failed in this incident"),
    ],
)
def test_a_playbook_whose_run_fell_short_in_this_incident_drops_below_the_others(
    tmp_path: Path, fell_short: str, why: str
) -> None:
    clock = ManualClock(T0)
    live = twenty_seconds_after_crit(clock)
    playbooks = demo(tmp_path)
    journal = Journal(tmp_path / "journal.jsonl", clock=clock.now)
    book = next(p for p in playbooks if p.name == "high-error-rate")
    engine = TriageEngine.start(book, journal, live, clock, incident=INCIDENT)
    if fell_short == "abandon":
        engine.abandon("abandoned by the operator")
    else:  # the verify step, entered by skipping, never sees the error rate under 1% within its 3 minutes
        engine.poll()  # the error rate check passes
        for step in ("logs", "deploy", "rollback"):
            engine.skip("test", step=step)
        engine.poll()
        clock.advance(181)
        engine.poll()
    runs = replay(journal.entries())
    assert setbacks(runs, "INC-other") == {}  # another incident's runs say nothing about this one
    found = suggest(playbooks, live, setbacks=setbacks(runs, INCIDENT))
    assert [s.playbook.name for s in found] == ["slow-responses", "high-error-rate"]
    assert found[1].fit == f"ranked below the others: {why}"


def test_fixes_names_checks_triage_check_knows(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(demo_config("http://127.0.0.1:1", tmp_path))
    config = load(path)
    book = Playbook.model_validate(
        {
            "name": "bad-fixes",
            "title": "Bad fixes",
            "when": "health.api is down",
            "fixes": ["metric.error rate", "metric.errors", "disk.full", "health"],
            "steps": [{"kind": "done"}],
        }
    )
    assert validate([book], config, action_names(config)) == [
        "config: playbook bad-fixes: fixes: unknown check metric.'errors' (known: cache hit rate, error rate, "
        "p95 latency)",
        "config: playbook bad-fixes: fixes: 'disk.full' is not SOURCE.CHECK with a source of health, metric, logs, "
        "postgres, redis, alerts, changes (e.g. metric.error rate)",
        "config: playbook bad-fixes: fixes: 'health' is not SOURCE.CHECK with a source of health, metric, logs, "
        "postgres, redis, alerts, changes (e.g. metric.error rate)",
    ]


def test_a_playbook_without_fixes_keeps_the_digest_it_had_before_fixes_existed() -> None:
    book = Playbook.model_validate({"name": "a", "title": "A", "when": "", "steps": [{"kind": "done"}]})
    assert "fixes" not in book.definition()
    assert book.digest == "sha256:" + __import__("hashlib").sha256(
        b'{"name": "a", "severity": null, "steps": [{"id": "step-1", "kind": "done", "next": null, '
        b'"outcome": "completed", "title": ""}], "title": "A", "when": ""}'
    ).hexdigest()
