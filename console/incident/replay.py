"""Replays the journal into the incident state (`console.incident.state`); the kinds are in `events`.

Which entries belong to an incident: those whose `incident` field is its id, plus entries with no `incident`
(actions, observations, `journal.recovered`, notes written by the headless CLI or another console) whose seq lies
in the incident's window: from its declaration to its close or cancel, and again from a reopen. Entries before
the declaration with no incident, outside any other incident's window and stamped at or after its `onset` belong
too: what happened before someone declared is part of the story. Windows use seq, not time, so clocks that disagree
between hosts cannot reorder them. `journal.checkpoint` and `change.baseline` entries belong to no incident.

A replay may start at the journal's horizon (`console.journal.horizon`), inside an earlier incident's window: the
close or cancel of an incident it never saw declared tells it that what it read so far was that incident's.

Times: onset = the earlier of the impact start and the first WARN-or-worse observation in the 30 minutes before the
declaration (`onset`); detected = the first unhealthy observation from the onset to the declaration (else the
declaration); acknowledged = the declaration. Time to detect = onset -> detected; to acknowledge = detected ->
acknowledged; to mitigate / resolve = onset -> the first time the status reached mitigated / resolved (a reopen
clears them). The first update is due one cadence after the declaration; each posted update sets the next due time;
a severity change pulls it in when the new cadence is shorter; nothing is due after the resolution notice or once
the incident ended.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from console.config import IncidentSettings
from console.incident.events import (
    CANCELLED,
    DECISION,
    DECLARED,
    FOLLOW_UP,
    NOTE,
    PIN,
    REOPENED,
    RETITLED,
    ROLE,
    ROLES,
    SEVERITY,
    STATUS,
    UPDATE_OVERDUE,
    UPDATE_POSTED,
)
from console.incident.state import (
    UNHEALTHY,
    ActionRecord,
    Change,
    IncidentState,
    IncidentStatus,
    PostedUpdate,
    Remark,
    Reminder,
    author_of,
)
from console.journal import Journal
from console.journal.horizon import BOOKKEEPING, PRE_DECLARATION, WINDOW_MAX
from console.models.severity import SCHEMES, Scheme
from console.timeparse import parse_timestamp


def scheme_for(settings: IncidentSettings) -> Scheme:
    """The configured severity scheme with its cadence overrides applied."""
    return SCHEMES[settings.scheme_key].with_cadence(settings.update_every)


def current_incident(journal: Journal) -> IncidentState | None:
    """The latest incident declared in this journal (open or not), or None."""
    return replay(journal.entries())


def incident_ids(entries: Iterable[dict]) -> list[str]:
    """Every incident id declared in these entries, oldest first."""
    return [e["incident"] for e in entries if e.get("kind") == DECLARED and e.get("incident")]


def onset(impact_started: datetime, declared_at: datetime, before: Iterable[tuple[dict, datetime]]) -> datetime:
    """When the incident began, as the journal tells it: the earlier of the impact start the declaration gives and the
    first WARN-or-worse `observation` (of `before`: entries outside any incident, with their times) in the
    PRE_DECLARATION (30 minutes) before the declaration."""
    since = declared_at - PRE_DECLARATION
    alerts = [
        at
        for entry, at in before
        if since <= at <= declared_at and entry.get("kind") == "observation" and _data(entry).get("state") in UNHEALTHY
    ]
    return min([impact_started, *alerts])


class Replayer:
    """Builds an incident from journal entries fed one at a time, oldest first, so a follower can apply only the
    new entries of a journal. `target` picks an incident by id; None follows the latest declared.

    Entries before a declaration that may belong to it (no incident, outside any other window) are kept in a buffer
    bounded like the horizon's window until a declaration claims those from its onset on.
    """

    def __init__(self, target: str | None = None) -> None:
        self.target = target
        self.state: IncidentState | None = None
        self.declared: list[str] = []
        self._active: str | None = None  # the incident whose window is open
        self._unowned: deque[tuple[dict, datetime]] = deque(maxlen=WINDOW_MAX)

    def feed(self, entry: dict) -> None:
        owner, kind = entry.get("incident"), entry.get("kind")
        if kind in BOOKKEEPING:
            return
        if owner is None:
            owner = self._active
        elif kind in (DECLARED, REOPENED):
            self._active = owner
        elif owner == self._active and _ends_window(entry):
            self._active = None
        elif self._active is None and owner not in self.declared and _ends_window(entry):
            self._unowned.clear()  # started inside this incident's window (at the horizon): what came was its own
        at = parse_timestamp(entry.get("ts"))
        if at is None:
            return
        if kind == DECLARED and entry.get("incident"):
            self.declared.append(entry["incident"])
            if self.target in (None, entry["incident"]) and (self.state is None or self.target is None):
                self._declare(entry)
                return
        if self.state is not None and owner == self.state.id:
            _apply(self.state, entry, at, False)
        elif owner is None:
            self._unowned.append((entry, at))

    def _declare(self, declaration: dict) -> None:
        state = self.state = _start(declaration)
        state.onset = onset(state.impact_started, state.declared_at, self._unowned)
        for entry, at in self._unowned:
            if at >= state.onset:
                _apply(state, entry, at, True)
        _apply(state, declaration, parse_timestamp(declaration.get("ts")) or state.declared_at, False)


def replay(entries: Iterable[dict], incident: str | None = None) -> IncidentState | None:
    """Rebuild an incident from journal entries (oldest first): `incident` by id, else the latest declared."""
    replayer = Replayer(incident)
    for entry in entries:
        replayer.feed(entry)
    return replayer.state


def _ends_window(entry: dict) -> bool:
    """A cancel or a close ends the incident's window: later entries with no incident are no longer its own."""
    kind = entry.get("kind")
    return kind == CANCELLED or (kind == STATUS and _data(entry).get("status") == "closed")


