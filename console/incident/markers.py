"""The journal entries worth a marker on a chart and a stop for the replay's scrubber: declarations and the other
moves of an incident, actions, observations, changes and notes, each with when it was written and a short label."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from console.incident import events
from console.incident.state import describe
from console.timeparse import parse_timestamp

MARKED = frozenset(
    {
        events.DECLARED, events.STATUS, events.SEVERITY, events.NOTE, events.DECISION,
        "observation", "action.requested",
    }
)  # fmt: skip
LABEL_WIDTH = 40


@dataclass(frozen=True)
class Marker:
    """One entry on the time axis: when, its kind, and a label of at most LABEL_WIDTH characters."""

    at: datetime
    kind: str
    label: str


def is_marked(entry: dict) -> bool:
    kind = entry.get("kind")
    return isinstance(kind, str) and (kind in MARKED or kind.startswith("change"))


def markers(entries: Iterable[dict]) -> list[Marker]:
    """The marked entries with a readable time, oldest first."""
    found = []
    for entry in entries:
        at = parse_timestamp(entry.get("ts"))
        if at is not None and is_marked(entry):
            label = describe(entry)
            if len(label) > LABEL_WIDTH:
                label = label[: LABEL_WIDTH - 1] + "…"
            found.append(Marker(at, str(entry["kind"]), label))
    return sorted(found, key=lambda marker: marker.at)
