"""The incident model: replayed from a real journal file, every refusal, membership, metrics, reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.clock import ManualClock
from console.config import ConfigError, IncidentSettings, loads
from console.incident.commands import IncidentDesk
from console.incident.events import IncidentError
from console.incident.replay import current_incident, replay
from console.incident.state import IncidentStatus
from console.incident.updates import TEMPLATES, draft_update, render_update
from console.journal import Journal
from console.timeparse import parse_moment

START = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)
ACTOR = {"user": "bob", "host": "bastion-2", "ssh_from": None, "pid": 7}


def make_desk(tmp_path: Path, clock: ManualClock, settings: IncidentSettings | None = None) -> IncidentDesk:
    journal = Journal(tmp_path / "journal.jsonl", environment="production", clock=clock.now, actor=ACTOR)
    return IncidentDesk(journal, clock, settings)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def desk(tmp_path: Path, clock: ManualClock) -> IncidentDesk:
    return make_desk(tmp_path, clock)


def refused(call, *args) -> str:
    """The one-line refusal of a desk command, which must leave the journal untouched."""
    with pytest.raises(IncidentError) as caught:
        call(*args)
    message = str(caught.value)
    assert "\n" not in message
    return message


def busy_incident(desk: IncidentDesk, clock: ManualClock) -> None:
    desk.declare("Payments time out", "SEV-1", START - timedelta(minutes=5))
    clock.advance(60)
    desk.assign_role("commander", "bob")
    desk.set_status("investigating")
    desk.journal.append("action.requested", {"action": "kill-idle", "params": {"older_than": "1h"}})
    desk.journal.append(
        "action.completed", {"action": "kill-idle", "status": "completed", "counts": {"killed": 3}}, corr=4
    )
    clock.advance(60)
    desk.add_note("TODO: cap the pool per service")
    desk.add_decision("fail over to the replica")
    desk.set_severity("SEV-2")
    desk.pin(4)
    fields = draft_update(desk.state(), "initial", clock.now())
    desk.post_update("initial", fields)


def test_the_same_journal_replays_to_the_same_state_in_a_new_desk(
    tmp_path: Path, desk: IncidentDesk, clock: ManualClock
) -> None:
    busy_incident(desk, clock)
    first = desk.state()
    again = make_desk(tmp_path, ManualClock(START + timedelta(days=3))).state()  # a restarted console
    assert first is not None and again == first
    assert current_incident(Journal(tmp_path / "journal.jsonl")) == first
    assert again.status is IncidentStatus.INVESTIGATING
    assert (again.severity, again.update_every_s, again.roles) == ("SEV-2", 3600.0, {"commander": "bob"})
    assert [f.text for f in again.follow_ups] == ["cap the pool per service"]
    assert [d.text for d in again.decisions] == ["fail over to the replica"]
    assert again.pinned == {4}
    assert again.actions[4].counts == {"killed": 3} and again.actions[4].outcome_seq == 5
    assert again.updates[0].next_update_at == datetime(2025, 1, 15, 4, 2, tzinfo=UTC)


def test_a_restarted_desk_continues_where_the_journal_left_off(
    tmp_path: Path, desk: IncidentDesk, clock: ManualClock
) -> None:
    busy_incident(desk, clock)
    restarted = make_desk(tmp_path, clock)
    assert "forward" in refused(restarted.set_status, "triage")
    restarted.advance_status()
    assert restarted.state().status is IncidentStatus.IDENTIFIED
    assert desk.state().status is IncidentStatus.IDENTIFIED  # the first console sees it too


def test_declaring_records_backdating_and_the_scheme(desk: IncidentDesk, clock: ManualClock) -> None:
    entry = desk.declare("  Checkout   returns 500s ", "2", START - timedelta(minutes=12))
    assert entry["incident"] == "INC-20250115-0300"
    assert entry["data"] == {
        "title": "Checkout returns 500s",
        "severity": "SEV-2",
        "scheme": "sev",
        "status": "triage",
        "impact_started": "2025-01-15T02:48:00.000Z",
        "backdated": True,
        "backdated_s": 720.0,
        "response_target_s": 3600.0,
        "update_every_s": 3600.0,
    }
    state = desk.state()
    assert state.backdated_s == 720 and state.next_update_at == START + timedelta(hours=1)


def test_every_bad_command_is_refused_with_one_line(desk: IncidentDesk, clock: ManualClock) -> None:
    assert "no incident has been declared" in refused(desk.set_severity, "SEV-1")
    assert "no incident has been declared" in refused(desk.set_status, "investigating")
    assert "no incident has been declared" in refused(desk.pin, 1)
    assert "title is empty" in refused(desk.declare, "   ")
    assert "unknown severity 'SEV-9' (SEV-1, SEV-2, SEV-3, SEV-4)" in refused(desk.declare, "x", "SEV-9")
    assert "in the future" in refused(desk.declare, "x", "SEV-2", START + timedelta(minutes=5))
    desk.declare("Checkout returns 500s", "SEV-2")
    assert "still triage" in refused(desk.declare, "Another one")
    assert "already SEV-2" in refused(desk.set_severity, "sev2")
    assert "unknown status 'fixed'" in refused(desk.set_status, "fixed")
    assert "cancel the incident" in refused(desk.set_status, "cancelled")
    assert "resolve it before closing" in refused(desk.set_status, "closed")
    desk.set_status("mitigated")
    assert "only move forward" in refused(desk.set_status, "investigating")
    assert "only move forward" in refused(desk.set_status, "mitigated")
    assert "only a resolved, closed or cancelled" in refused(desk.reopen)
    assert "say why" in refused(desk.cancel, " ")
    assert "unknown role 'boss'" in refused(desk.assign_role, "boss", "bob")
    assert "name the scribe" in refused(desk.assign_role, "scribe", "  ")
    assert "text is empty" in refused(desk.add_note, "  ")
    assert "text is empty" in refused(desk.add_decision, "")
    assert "#99 is not part of" in refused(desk.pin, 99)
    desk.pin(1)
    assert "already pinned" in refused(desk.pin, 1)
    assert "set it to resolved first" in refused(
        desk.post_update, "resolved", draft_update(desk.state(), "resolved", clock.now())
    )
    before = len(list(desk.journal.entries()))
    desk.set_status("resolved")
    desk.set_status("closed")
    assert "is closed; reopen it" in refused(desk.set_severity, "SEV-1")
    assert len(list(desk.journal.entries())) == before + 2


def test_status_updates_refuse_empty_unknown_and_past_fields(desk: IncidentDesk, clock: ManualClock) -> None:
    desk.declare("Checkout returns 500s", "SEV-2")
    fields = draft_update(desk.state(), "update", clock.now())
    assert "Root cause is empty" in refused(desk.post_update, "update", {**fields, "root_cause": "  "})
    assert "Impact is empty" in refused(desk.post_update, "update", {k: v for k, v in fields.items() if k != "impact"})
    assert "no field 'mood'" in refused(desk.post_update, "update", {**fields, "mood": "calm"})
    assert "unknown kind 'teaser'" in refused(desk.post_update, "teaser", fields)
    assert "expected a time like" in refused(desk.post_update, "update", {**fields, "next_update": "soonish"})
    assert "in the future" in refused(desk.post_update, "update", {**fields, "next_update": "2025-01-15T02:00Z"})
    assert desk.state().updates == []
    entry = desk.post_update("update", {**fields, "next_update": "in 20m", "details": ""})
    assert entry["data"]["next_update_at"] == "2025-01-15T03:20:00.000Z"
    assert entry["data"]["fields"]["next_update"] == "03:20 UTC"


def test_an_overdue_update_is_journaled_once_per_due_time(desk: IncidentDesk, clock: ManualClock) -> None:
    assert desk.check_overdue() is None  # no incident at all
    desk.declare("Site down", "SEV-1")  # the top level: an update every 30 minutes
    clock.advance(29 * 60)
    assert desk.check_overdue() is None
    assert desk.state().overdue_s(clock.now()) == 0
    clock.advance(2 * 60)
    reminder = desk.check_overdue()
    assert reminder is not None and reminder["kind"] == "update.overdue"
    assert reminder["data"] == {"due_at": "2025-01-15T03:30:00.000Z", "overdue_s": 60.0}
    clock.advance(10 * 60)
    assert desk.check_overdue() is None  # already reminded for this due time
    desk.post_update("update", draft_update(desk.state(), "update", clock.now()))
    state = desk.state()
    assert state.updates[-1].late_s == 11 * 60
    assert state.next_update_at == START + timedelta(minutes=41 + 30)
    clock.advance(31 * 60)
    assert desk.check_overdue()["data"]["due_at"] == "2025-01-15T04:11:00.000Z"
    assert len(desk.state().reminders) == 2


def test_nothing_is_due_after_the_resolution_notice_or_the_end(desk: IncidentDesk, clock: ManualClock) -> None:
    desk.declare("Site down", "SEV-1")
    desk.set_status("resolved")
    desk.post_update("resolved", draft_update(desk.state(), "resolved", clock.now()))
    clock.advance(3 * 3600)
    assert desk.state().next_update_at is None and desk.check_overdue() is None


def test_escalating_pulls_the_next_update_in(desk: IncidentDesk, clock: ManualClock) -> None:
    desk.declare("Search is slow", "SEV-3")
    assert desk.state().next_update_at == START + timedelta(hours=4)
    clock.advance(600)
    desk.set_severity("SEV-1")
    state = desk.state()
    assert (state.update_every_s, state.next_update_at) == (1800.0, START + timedelta(minutes=40))
    assert [(c.kind, c.before, c.after) for c in state.changes] == [("severity", "SEV-3", "SEV-1")]


def test_membership_follows_the_window_and_the_backdated_impact(desk: IncidentDesk, clock: ManualClock) -> None:
    journal = desk.journal
    journal.append("observation", {"source": "redis", "name": "hit rate", "state": "warn", "from": "ok"})  # 1
    clock.advance(2400)
    journal.append("observation", {"source": "health", "name": "api", "state": "crit", "from": "ok"})  # 2
    clock.advance(300)
    desk.declare("API errors", "SEV-2", START + timedelta(minutes=5))  # 3: impact 03:05, declared 03:45
    clock.advance(60)
    journal.append("journal.recovered", {"bytes": 12})  # 4
    desk.set_status("resolved")  # 5
    desk.set_status("closed")  # 6
    journal.append("observation", {"source": "health", "name": "api", "state": "ok", "from": "crit"})  # 7
    desk.reopen("errors are back")  # 8
    journal.append("action.requested", {"action": "flush-cache"}, incident="INC-other")  # 9: someone else's
    desk.add_note("back again")  # 10
    state = desk.state()
    assert [e["seq"] for e in state.entries] == [2, 3, 4, 5, 6, 8, 10]
    assert state.detected_seq == 2 and state.metrics()["detect"] == 2100  # #1 is before the impact and the window
    assert state.status is IncidentStatus.INVESTIGATING
    assert state.resolved_at is None and state.ended_at is None
    assert [c.kind for c in state.changes] == ["status", "status", "reopened"]


def test_notes_without_an_open_incident_are_journaled_outside_any(desk: IncidentDesk) -> None:
    assert desk.add_note("quiet night so far")["incident"] is None
    assert desk.state() is None
    desk.declare("Site down", "SEV-1")
    desk.cancel("false alarm: the monitor itself was down")
    assert desk.add_note("back to quiet")["incident"] is None
    assert desk.open_incident_id() is None
    assert desk.declare("Site really down", "SEV-1")["incident"] == "INC-20250115-0300-2"


def test_two_consoles_on_one_journal_agree(tmp_path: Path, desk: IncidentDesk, clock: ManualClock) -> None:
    other = make_desk(tmp_path, clock)
    desk.declare("Checkout returns 500s", "SEV-2")
    assert "still triage" in refused(other.declare, "Checkout returns 500s")
    other.set_status("investigating")
    assert desk.state().status is IncidentStatus.INVESTIGATING


def test_the_p_scheme_and_cadence_come_from_the_config(tmp_path: Path, clock: ManualClock) -> None:
    config = loads('[incident]\nscheme = "p"\nupdate_every = { P0 = "15m" }\n')
    desk = make_desk(tmp_path, clock, config.incident)
    entry = desk.declare("Site down", "0")
    assert (entry["data"]["severity"], entry["data"]["update_every_s"]) == ("P0", 900.0)
    assert "unknown severity 'SEV-1' (P0, P1, P2, P3)" in refused(desk.set_severity, "SEV-1")
    desk.set_severity("p2")
    assert desk.state().update_every_s == 4 * 3600


def test_config_mistakes_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'SEV-1' is not a level of the 'p' scheme \(P0, P1, P2, P3\)"):
        loads('[incident]\nscheme = "p"\nupdate_every = { SEV-1 = "15m" }\n')
    with pytest.raises(ConfigError, match="under a minute"):
        loads('[incident]\nupdate_every = { SEV-1 = "5s" }\n')


@pytest.mark.parametrize(
    ("text", "future", "expected"),
    [
        ("", False, START),
        ("15m", False, START - timedelta(minutes=15)),
        ("15m ago", False, START - timedelta(minutes=15)),
        ("in 30m", True, START + timedelta(minutes=30)),
        ("02:45 UTC", False, START - timedelta(minutes=15)),
        ("03:30", False, START - timedelta(hours=23, minutes=30)),
        ("02:30", True, START + timedelta(hours=23, minutes=30)),
        ("2025-01-14T22:00:00Z", False, datetime(2025, 1, 14, 22, 0, tzinfo=UTC)),
        ("2025-01-14 22:00", False, datetime(2025, 1, 14, 22, 0, tzinfo=UTC)),
    ],
)
def test_moments_typed_by_the_operator(text: str, future: bool, expected: datetime) -> None:
    assert parse_moment(text, START, future=future, what="when") == expected


def test_a_nonsense_moment_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match=r"^when: expected a time like 15m ago, .* got 'yesterday-ish'$"):
        parse_moment("yesterday-ish", START, future=False, what="when")
    with pytest.raises(ValueError, match="'25:00' is not a time of day"):
        parse_moment("25:00", START, future=False, what="when")


def test_templates_are_prefilled_from_the_incident(desk: IncidentDesk, clock: ManualClock) -> None:
    desk.declare("Checkout returns 500s", "SEV-1", START - timedelta(minutes=10))
    state = desk.state()
    for kind, spec in TEMPLATES.items():
        fields = draft_update(state, kind, clock.now())
        assert all(fields[key] for key in spec.keys), kind
    initial = draft_update(state, "initial", clock.now())
    assert initial["started"] == "2025-01-15 02:50 UTC" and initial["next_update"] == "03:30 UTC"
    assert "Updates will be provided every 30 minutes." in initial["details"]
    text = render_update(state, "initial", initial)
    assert text.splitlines()[:4] == ["🚨 INCIDENT ALERT - SEV-1", "", "Service: production", "Status: Investigating"]


def test_replay_tolerates_entries_it_does_not_understand(tmp_path: Path, desk: IncidentDesk) -> None:
    desk.declare("Site down", "SEV-1")
    desk.journal.append("incident.status", {"status": "exploded"}, incident="INC-20250115-0300")
    desk.journal.append("pin", {"seq": "one"}, incident="INC-20250115-0300")
    desk.journal.append("action.completed", {"action": "x"}, corr=999)
    desk.journal.append("future.kind", {"anything": [1, 2]})
    state = replay(desk.journal.entries())
    assert state.status is IncidentStatus.TRIAGE and state.pinned == set() and state.actions == {}
    assert len(state.entries) == 5


def test_replay_reads_a_declaration_whose_scheme_is_not_a_name(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append("incident.declared", {"title": "Site down", "scheme": ["p"], "severity": "SEV-2"}, incident="I-1")
    state = replay(journal.entries())
    assert state.scheme == "sev" and state.severity == "SEV-2" and state.title == "Site down"