def _data(entry: dict) -> dict:
    return _dict(entry.get("data"))


def _dict(value: object) -> dict:
    """A JSON object read from an entry, or {} when the entry holds something else there."""
    return value if isinstance(value, dict) else {}


def _start(declaration: dict) -> IncidentState:
    data = _data(declaration)
    at = parse_timestamp(declaration.get("ts")) or datetime.now(UTC)
    named = data.get("scheme")
    scheme_key = named if isinstance(named, str) and named in SCHEMES else "sev"
    scheme = SCHEMES[scheme_key]
    severity = str(data.get("severity") or scheme.default.name)
    cadence = float(data.get("update_every_s") or scheme.level(severity).update_every_s)
    impact = parse_timestamp(data.get("impact_started")) or at
    return IncidentState(
        id=declaration["incident"],
        title=str(data.get("title", "")),
        scheme=scheme_key,
        severity=severity,
        status=IncidentStatus.TRIAGE,
        declared_seq=declaration.get("seq", 0),
        declared_at=at,
        declared_by=author_of(declaration),
        impact_started=min(impact, at),
        environment=declaration.get("environment"),
        update_every_s=cadence,
        next_update_at=at + timedelta(seconds=cadence),
        detected_at=at,
        onset=min(impact, at),
        response_target_s=data.get("response_target_s", scheme.level(severity).response_s),
    )


def _apply(state: IncidentState, entry: dict, at: datetime, before_declaration: bool) -> None:
    state.entries.append(entry)
    kind = entry.get("kind", "")
    if before_declaration and kind == "observation" and _data(entry).get("state") in UNHEALTHY:
        if state.detected_seq is None:
            state.detected_at, state.detected_seq = at, entry.get("seq")
        return
    handler = _HANDLERS.get(kind) or (_on_outcome if kind.startswith("action.") else None)
    if handler is not None:
        handler(state, entry, _data(entry), at)


