"""Action params of a playbook step made concrete: `{capture}` and live references such as
`{postgres.top_blocker.pid}` replaced by their values. A param that is one whole reference keeps the value's type."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any

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
def _session_field(pick: Callable[[LiveState], PgSession], field: str) -> Callable[[LiveState], Any]:
    """A live reference to one field of the session `pick` chooses."""
    return lambda live: getattr(pick(live), field)


LIVE_REFERENCES: dict[str, Callable[[LiveState], Any]] = {
    f"{prefix}.{field}": _session_field(pick, field) for prefix, pick in _SESSIONS.items() for field in _SESSION_FIELDS
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
