"""Conditions over the change ledger's top suspect, beside the count check `changes.suspects`:

    changes.suspect.kind == deploy         or != ; a field of the top suspect: kind, service, source, version, author

With no ledger read yet the test is UNKNOWN; with no suspect it fails (there is no suspect of that kind). `make`
builds a `ChangeTest` for the grammar; `judge` gives the value with its words, `problems` what `triage check` says.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.changes.model import FEED, ChangeLedger
from console.config.changes import CHANGE_KINDS
from console.live import LiveState

SUBJECT = "suspect"  # `changes.suspect.FIELD`
FIELDS = ("kind", "service", "source", "version", "author")
OPS = ("==", "!=")


@dataclass(frozen=True)
class ChangeTest:
    """`changes.suspect.FIELD OP VALUE`."""

    field: str
    op: str
    value: str


def make(field: str, op: str, word: str | None) -> ChangeTest:
    """The test a condition writes; ValueError saying what the field takes when it is written otherwise."""
    if field not in FIELDS:
        raise ValueError(f"unknown field of changes.suspect {field!r} (fields: {', '.join(FIELDS)})")
    if op not in OPS or word is None:
        raise ValueError(f'changes.suspect.{field} takes == or != and a name, e.g. changes.suspect.kind == "deploy"')
    return ChangeTest(field, op, word)


def problems(test: ChangeTest) -> list[str]:
    """A kind `triage check` does not know."""
    if test.field == "kind" and test.value not in CHANGE_KINDS:
        return [f"unknown change kind {test.value!r} (kinds: {', '.join(CHANGE_KINDS)})"]
    return []


def judge(test: ChangeTest, live: LiveState) -> tuple[bool | None, str]:
    """(True / False, or None when it cannot be said) and the words for it."""
    ledger = live.model(FEED)
    if not isinstance(ledger, ChangeLedger):
        return None, "no change source has been read yet"
    top = ledger.top()
    if top is None:
        return False, "no change is a suspect"
    value = getattr(top, test.field) or ""
    holds = (value == test.value) == (test.op == "==")
    return holds, f"the top suspect {top.label}'s {test.field} is {value or 'not known'}"