def _on_severity(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    before, state.severity = state.severity, str(data.get("severity", state.severity))
    state.update_every_s = float(data.get("update_every_s") or state.level.update_every_s)
    if state.next_update_at is not None:
        state.next_update_at = min(state.next_update_at, at + timedelta(seconds=state.update_every_s))
    state.changes.append(Change(entry["seq"], at, "severity", before, state.severity))


_MILESTONES = (
    ("identified_at", IncidentStatus.IDENTIFIED),
    ("mitigated_at", IncidentStatus.MITIGATED),
    ("resolved_at", IncidentStatus.RESOLVED),
)


def _on_status(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    try:
        status = IncidentStatus(str(data.get("status")))
    except ValueError:
        return
    before, state.status = state.status, status
    for attribute, milestone in _MILESTONES:
        if status.step >= milestone.step and getattr(state, attribute) is None:
            setattr(state, attribute, at)
    if status.ended:
        state.ended_at, state.next_update_at = at, None
    state.changes.append(Change(entry["seq"], at, "status", before.value, status.value))


def _on_reopened(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    before, state.status = state.status, IncidentStatus.INVESTIGATING
    for attribute, milestone in _MILESTONES:
        if milestone.step > state.status.step:
            setattr(state, attribute, None)
    state.ended_at = None
    state.next_update_at = at + timedelta(seconds=state.update_every_s)
    state.changes.append(Change(entry["seq"], at, "reopened", before.value, state.status.value, data.get("reason", "")))


def _on_cancelled(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    before, state.status = state.status, IncidentStatus.CANCELLED
    state.ended_at, state.next_update_at = at, None
    state.changes.append(Change(entry["seq"], at, "cancelled", before.value, "cancelled", data.get("reason", "")))


def _on_role(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    if data.get("role") in ROLES:
        state.roles[data["role"]] = str(data.get("person", ""))


def _on_retitled(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    if isinstance(data.get("title"), str) and data["title"].strip():
        state.title = data["title"]


def _on_note(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    text = str(data.get("text", ""))
    state.notes.append(Remark(entry["seq"], at, text, author_of(entry)))
    if text.upper().startswith(FOLLOW_UP):
        state.follow_ups.append(Remark(entry["seq"], at, text[len(FOLLOW_UP) :].strip(), author_of(entry)))


def _on_decision(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    state.decisions.append(Remark(entry["seq"], at, str(data.get("text", "")), author_of(entry)))


def _on_pin(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    if isinstance(data.get("seq"), int):
        if data.get("pinned", True):
            state.pinned.add(data["seq"])
        else:
            state.pinned.discard(data["seq"])


def _on_update(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    fields = _dict(data.get("fields"))
    next_at = parse_timestamp(data.get("next_update_at"))
    state.updates.append(
        PostedUpdate(
            entry["seq"],
            at,
            str(data.get("kind", "update")),
            {str(k): str(v) for k, v in fields.items()},
            str(data.get("text", "")),
            state.next_update_at,
            next_at,
            author_of(entry),
            tuple(str(name) for name in data.get("channels") or () if isinstance(name, str)),
        )
    )
    state.next_update_at = next_at if state.is_open else None


def _on_overdue(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    due = parse_timestamp(data.get("due_at"))
    if due is not None:
        state.reminders.append(Reminder(entry["seq"], at, due))


def _on_request(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    state.actions[entry["seq"]] = ActionRecord(
        seq=entry["seq"],
        at=at,
        action=str(data.get("action", "?")),
        risk=str(data.get("risk", "")),
        params=_dict(data.get("params")),
        summary=str(data.get("summary", "")),
        confirm=str(data.get("confirm", "")),
        author=author_of(entry),
    )


def _on_outcome(state: IncidentState, entry: dict, data: dict, at: datetime) -> None:
    corr = entry.get("corr")
    record = state.actions.get(corr) if isinstance(corr, int) else None
    if record is None:
        return
    record.outcome_seq = entry["seq"]
    record.status = str(data.get("status") or entry["kind"].removeprefix("action."))
    record.message = str(data.get("message", ""))
    record.counts = _dict(data.get("counts"))
    record.duration_ms = data.get("duration_ms")
    record.exit_code = data.get("exit_code")


_HANDLERS: dict[str, Callable[[IncidentState, dict, dict, datetime], None]] = {
    SEVERITY: _on_severity,
    RETITLED: _on_retitled,
    STATUS: _on_status,
    REOPENED: _on_reopened,
    CANCELLED: _on_cancelled,
    ROLE: _on_role,
    NOTE: _on_note,
    DECISION: _on_decision,
    PIN: _on_pin,
    UPDATE_POSTED: _on_update,
    UPDATE_OVERDUE: _on_overdue,
    "action.requested": _on_request,
}
