"""The post-mortem's "Changes before the incident": the `change` entries the ledger journaled in the day before the
onset, ranked as the Changes pane ranks them (against the onset, and a failing service's changes against when its
first check was observed going bad), suspects first; and the operator action that undid the top suspect, if any: the
first completed action of the incident whose `version` param is the version the suspect replaced."""

from __future__ import annotations

from datetime import datetime
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
    failing: dict[str, tuple[datetime, str]] = {}  # a check's name -> its first bad observation from the onset on
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
        elif (at := _failing(entry, data, state)) is not None:
            said = f"the first {str(data['state']).upper()} ({data.get('source')} {data['name']})"
            failing.setdefault(data["name"].lower(), (at, said))
    newest = tuple(sorted(changes.values(), key=lambda c: c.when, reverse=True))
    ledger = ChangeLedger(newest, onset=state.onset, suspects=rank(newest, state.onset, "the onset", failing))
    ranked = [change for change, _ in ledger.ranked()]
    listed = ranked + [c for c in newest if ledger.suspect(c) is None]
    return {
        "onset": iso(state.onset),
        "changes": [{**c.to_json(), "suspect": s.to_json() if (s := ledger.suspect(c)) else None} for c in listed],
        "undone_by": _undone_by(ledger, state),
    }


def _failing(entry: dict, data: dict, state: IncidentState) -> datetime | None:
    """When an observation, from the onset on, saw a check go WARN or worse (in this incident, or before it was
    declared); None for any other entry."""
    at = parse_timestamp(entry.get("ts"))
    observed = entry.get("kind") == "observation" and entry.get("incident") in (state.id, None)
    bad = data.get("state") in UNHEALTHY_WORDS and isinstance(data.get("name"), str)
    return at if observed and bad and at is not None and at >= state.onset else None


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
