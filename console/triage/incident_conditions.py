"""Conditions over the open incident (`LiveState.incident`), beside the sources' checks:

    incident.declared                      an incident is open
    incident.age > 10m                     since its declaration (a time unit: ms, s, m, h)
    incident.status == mitigated           or != (a status: triage, investigating, identified, mitigated, ...)
    incident.severity <= SEV-2             ordered by the incident's scheme, most severe first: SEV-1 or SEV-2
                                           (P0..P3 and the custom `[incident] levels` alike)

With no incident open, `declared` fails and the others are UNKNOWN (they never pass). `conditions` parses them into
an `IncidentTest`; `judge` gives the value with its words, `problems` what `triage check` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from console.incident.state import IncidentStatus
from console.models import format_duration
from console.models.incident import IncidentFacts
from console.models.severity import SCHEMES
from console.triage.tokens import OPS, convert

NAME = "incident"  # how conditions name it: not a source of the registry, the incident the journal tells
FIELDS = ("declared", "age", "status", "severity")
_EQUALITY = ("==", "!=")
STATUSES = tuple(status.value for status in IncidentStatus)


@dataclass(frozen=True)
class IncidentTest:
    """`incident.FIELD [OP VALUE]`: `value` is seconds for age, a status or a level's name (as written)."""

    field: str
    op: str = ""
    value: float | str = ""


def make(field: str, op: str, number: float | None, unit: str, word: str | None) -> IncidentTest:
    """The test a condition writes (`number` and `unit` for a number, `word` for a name); ValueError saying what
    the field takes when it is written otherwise."""
    if field not in FIELDS:
        raise ValueError(f"unknown incident field {field!r} (fields: {', '.join(FIELDS)})")
    if field == "declared":
        if op:
            raise ValueError("incident.declared takes no comparison (write `not incident.declared` for none open)")
        return IncidentTest(field)
    if field == "age":
        seconds = convert(number, unit, "s") if number is not None else None
        if seconds is None or not unit:
            raise ValueError("incident.age compares with a duration, e.g. incident.age > 10m")
        return IncidentTest(field, op, seconds)
    if word is None:
        raise ValueError(f"incident.{field} compares with a name, e.g. " + _example(field))
    if field == "status" and op not in _EQUALITY:
        raise ValueError(f"incident.status takes == or !=, e.g. {_example(field)}")
    return IncidentTest(field, op, word)


def _example(field: str) -> str:
    return "incident.status == mitigated" if field == "status" else "incident.severity <= SEV-2"


def problems(test: IncidentTest, levels: Sequence[str]) -> list[str]:
    """A status or a level `triage check` does not know (`levels`: the configured scheme's names)."""
    if test.field == "status" and str(test.value).lower() not in STATUSES:
        return [f"unknown incident status {test.value!r} (statuses: {', '.join(STATUSES)})"]
    if test.field == "severity" and levels and str(test.value).upper() not in [level.upper() for level in levels]:
        return [f"unknown severity {test.value!r} (levels of the configured scheme: {', '.join(levels)})"]
    return []


def judge(test: IncidentTest, facts: IncidentFacts | None, now: datetime) -> tuple[bool | None, str]:
    """(True / False, or None when it cannot be said) and the words for it."""
    if test.field == "declared":
        return (True, f"incident {facts.id} is open") if facts else (False, "no incident is open")
    if facts is None:
        return None, f"no incident is open: incident.{test.field} has no value"
    if test.field == "age":
        age = (now - facts.declared_at).total_seconds()
        holds = OPS[test.op](age, float(test.value))
        return holds, f"incident {facts.id} declared {format_duration(age)} ago"
    if test.field == "status":
        holds = (facts.status == str(test.value).lower()) == (test.op == "==")
        return holds, f"incident {facts.id} is {facts.status}"
    scheme = SCHEMES.get(facts.scheme, SCHEMES["sev"])
    have, want = scheme.parse(facts.severity), scheme.parse(str(test.value))
    if have is None or want is None:
        return None, f"incident {facts.id} is {facts.severity}; {test.value} is not a level of its scheme"
    # a smaller rank is more severe: `<= SEV-2` holds for SEV-1 and SEV-2
    return OPS[test.op](have.rank, want.rank), f"incident {facts.id} is {facts.severity}"
