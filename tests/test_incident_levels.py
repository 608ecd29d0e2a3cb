"""Incident levels and escalation reminders from the config, journaled and replayed from a real journal file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.clock import ManualClock
from console.config import ConfigError, loads
from console.incident.commands import IncidentDesk
from console.incident.replay import current_incident
from console.incident.state import describe
from console.journal import Journal

START = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)
CLOUDFLARE = """
[incident]
levels = [
  { name = "CRITICAL", label = "Site down", response = "15m", update_every = "30m" },
  { name = "HIGH", label = "Major feature broken", response = "1h", update_every = "1h" },
  { name = "MEDIUM", response = "4h", update_every = "4h" },
  { name = "INFO", update_every = "1d" },
]

[[incident.escalate]]
after = "1h"
severity = "CRITICAL"
say = "page the engineering lead"

[[incident.escalate]]
after = "30m"
say = "tell support"
"""


def desk_for(tmp_path: Path, clock: ManualClock, text: str = CLOUDFLARE) -> IncidentDesk:
    journal = Journal(tmp_path / "journal.jsonl", environment="production", clock=clock.now)
    return IncidentDesk(journal, clock, loads(text).incident)


def test_configured_levels_set_names_response_targets_and_cadence(tmp_path: Path) -> None:
    clock = ManualClock(START)
    desk = desk_for(tmp_path, clock)
    assert desk.scheme.names == ["CRITICAL", "HIGH", "MEDIUM", "INFO"]
    declared = desk.declare("Workers return 522", "critical")
    assert declared["data"]["response_target_s"] == 900 and declared["data"]["update_every_s"] == 1800
    state = current_incident(desk.journal)
    assert (state.severity, state.level.label) == ("CRITICAL", "Site down")
    assert state.next_update_at == START + timedelta(minutes=30)
    desk.set_severity("INFO")
    assert current_incident(desk.journal).update_every_s == 86400


def test_escalation_reminders_are_journaled_once_per_rule_per_incident(tmp_path: Path) -> None:
    clock = ManualClock(START)
    desk = desk_for(tmp_path, clock)
    desk.declare("Workers return 522", "HIGH")
    assert desk.check_escalations() == []
    clock.advance(30 * 60)
    due = desk.check_escalations()
    assert [e["data"]["say"] for e in due] == ["tell support"]
    assert describe(due[0]) == "escalation due: tell support"
    clock.advance(60 * 60)
    assert desk.check_escalations() == []  # the lead is paged for CRITICAL only
    desk.set_severity("CRITICAL")
    due = desk.check_escalations()
    assert [(e["kind"], e["data"]["rule"], e["data"]["say"]) for e in due] == [
        ("incident.escalation_due", 0, "page the engineering lead")
    ]
    clock.advance(3600)
    assert desk.check_escalations() == []
    kinds = [e["kind"] for e in Journal(tmp_path / "journal.jsonl").entries()]
    assert kinds.count("incident.escalation_due") == 2


def test_a_new_incident_is_reminded_again_and_a_closed_one_is_not(tmp_path: Path) -> None:
    clock = ManualClock(START)
    desk = desk_for(tmp_path, clock)
    desk.declare("first", "MEDIUM")
    desk.cancel("false alarm")
    clock.advance(3600)
    assert desk.check_escalations() == []
    desk.declare("second", "MEDIUM", clock.now() - timedelta(minutes=45))  # backdated: the impact counts
    assert [e["data"]["say"] for e in desk.check_escalations()] == ["tell support"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[incident]\nlevels = [{ name = "A", update_every = "1h" }, { name = "A", update_every = "2h" }]\n', "unique"),
        ('[incident]\nlevels = [{ name = "A", update_every = "30s" }]\n', r"levels\[0\]\.update_every: a cadence"),
        ('[incident]\nlevels = [{ name = "A" }]\n', "update_every"),
        ('[incident]\nlevels = [{ name = "A", update_every = "1h" }]\nupdate_every = { "SEV-1" = "1h" }\n', "'SEV-1'"),
        ('[[incident.escalate]]\nafter = "1h"\nseverity = "CRITICAL"\nsay = "x"\n', r"escalate\[0\]\.severity"),
        ('[[incident.escalate]]\nafter = "1h"\n', "say"),
        ('[[incident.escalate]]\nafter = "soon"\nsay = "x"\n', "after"),
    ],
)
def test_level_and_escalation_mistakes_are_one_line_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        loads(text)
    assert "\n" not in str(caught.value)
