"""Status update templates (initial / update / resolved) from the runbook, prefilled from the incident.

The fields follow the astral-draft-v4 runbook's "Communication Templates": service, status, impact, started,
ETA, root cause, actions taken, next update (and duration / resolution when resolved). Every field must be
filled; `details`, the free text under the fields, may be empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from console.incident.events import UPDATE_POSTED, IncidentError
from console.incident.state import IncidentState, IncidentStatus, cadence_text
from console.models import format_duration
from console.timeparse import parse_moment

DETAILS = "details"
NEXT_UPDATE = "next_update"
UNKNOWN_CAUSE = "Under investigation"
RESTORED = "Service restored; details in the post-mortem"


@dataclass(frozen=True)
class Template:
    """One kind of status update: its heading and its fields as (key, label) pairs, in order."""

    kind: str
    heading: str
    fields: tuple[tuple[str, str], ...]

    @property
    def keys(self) -> list[str]:
        return [key for key, _ in self.fields]


TEMPLATES: dict[str, Template] = {
    t.kind: t
    for t in (
        Template(
            "initial",
            "🚨 INCIDENT ALERT",
            (
                ("service", "Service"),
                ("status", "Status"),
                ("impact", "Impact"),
                ("started", "Started"),
                ("eta", "ETA"),
                (NEXT_UPDATE, "Next update"),
            ),
        ),
        Template(
            "update",
            "📊 INCIDENT UPDATE",
            (
                ("service", "Service"),
                ("status", "Status"),
                ("impact", "Impact"),
                ("root_cause", "Root cause"),
                ("actions_taken", "Actions taken"),
                (NEXT_UPDATE, "Next update"),
            ),
        ),
        Template(
            "resolved",
            "✅ INCIDENT RESOLVED",
            (
                ("service", "Service"),
                ("status", "Status"),
                ("duration", "Duration"),
                ("root_cause", "Root cause"),
                ("resolution", "Resolution"),
            ),
        ),
    )
}

_PUBLIC_STATUS = {
    IncidentStatus.TRIAGE: "Investigating",
    IncidentStatus.INVESTIGATING: "Investigating",
    IncidentStatus.IDENTIFIED: "Identified",
    IncidentStatus.MITIGATED: "Monitoring",
    IncidentStatus.RESOLVED: "Resolved",
    IncidentStatus.CLOSED: "Resolved",
    IncidentStatus.CANCELLED: "Cancelled",
}


# The first sentence of an initial update, worded for where the incident is ({title} is the incident's title).
_OPENING = {
    IncidentStatus.TRIAGE: "We are investigating an issue: {title}.",
    IncidentStatus.INVESTIGATING: "We are investigating an issue: {title}.",
    IncidentStatus.IDENTIFIED: "We have identified the cause of an issue ({title}) and are working on a fix.",
    IncidentStatus.MITIGATED: "A fix is in place for an issue ({title}); we are monitoring the results.",
    IncidentStatus.RESOLVED: "An issue ({title}) has been resolved.",
    IncidentStatus.CLOSED: "An issue ({title}) has been resolved.",
    IncidentStatus.CANCELLED: "A reported issue ({title}) turned out not to be one.",
}


def posted(entry: dict) -> bool:
    """Whether a journal entry is a status update that counts as posted: the one definition triage (an `update`
    step goes on once one is posted) and anything that counts updates read: an `update.posted` entry, whether it
    records a post made by hand (`--posted`) or holds the message the channels' outbox delivers (queued counts as
    posted: the outbox sends it, and says so if it cannot)."""
    return entry.get("kind") == UPDATE_POSTED


def utc_text(moment: datetime) -> str:
    """`2025-01-15 03:10 UTC`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def suggested_kind(state: IncidentState) -> str:
    """initial before anything was posted, resolved once resolved, else update."""
    if state.resolved_at is not None:
        return "resolved"
    return "update" if state.updates else "initial"


def template(kind: str) -> Template:
    try:
        return TEMPLATES[kind]
    except KeyError:
        raise IncidentError(f"update: unknown kind {kind!r} (use {', '.join(TEMPLATES)})") from None


def draft_update(state: IncidentState, kind: str, now: datetime) -> dict[str, str]:
    """The template's fields (plus `details`) prefilled from the incident, ready to edit."""
    spec = template(kind)
    last = state.updates[-1].fields if state.updates else {}
    actions = [f"{a.action} ({a.status or 'running'})" for a in state.actions.values()]
    next_due = _round_up_minute(now + timedelta(seconds=state.update_every_s))
    known = {
        "service": state.environment or "the service",
        "status": _PUBLIC_STATUS[state.status],
        "impact": state.title,
        "started": utc_text(state.impact_started),
        "eta": "Unknown",
        "root_cause": last.get("root_cause") or UNKNOWN_CAUSE,
        "actions_taken": "; ".join(actions) or "None yet",
        NEXT_UPDATE: next_due.astimezone(UTC).strftime("%H:%M UTC"),
        "duration": format_duration(state.elapsed_s(now)),
        "resolution": state.decisions[-1].text if state.decisions else "; ".join(actions) or RESTORED,
    }
    cadence = cadence_text(state.update_every_s)
    details = {
        "initial": f"{_OPENING[state.status].format(title=state.title)} Updates will be provided every {cadence}.",
        "update": "",
        "resolved": "Post-mortem will be available within 24 hours. Thank you for your patience.",
    }
    return {**{key: known[key] for key in spec.keys}, DETAILS: details[kind]}


def validate_update(kind: str, fields: dict[str, str], now: datetime) -> tuple[dict[str, str], datetime | None]:
    """Clean fields and the next update time; IncidentError naming the first empty or unknown field."""
    spec = template(kind)
    unknown = sorted(set(fields) - {*spec.keys, DETAILS})
    if unknown:
        raise IncidentError(f"update: {kind} updates have no field {unknown[0]!r} (fields: {', '.join(spec.keys)})")
    clean = {key: " ".join(str(fields.get(key, "")).split()) for key in spec.keys}
    for key, label in spec.fields:
        if not clean[key]:
            raise IncidentError(f"update: {label} is empty; every field of the {kind} update must be filled")
    clean[DETAILS] = str(fields.get(DETAILS, "")).strip()
    if NEXT_UPDATE not in clean:
        return clean, None
    try:
        next_at = parse_moment(clean[NEXT_UPDATE], now, future=True, what="update: Next update")
    except ValueError as exc:
        raise IncidentError(str(exc)) from None
    if next_at <= now:
        raise IncidentError("update: Next update must be in the future, e.g. 'in 30m' or '04:15 UTC'")
    next_at = _round_up_minute(next_at)
    clean[NEXT_UPDATE] = next_at.astimezone(UTC).strftime("%H:%M UTC")
    return clean, next_at


def render_update(state: IncidentState, kind: str, fields: dict[str, str]) -> str:
    """The update as text to paste (status page, chat): heading, one line per field, then the details."""
    spec = template(kind)
    lines = [f"{spec.heading} - {state.severity}", ""]
    lines += [f"{label}: {fields.get(key, '')}" for key, label in spec.fields]
    if fields.get(DETAILS):
        lines += ["", fields[DETAILS]]
    return "\n".join(lines)


def _round_up_minute(moment: datetime) -> datetime:
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)
