"""Conditions over the open incident (age, status, severity by its scheme, declared) and units converted to the
check's own: `> 90s` against a metric in seconds is 90, a unit that cannot convert is UNKNOWN and a `triage check`
problem; the fast closures agree with the worded evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from actions.registry import action_names
from console.clock import ManualClock
from console.config import load, loads
from console.incident.commands import IncidentDesk
from console.journal import Journal
from console.live import LiveState
from console.models import State
from console.models.health import HealthSnapshot, MetricSnapshot
from console.models.postgres import PostgresSnapshot
from console.models.redis import RedisSnapshot
from console.sources.base import REGISTRY, check_units
from console.triage.conditions import ConditionError, IncidentTest, Truth, evaluate, parse
from console.triage.playbook import Playbook, validate
from console.triage.truth import truth

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
LEVELS = """
[incident]
levels = [
  { name = "CRITICAL", update_every = "30m" },
  { name = "HIGH", update_every = "1h" },
  { name = "LOW", update_every = "1d" },
]
"""


def metric(name: str, value: float, unit: str) -> MetricSnapshot:
    return MetricSnapshot(name=name, state=State.WARN, value=value, unit=unit, taken_at=T0)


@pytest.fixture
def live() -> LiveState:
    state = LiveState(ManualClock(T0))
    state.update(
        [
            metric("queue wait", 100.0, "s"),
            metric("build time", 3.0, "min"),
            metric("queue", 12.0, "jobs"),
            HealthSnapshot(name="api", url="u", state=State.WARN, latency_ms=2500.0, taken_at=T0),
        ]
    )
    return state


def both(text: str, live: LiveState) -> Truth:
    """The worded value, after checking the fast one agrees."""
    value = evaluate(text, live).value
    assert truth(text, live) is value, text
    return value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('metric."queue wait" > 90s', Truth.PASS),  # 100 s > 90 s (it was compared with 90000)
        ('metric."queue wait" > 2m', Truth.FAIL),
        ('metric."queue wait" < 200000ms', Truth.PASS),
        ('metric."build time" >= 180s', Truth.PASS),
        ('metric."build time" < 1h', Truth.PASS),
        ("health.api > 2s", Truth.PASS),
        ("health.api > 2500", Truth.FAIL),
        ("metric.queue > 10", Truth.PASS),
        ("metric.queue > 10s", Truth.UNKNOWN),  # jobs are no time
        ("health.api > 5%", Truth.UNKNOWN),
    ],
)
def test_thresholds_are_converted_to_the_check_unit(live: LiveState, text: str, value: Truth) -> None:
    assert both(text, live) is value


def test_a_unit_that_cannot_convert_is_said_in_the_evidence_and_by_triage_check(tmp_path: Path, live) -> None:
    assert evaluate("health.api > 5%", live).text == "health api 2500 ms (warn): 5% does not convert to ms"
    path = tmp_path / "config.toml"
    path.write_text(
        '[console]\nenvironment = "staging"\n[[health]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n'
        '[[metric]]\nname = "queue"\nurl = "http://127.0.0.1:9/q"\npath = "n"\nunit = "jobs"\n'
    )
    config = load(path)
    book = Playbook.model_validate(
        {
            "name": "units",
            "title": "Units",
            "when": "health.api > 5%",
            "steps": [
                {"kind": "check", "condition": "metric.queue > 2m"},
                {"kind": "check", "condition": "health.api > 2s"},
            ],
        }
    )
    assert validate([book], config, action_names(config)) == [
        "config: playbook units: when: health.api is a number in ms: 5% does not convert to it",
        "config: playbook units: step step-1: condition: metric.queue is a number in jobs: 2m does not convert to it",
    ]


def test_the_registry_says_the_unit_each_check_carries(tmp_path: Path) -> None:
    config = loads(
        '[[health]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n'
        '[[metric]]\nname = "wait"\nurl = "http://127.0.0.1:9/w"\npath = "w"\nunit = "s"\n'
        '[postgres]\ndsn = "postgresql://x@127.0.0.1/db"\n[redis]\nurl = "redis://127.0.0.1"\n',
        environ={},
    )
    models = [
        HealthSnapshot(name="api", url="u", state=State.OK, latency_ms=3.0, taken_at=T0),
        metric("wait", 1.0, "s"),
        PostgresSnapshot(state=State.OK, max_connections=100, connections={"active": 5}, cache_hit_pct=99.0).judged(),
        RedisSnapshot(state=State.OK, ping_ms=0.4, hit_ratio=0.9, lookups=10, used_memory=5, max_memory=10),
    ]
    carried = {(c.source, c.name): c.unit for m in models for c in m.checks() if c.unit}
    said = {(section, name): unit for section, units in check_units(config).items() for name, unit in units.items()}
    assert carried == said
    assert {kind.section for kind in REGISTRY} >= {section for section, _ in said}


def declared(tmp_path: Path, clock: ManualClock, severity: str, text: str = "") -> tuple[IncidentDesk, LiveState]:
    desk = IncidentDesk(Journal(tmp_path / "journal.jsonl", clock=clock.now), clock, loads(text).incident)
    desk.declare("The API is slow", severity)
    live = LiveState(clock)
    live.incident = desk.state().facts()
    return desk, live


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("incident.declared", Truth.PASS),
        ("not incident.declared", Truth.FAIL),
        ("incident.age > 10m", Truth.PASS),
        ("incident.age > 20m", Truth.FAIL),
        ("incident.status == investigating", Truth.PASS),
        ("incident.status != investigating", Truth.FAIL),
        ("incident.status == mitigated", Truth.FAIL),
        ("incident.severity <= SEV-2", Truth.PASS),
        ("incident.severity <= SEV-1", Truth.FAIL),
        ("incident.severity == SEV-2", Truth.PASS),
        ("incident.severity > SEV-3", Truth.FAIL),
        ("incident.severity <= P1", Truth.UNKNOWN),  # not a level of its scheme
    ],
)
def test_conditions_over_the_open_incident(tmp_path: Path, text: str, value: Truth) -> None:
    clock = ManualClock(T0)
    desk, live = declared(tmp_path, clock, "SEV-2")
    desk.set_status("investigating")
    live.incident = desk.state().facts()
    clock.advance(15 * 60)
    assert both(text, live) is value


@pytest.mark.parametrize(
    ("severity", "text", "value"),
    [("P1", "incident.severity <= P1", Truth.PASS), ("P2", "incident.severity <= P1", Truth.FAIL)],
)
def test_severity_follows_the_p_scheme(tmp_path: Path, severity: str, text: str, value: Truth) -> None:
    _, live = declared(tmp_path, ManualClock(T0), severity, '[incident]\nscheme = "p"\n')
    assert both(text, live) is value


def test_severity_follows_configured_levels_most_severe_first(tmp_path: Path) -> None:
    _, live = declared(tmp_path, ManualClock(T0), "HIGH", LEVELS)
    assert both("incident.severity <= HIGH", live) is Truth.PASS
    assert both("incident.severity < HIGH", live) is Truth.FAIL
    assert both("incident.severity > LOW", live) is Truth.FAIL


def test_with_no_incident_open_only_declared_is_decided() -> None:
    live = LiveState(ManualClock(T0))
    assert both("incident.declared", live) is Truth.FAIL
    assert both("incident.age > 1m", live) is Truth.UNKNOWN
    assert evaluate("incident.status == triage", live).text == "no incident is open: incident.status has no value"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("incident.age > 10", "incident.age compares with a duration"),
        ("incident.status > mitigated", "incident.status takes == or !="),
        ("incident.severity <= 2m", "incident.severity compares with a name"),
        ("incident.declared == 1", "incident.declared takes no comparison"),
        ("incident.owner == bob", "unknown incident field 'owner'"),
    ],
)
def test_incident_tests_written_wrong_are_one_error(text: str, words: str) -> None:
    with pytest.raises(ConditionError, match=words):
        parse(text)


def test_triage_check_knows_incident_statuses_and_the_configured_levels(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[console]\nenvironment = "staging"\n' + LEVELS)
    config = load(path)
    book = Playbook.model_validate(
        {
            "name": "escalate",
            "title": "Escalate",
            "when": "incident.severity <= SEV-2 and incident.status == fixed",
            "steps": [{"kind": "check", "condition": "incident.severity <= HIGH and incident.age > 1h"}],
        }
    )
    assert validate([book], config, action_names(config)) == [
        "config: playbook escalate: when: unknown severity 'SEV-2' (levels of the configured scheme: CRITICAL, "
        "HIGH, LOW)",
        "config: playbook escalate: when: unknown incident status 'fixed' (statuses: triage, investigating, "
        "identified, mitigated, resolved, closed, cancelled)",
    ]
    assert parse("incident.age > 1h") == IncidentTest("age", ">", timedelta(hours=1).total_seconds())
