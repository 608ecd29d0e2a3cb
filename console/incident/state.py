"""The incident as data: statuses and the state a journal replay produces (no I/O; severity schemes are
`console.models.severity`).

Replaying lives in `console.incident`; widgets render these models and never read the journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from console.models.incident import IncidentFacts
from console.models.severity import HOUR, MINUTE, SCHEMES, Level


class IncidentStatus(StrEnum):
    """Where an incident is. The first six go forward only; CANCELLED ends a false alarm."""

    TRIAGE = "triage"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def word(self) -> str:
        return self.value.upper()

    @property
    def step(self) -> int:
        """Position in the forward flow (CANCELLED is off the flow: -1)."""
        return FLOW.index(self) if self in FLOW else -1

    @property
    def ended(self) -> bool:
        """Closed or cancelled: no more updates are due and a new incident may be declared."""
        return self in (IncidentStatus.CLOSED, IncidentStatus.CANCELLED)

    @property
    def next(self) -> IncidentStatus | None:
        """The next status in the flow, or None at the end (or when cancelled)."""
        step = self.step
        return FLOW[step + 1] if 0 <= step < len(FLOW) - 1 else None


FLOW: tuple[IncidentStatus, ...] = tuple(s for s in IncidentStatus if s is not IncidentStatus.CANCELLED)


@dataclass(frozen=True)
class Remark:
    """A note, decision or follow-up: who wrote what, when, at which journal seq."""

    seq: int
    at: datetime
    text: str
    author: str


@dataclass(frozen=True)
class Change:
    """A status or severity change (or a reopen/cancel), for the history and the post-mortem."""

    seq: int
    at: datetime
    kind: str
    before: str
    after: str
    reason: str = ""


@dataclass
class ActionRecord:
    """An operator action in the incident: the request and, once journaled, its outcome."""

    seq: int
    at: datetime
    action: str
    risk: str
    params: dict[str, Any]
    summary: str
    confirm: str
    author: str
    outcome_seq: int | None = None
    status: str | None = None
    message: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    duration_ms: int | None = None
    exit_code: int | None = None


@dataclass(frozen=True)
class PostedUpdate:
    """A status update as posted: template kind, fields, the text, when it was due and when the next is."""

    seq: int
    at: datetime
    kind: str
    fields: dict[str, str]
    text: str
    due_at: datetime | None
    next_update_at: datetime | None
    author: str
    channels: tuple[str, ...] = ()  # the [[channel]]s it was posted to (none: posted by hand)

    @property
    def late_s(self) -> float:
        """How late it was posted against the due time in force (0 when on time or nothing was due)."""
        return max(0.0, (self.at - self.due_at).total_seconds()) if self.due_at else 0.0


@dataclass(frozen=True)
class Reminder:
    """An `update.overdue` entry: the update due at `due_at` had not been posted at `at`."""

    seq: int
    at: datetime
    due_at: datetime


@dataclass
class IncidentState:
    """Everything known about one incident, rebuilt from the journal by `console.incident.replay`."""

    id: str
    title: str
    scheme: str
    severity: str
    status: IncidentStatus
    declared_seq: int
    declared_at: datetime
    declared_by: str
    impact_started: datetime
    environment: str | None
    update_every_s: float
    next_update_at: datetime | None
    detected_at: datetime
    onset: datetime  # `replay.onset`: the impact start, or an earlier WARN-or-worse observation
    detected_seq: int | None = None
    response_target_s: float | None = None
    identified_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    ended_at: datetime | None = None
    roles: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    notes: list[Remark] = field(default_factory=list)
    decisions: list[Remark] = field(default_factory=list)
    follow_ups: list[Remark] = field(default_factory=list)
    pinned: set[int] = field(default_factory=set)
    actions: dict[int, ActionRecord] = field(default_factory=dict)
    updates: list[PostedUpdate] = field(default_factory=list)
    reminders: list[Reminder] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)

    @property
    def level(self) -> Level:
        return SCHEMES.get(self.scheme, SCHEMES["sev"]).level(self.severity)

    @property
    def is_open(self) -> bool:
        return not self.status.ended

    def facts(self) -> IncidentFacts | None:
        """What triage conditions read of it (`incident.age`, ...), or None once it has ended."""
        if not self.is_open:
            return None
        return IncidentFacts(self.id, self.declared_at, self.status.value, self.severity, self.scheme, self.onset)

    @property
    def backdated_s(self) -> float:
        """How long before the declaration the impact started (0 when not backdated)."""
        return max(0.0, (self.declared_at - self.impact_started).total_seconds())

    @property
    def acknowledged_at(self) -> datetime:
        """A person took the incident on when it was declared."""
        return self.declared_at

    def elapsed_s(self, now: datetime) -> float:
        """Time since the impact started, up to the resolution (or the end, or now)."""
        end = self.resolved_at or self.ended_at or now
        return max(0.0, (end - self.impact_started).total_seconds())

    def overdue_s(self, now: datetime) -> float:
        """How far past the due time the next update is (0 when it is not due yet or none is due)."""
        if self.next_update_at is None or not self.is_open:
            return 0.0
        return max(0.0, (now - self.next_update_at).total_seconds())

    def metrics(self) -> dict[str, float | None]:
        """Seconds to detect (onset -> first alert), acknowledge (alert -> declaration), mitigate and resolve (from
        the onset)."""

        def since(start: datetime, end: datetime | None) -> float | None:
            return None if end is None else max(0.0, (end - start).total_seconds())

        return {
            "detect": since(self.onset, self.detected_at),
            "acknowledge": since(self.detected_at, self.acknowledged_at),
            "mitigate": since(self.onset, self.mitigated_at),
            "resolve": since(self.onset, self.resolved_at),
        }


UNHEALTHY = frozenset({"warn", "crit", "down"})


def clock_text(seconds: float) -> str:
    """An incident-clock reading: `04:05` under an hour, `1:04:05` above, `2d 03:04:05` beyond a day."""
    whole = int(max(0.0, seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours or days else f"{minutes:02d}:{secs:02d}"
    return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}" if days else text


def cadence_text(seconds: float) -> str:
    """An update cadence in words: `30 minutes`, `1 hour`, `4 hours`."""
    if seconds >= HOUR and seconds % HOUR == 0:
        hours = int(seconds // HOUR)
        return f"{hours} hour{'s' if hours > 1 else ''}"
    return f"{seconds / MINUTE:g} minutes"


def author_of(entry: dict) -> str:
    """`user@host` of the entry's actor (what the journal recorded)."""
    actor = entry.get("actor") or {}
    return f"{actor.get('user', '?')}@{actor.get('host', '?')}"


