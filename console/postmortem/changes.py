"""The post-mortem's "Changes before the incident": the `change` entries the ledger journaled in the day before the
onset, ranked as the Changes pane ranks them (against the onset, the services of the checks observed failing in the
incident), suspects first; and the operator action that undid the top suspect, if any: the first completed action of
the incident whose `version` param is the version the suspect replaced."""

from __future__ import annotations

from typing import Any

from console.changes.journaled import CHANGE
from console.changes.model import Change, ChangeLedger
from console.changes.suspects import UNHEALTHY, WINDOW, rank
from console.incident.state import IncidentState
from console.timeparse import iso, parse_timestamp

UNHEALTHY_WORDS = {state.value for state in UNHEALTHY}


def change_ledger(entries: list[dict], state: IncidentState) -> dict[str, Any]:
    """The document's `change_ledger`: `onset`, `changes` (suspects first, then newest first, each with its
    `suspect` or null) and `undone_by` (the action, or null)."""
    changes: dict[tuple[str, str], Change] = {}
    failing: set[str] = set()
    for entry in entries:
        data = entry.get("data")
        if not isinstance(data, dict):
            continue
        if entry.get("kind") == CHANGE:
            time, live_at = parse_timestamp(data.get("time")), parse_timestamp(data.get("live_at"))
            if time is not None:
                change = Change.from_json(data, time, live_at)
                if state.onset - WINDOW <= change.when <= state.onset:
                    changes[change.key] = change
        elif _failing(entry, data, state):
            failing.add(data["name"])
    newest = tuple(sorted(changes.values(), key=lambda c: c.when, reverse=True))
    ledger = ChangeLedger(newest, onset=state.onset, suspects=rank(newest, state.onset, "the onset", failing))
    ranked = [change for change, _ in ledger.ranked()]
    listed = ranked + [c for c in newest if ledger.suspect(c) is None]
    return {
        "onset": iso(state.onset),
        "changes": [{**c.to_json(), "suspect": s.to_json() if (s := ledger.suspect(c)) else None} for c in listed],
        "undone_by": _undone_by(ledger, state),
    }


def _failing(entry: dict, data: dict, state: IncidentState) -> bool:
    """An observation, from the onset on, that a check went WARN or worse (in this incident, or before it was
    declared)."""
    at = parse_timestamp(entry.get("ts"))
    return (
        entry.get("kind") == "observation"
        and entry.get("incident") in (state.id, None)
        and at is not None
        and at >= state.onset
        and data.get("state") in UNHEALTHY_WORDS
        and isinstance(data.get("name"), str)
    )


def _undone_by(ledger: ChangeLedger, state: IncidentState) -> dict[str, Any] | None:
    top = ledger.top()
    previous = ledger.previous(top) if top is not None else None
    if top is None or previous is None or previous.version is None:
        return None
    for record in state.actions.values():
        if record.status == "completed" and record.params.get("version") == previous.version and record.at >= top.when:
            return {
                "seq": record.seq,
                "at": iso(record.at),
                "action": record.action,
                "version": previous.version,
                "undid": top.label,
                "by": record.author,
            }
    return None
