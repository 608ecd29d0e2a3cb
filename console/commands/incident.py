"""`incident-console incident ...`: the incident commands without the TUI, for scripts, chat bots and a second
operator. Every command goes through `IncidentDesk`, so the rules (and the one-line refusals) are the TUI's; a
refusal or an unreadable journal is one line on stderr and exit 2.

`incident show --json` prints one object with these keys (times are UTC ISO 8601, durations seconds; absent values
are null): id, title, environment, scheme, severity, status, open, impact_started, declared_at, declared_by,
declared_seq, resolved_at, ended_at, elapsed_s, roles (commander, scribe, comms), next_update_at, overdue_s,
notes and decisions (the last five: seq, at, author, text), follow_ups (the same), updates_posted, anchor (seq and
hash of the journal's last entry: a witness for `journal verify --anchor`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from console.clock import Clock
from console.commands import EXIT_OK, EXIT_USAGE, fail
from console.commands.outbox import outbox, post_update
from console.config import Config, IncidentSettings
from console.incident.commands import IncidentDesk
from console.incident.events import ROLES, IncidentError
from console.incident.state import IncidentState, Remark, describe
from console.incident.updates import draft_update, render_update, suggested_kind, utc_text, validate_update
from console.journal import Journal, JournalError, default_journal_path
from console.journal.verify import anchor_text
from console.models import format_duration
from console.output import json_text, out
from console.redact import Redactor, make_safe
from console.timeparse import iso, parse_moment

LAST = 5


def incident_command(args: argparse.Namespace, config: Config | None) -> int:
    """Run one `incident` subcommand; refusals and journal errors are one line on stderr, exit 2."""
    desk = IncidentDesk(_journal(args, config), Clock(), config.incident if config else IncidentSettings())
    try:
        if args.incident_command == "outbox":
            return outbox(args, config, desk.journal)
        if args.incident_command == "update" and args.post:
            if args.posted:
                raise IncidentError("update: --posted records an update posted by hand; --post posts it: give one")
            return post_update(args, config, desk.journal, _fields(args.field))
        return _COMMANDS[args.incident_command](desk, args)
    except (IncidentError, JournalError) as exc:
        fail(str(exc))
        return EXIT_USAGE


def _journal(args: argparse.Namespace, config: Config | None) -> Journal:
    """`--journal`, else the config's journal, else the default one; the config's environment and secrets apply."""
    configured = config.console.journal if config is not None else None
    path = Path(args.journal) if args.journal else configured or default_journal_path()
    if config is None:
        return Journal(path.expanduser())
    return Journal(path.expanduser(), environment=config.console.environment, redactor=Redactor(config.secrets))


def _journaled(entry: dict) -> int:
    out(make_safe(f"#{entry['seq']} {entry['incident'] or '(no incident)'}: {describe(entry)}"))
    return EXIT_OK


def _declare(desk: IncidentDesk, args: argparse.Namespace) -> int:
    impact = None
    if args.started is not None:
        try:
            impact = parse_moment(args.started, desk.clock.now(), future=False, what="declare: --started")
        except ValueError as exc:
            raise IncidentError(str(exc)) from None
    return _journaled(desk.declare(args.title, args.severity, impact))


def _show(desk: IncidentDesk, args: argparse.Namespace) -> int:
    state = desk.state()
    if state is None:
        raise IncidentError("show: no incident has been declared; declare one first")
    head = desk.tracker.recent[-1]
    facts = _facts(state, desk.clock.now(), head)
    if args.json:
        out(json_text(facts, indent=2))
        return EXIT_OK
    out(make_safe(f"{state.id}  {state.level.title}  {state.status.word}  {state.title}"))
    backdated = f" (backdated {format_duration(state.backdated_s)})" if state.backdated_s else ""
    out(f"  impact started {utc_text(state.impact_started)}{backdated}; elapsed {format_duration(facts['elapsed_s'])}")
    out(f"  declared {utc_text(state.declared_at)} by {make_safe(state.declared_by)} (#{state.declared_seq})")
    out("  roles: " + make_safe(", ".join(f"{role} {state.roles.get(role, '-')}" for role in ROLES)))
    out(f"  next update: {_due(state, facts['overdue_s'])}")
    for heading, remarks in (("notes", state.notes), ("decisions", state.decisions)):
        for remark in remarks[-LAST:]:
            out(f"  {heading[:-1]} #{remark.seq} {utc_text(remark.at)} {make_safe(f'{remark.author}: {remark.text}')}")
    out(f"  {anchor_text(head['seq'], head['hash'])}")
    return EXIT_OK


def _facts(state: IncidentState, now: Any, head: dict) -> dict[str, Any]:
    def remarks(items: list[Remark]) -> list[dict[str, Any]]:
        return [{"seq": r.seq, "at": iso(r.at), "author": r.author, "text": r.text} for r in items[-LAST:]]

    def when(moment: Any) -> str | None:
        return iso(moment) if moment is not None else None

    return {
        "id": state.id,
        "title": state.title,
        "environment": state.environment,
        "scheme": state.scheme,
        "severity": state.severity,
        "status": state.status.value,
        "open": state.is_open,
        "impact_started": iso(state.impact_started),
        "declared_at": iso(state.declared_at),
        "declared_by": state.declared_by,
        "declared_seq": state.declared_seq,
        "resolved_at": when(state.resolved_at),
        "ended_at": when(state.ended_at),
        "elapsed_s": round(state.elapsed_s(now), 3),
        "roles": {role: state.roles.get(role) for role in ROLES},
        "next_update_at": when(state.next_update_at) if state.is_open else None,
        "overdue_s": round(state.overdue_s(now), 3),
        "notes": remarks(state.notes),
        "decisions": remarks(state.decisions),
        "follow_ups": remarks(state.follow_ups),
        "updates_posted": len(state.updates),
        "anchor": {"seq": head["seq"], "hash": head["hash"]},
    }


def _due(state: IncidentState, overdue_s: float) -> str:
    if not state.is_open or state.next_update_at is None:
        return "none due"
    late = f", OVERDUE by {format_duration(overdue_s)}" if overdue_s > 0 else ""
    return f"due {utc_text(state.next_update_at)}{late}"


def _update(desk: IncidentDesk, args: argparse.Namespace) -> int:
    state = desk.state()
    if state is None:
        raise IncidentError("update: no incident has been declared; declare one first")
    if not state.is_open:
        raise IncidentError(f"update: {state.id} is {state.status.value}; reopen it or declare a new incident")
    kind = args.kind or suggested_kind(state)
    if kind == "resolved" and state.resolved_at is None:
        raise IncidentError(f"update: {state.id} is {state.status.value}; set it to resolved first")
    now = desk.clock.now()
    fields = {**draft_update(state, kind, now), **_fields(args.field)}
    if args.posted:
        entry = desk.post_update(kind, fields)
        out(entry["data"]["text"])
        out(make_safe(f"posted as #{entry['seq']} on {state.id}: {describe(entry)}"), err=True)
        return EXIT_OK
    clean, _ = validate_update(kind, fields, now)
    out(render_update(state, kind, clean))
    return EXIT_OK


def _fields(pairs: list[str]) -> dict[str, str]:
    fields = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise IncidentError(f"update: --field expects NAME=VALUE, e.g. --field 'eta=30 minutes', got {pair!r}")
        fields[name.strip().replace("-", "_")] = value
    return fields


_COMMANDS = {
    "declare": _declare,
    "note": lambda desk, args: _journaled(desk.add_note(args.text)),
    "decision": lambda desk, args: _journaled(desk.add_decision(args.text)),
    "status": lambda desk, args: _journaled(desk.set_status(args.status)),
    "severity": lambda desk, args: _journaled(desk.set_severity(args.severity)),
    "role": lambda desk, args: _journaled(desk.assign_role(args.role, " ".join(args.person))),
    "show": _show,
    "update": _update,
}