def describe(entry: dict, outcome: dict | None = None) -> str:
    """One line saying what a journal entry records, for the timeline and the post-mortem table.

    For an `action.requested`, pass its outcome entry (if any) to say how it ended.
    """
    data: dict[str, Any] = entry.get("data") or {}
    kind = entry.get("kind", "")
    if kind == "action.requested":
        ended = f" → {(outcome.get('data') or {}).get('status', '?')}" if outcome else ""
        return f"{data.get('action', '?')} requested{ended} · {data.get('summary', '')}"
    describe_kind = _DESCRIBERS.get(kind)
    if describe_kind is not None:
        return describe_kind(data)
    if kind.startswith("action.") and kind != "action.requested":
        return _outcome(data, entry.get("corr"))
    parts = [str(data[k]) for k in ("action", "status", "name", "state", "title", "text", "message") if data.get(k)]
    return " · ".join(parts)


def _outcome(data: dict, corr: int | None) -> str:
    parts = [f"{data.get('action', '?')} {data.get('status', '?')}"]
    if data.get("message"):
        parts.append(str(data["message"]))
    if counts := data.get("counts"):
        parts.append(", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if corr is not None:
        parts.append(f"for #{corr}")
    return " · ".join(parts)


def _observation(data: dict) -> str:
    where = "/".join(str(data[k]) for k in ("source", "name") if data.get(k))
    change = f"{str(data.get('from', '?')).upper()} -> {str(data.get('state', '?')).upper()}"
    return f"{where} {change}" + (f" · {data['reason']}" if data.get("reason") else "")


def _declared(data: dict) -> str:
    text = f"declared {data.get('severity', '?')}: {data.get('title', '')}"
    if data.get("backdated"):
        text += f" (impact since {str(data.get('impact_started', '?'))[11:16]} UTC, backdated)"
    return text


def _delivery(what: str, data: dict) -> str:
    reason = f": {data['reason']}" if data.get("reason") else ""
    return f"{what} to {data.get('channel', '?')}: {data.get('status', '?')}{reason}"


_DESCRIBERS: dict[str, Any] = {
    "incident.declared": _declared,
    "incident.severity": lambda d: f"severity {d.get('from', '?')} -> {d.get('severity', '?')}",
    "incident.retitled": lambda d: f"retitled: {d.get('title', '?')} (was {d.get('from', '?')})",
    "incident.status": lambda d: f"status {d.get('from', '?')} -> {d.get('status', '?')}",
    "incident.reopened": lambda d: (
        f"reopened ({d.get('from', '?')} -> {d.get('status', '?')})" + (f": {d['reason']}" if d.get("reason") else "")
    ),
    "incident.cancelled": lambda d: "cancelled" + (f": {d['reason']}" if d.get("reason") else ""),
    "incident.role": lambda d: f"{d.get('role', '?')}: {d.get('person', '?')}",
    "note": lambda d: str(d.get("text", "")),
    "decision": lambda d: f"decided: {d.get('text', '')}",
    "pin": lambda d: f"{'pinned' if d.get('pinned', True) else 'unpinned'} #{d.get('seq', '?')}",
    "update.posted": lambda d: (
        f"status update posted ({d.get('kind', '?')})"
        + (f" to {', '.join(map(str, d['channels']))}" if isinstance(d.get("channels"), list) else "")
        + (f", next due {str(d['next_update_at'])[11:16]} UTC" if d.get("next_update_at") else "")
    ),
    # the outbox (console.channels writes these)
    "update.delivery": lambda d: _delivery("update", d),
    "page.requested": lambda d: (
        f"page {'resolved' if d.get('action') == 'resolve' else 'sent'} to "
        + ", ".join(map(str, d.get("channels") or []))
    ),
    "page.delivery": lambda d: _delivery("page", d),
    "page.acknowledged": lambda d: f"page acknowledged by {d.get('by', '?')} ({d.get('channel', '?')})",
    # the change ledger (console.changes writes these)
    "change": lambda d: " · ".join(
        str(part)
        for part in (f"{d.get('kind')} {d.get('version') or d.get('id')}", d.get("summary"), d.get("source"))
        if part
    ),
    "change.baseline": lambda d: f"change baseline of {d.get('key', '?')}",
    "update.overdue": lambda d: f"update overdue (was due {str(d.get('due_at', '?'))[11:16]} UTC)",
    "incident.escalation_due": lambda d: f"escalation due: {d.get('say', '?')}",
    "observation": _observation,
    "journal.recovered": lambda d: f"journal recovered: {d.get('bytes', '?')} torn bytes moved aside",
    "journal.archived": lambda d: (
        f"journal archived: {d.get('entries', '?')} entries (seq {d.get('first', '?')}-{d.get('last', '?')}) moved to "
        f"{d.get('file', '?')}"
    ),
    "journal.checkpoint": lambda d: (
        f"journal checkpoint: {len(d.get('requests') or [])} open action requests, "
        f"{len(d.get('triage_runs') or [])} unfinished triage runs"
    ),
    "console.error": lambda d: f"console error: {d.get('error', '?')}",
    # guided triage (console.triage.run writes these)
    "triage.started": lambda d: f"triage started: {d.get('playbook', '?')} ({d.get('title', '')})",
    "triage.step": lambda d: (
        f"{d.get('step', '?')}: {d.get('result', '?')}"
        + (f" · {d['answer']}" if d.get("answer") else "")
        + (f" · {d['evidence']}" if d.get("evidence") else "")
        + f" → {d.get('next', '?')}"
    ),
    "triage.skipped": lambda d: f"{d.get('step', '?')} skipped: {d.get('reason', '')} → {d.get('next', '?')}",
    "triage.back": lambda d: f"back from {d.get('step', '?')} to {d.get('to', '?')}",
    "triage.finished": lambda d: (
        f"triage finished: {d.get('outcome', '?')}" + (f": {d['reason']}" if d.get("reason") else "")
    ),
}
# Every kind the console journals: the described ones and an action's request and outcomes
KINDS = (*_DESCRIBERS, "action.requested", "action.completed", "action.failed", "action.cancelled")
