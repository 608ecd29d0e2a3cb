"""Action params of a playbook step made concrete: `{capture}` and live references such as
`{postgres.top_blocker.pid}` or `{changes.previous.version}` replaced by their values. A param that is one whole
reference keeps the value's type."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any

from console.changes.model import FEED, Change, ChangeLedger
from console.live import LiveState
from console.models.postgres import PgSession, PostgresSnapshot

Scalar = str | int | float | bool


class ResolveError(ValueError):
    """A reference that has no value now; str() is one line saying which and why."""


def _postgres(live: LiveState) -> PostgresSnapshot:
    snapshot = live.model("postgres")
    if not isinstance(snapshot, PostgresSnapshot) or not snapshot.sessions:
        raise ResolveError("no PostgreSQL sessions seen yet")
    return snapshot


def top_blocker(live: LiveState) -> PgSession:
    """The session at the root of the largest lock tree (most sessions waiting behind it)."""
    roots = _postgres(live).locks
    if not roots:
        raise ResolveError("no session is blocking another")
    return max(roots, key=lambda node: (node.count(), -node.session.pid)).session


def longest_query(live: LiveState) -> PgSession:
    """The client session whose current query has run longest."""
    active = [s for s in _postgres(live).sessions if s.state == "active" and s.killable and s.query_seconds]
    if not active:
        raise ResolveError("no query is running")
    return max(active, key=lambda s: s.query_seconds or 0.0)


_SESSION_FIELDS = ("pid", "user", "database", "application", "query")
_SESSIONS: dict[str, Callable[[LiveState], PgSession]] = {
    "postgres.top_blocker": top_blocker,
    "postgres.longest_query": longest_query,
}
def _ledger(live: LiveState) -> ChangeLedger:
    ledger = live.model(FEED)
    if not isinstance(ledger, ChangeLedger):
        raise ResolveError("no change source has been read yet")
    return ledger


def top_suspect(live: LiveState) -> Change:
    """The change ledger's likeliest suspect."""
    top = _ledger(live).top()
    if top is None:
        raise ResolveError("no change is a suspect")
    return top


def previous_change(live: LiveState) -> Change:
    """What a rollback of the top suspect returns to: the newest change before it from its source, service and kind."""
    ledger = _ledger(live)
    top = top_suspect(live)
    previous = ledger.previous(top)
    if previous is None:
        raise ResolveError(f"no change of {top.source} came before {top.label}")
    return previous


_CHANGE_FIELDS = ("version", "id", "kind", "service", "source", "summary", "author")
_CHANGES: dict[str, Callable[[LiveState], Change]] = {
    "changes.suspect": top_suspect,
    "changes.previous": previous_change,
}


def _field(pick: Callable[[LiveState], Any], field: str) -> Callable[[LiveState], Any]:
    """A live reference to one field of what `pick` chooses (a session, a change)."""
    return lambda live: getattr(pick(live), field)


LIVE_REFERENCES: dict[str, Callable[[LiveState], Any]] = {
    **{f"{prefix}.{field}": _field(pick, field) for prefix, pick in _SESSIONS.items() for field in _SESSION_FIELDS},
    **{f"{prefix}.{field}": _field(pick, field) for prefix, pick in _CHANGES.items() for field in _CHANGE_FIELDS},
}


def references(value: Scalar) -> list[str]:
    """The `{name}` references in a param value (ValueError for unbalanced braces)."""
    if not isinstance(value, str):
        return []
    return [f for _, f, _, _ in string.Formatter().parse(value) if f]


def lookup(name: str, captures: Mapping[str, Any], live: LiveState) -> Any:
    if name in captures:
        return captures[name]
    if name in LIVE_REFERENCES:
        try:
            value = LIVE_REFERENCES[name](live)
        except ResolveError as exc:
            raise ResolveError(f"{{{name}}}: {exc}") from None
        if value is None:
            raise ResolveError(f"{{{name}}}: not known")
        return value
    raise ResolveError(f"{{{name}}}: nothing captured under that name yet")


def resolve_params(params: Mapping[str, Scalar], captures: Mapping[str, Any], live: LiveState) -> dict[str, Scalar]:
    """Every param with its references replaced; ResolveError for the first that cannot be."""
    resolved: dict[str, Scalar] = {}
    for key, value in params.items():
        refs = references(value)
        if not isinstance(value, str):
            resolved[key] = value
        elif refs and value == f"{{{refs[0]}}}":
            resolved[key] = lookup(refs[0], captures, live)
        else:
            parts = string.Formatter().parse(value)
            resolved[key] = "".join(text + (str(lookup(f, captures, live)) if f else "") for text, f, _, _ in parts)
    return resolved
