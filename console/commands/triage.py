"""`incident-console triage`: suggest playbooks from one poll (`triage [--json]`), print one (`triage show NAME`),
validate them all (`triage check`)."""

from __future__ import annotations

import argparse
import asyncio

from console.changes.ledger import read_once
from console.clock import Clock
from console.commands import EXIT_OK, EXIT_USAGE, fail
from console.config import Config
from console.incident.events import IncidentError
from console.incident.tracker import IncidentTracker
from console.journal import Journal, JournalError, default_journal_path
from console.live import LiveState
from console.models.incident import IncidentFacts
from console.output import json_text, out
from console.redact import make_safe
from console.sources.status import poll_live
from console.triage.builtins import all_playbooks
from console.triage.playbook import END, Playbook, validate
from console.triage.suggest import suggest

EXIT_FOUND = 1  # `triage`: a playbook fits what the console sees


def triage_command(config: Config, args: argparse.Namespace) -> int:
    command = getattr(args, "triage_command", None)
    if command == "check":
        return check(config)
    if command == "show":
        return show(config, args.name)
    return asyncio.run(suggest_command(config, as_json=getattr(args, "json", False)))


def _warn(problems: list[str]) -> None:
    for problem in problems:
        out(f"incident-console: warning: {make_safe(problem)}", err=True)


def open_incident(config: Config) -> IncidentFacts | None:
    """The journal's open incident, for `incident.*` conditions (a journal that cannot be read: a warning, none)."""
    path = (config.console.journal or default_journal_path()).expanduser()
    if not path.exists():
        return None
    try:
        state = IncidentTracker(Journal(path)).current()
    except (JournalError, IncidentError) as exc:
        _warn([f"{exc}: incident.* conditions have no incident to read"])
        return None
    return state.facts() if state is not None else None


async def seen_now(config: Config, clock: Clock) -> LiveState:
    """What a console would see now, headless: one poll of every source `status` polls, the journal's open incident,
    and the change ledger read once and ranked against them (`changes` and `triage` read the same)."""
    live = await poll_live(config, clock)
    live.incident = open_incident(config)
    await read_once(config, clock, live)
    return live


async def suggest_command(config: Config, *, as_json: bool) -> int:
    """Exit 0 when no playbook fits, 1 when some do."""
    playbooks, problems = all_playbooks(config)
    _warn(problems)
    live = await seen_now(config, Clock())
    found = suggest(playbooks, live, config.incident.scheme)
    if as_json:
        rows = [
            {
                "playbook": s.playbook.name,
                "title": s.playbook.title,
                "severity": s.severity,
                "state": s.state.value,
                "evidence": s.evidence,
                "fit": s.fit,
            }
            for s in found
        ]
        out(json_text({"environment": config.console.environment, "suggested": rows}, indent=2))
    elif not found:
        out(f"{make_safe(config.console.environment)}: no playbook fits what the console sees now")
    else:
        for s in found:
            out(make_safe(f"{s.state.symbol} {s.severity:<6} {s.playbook.name}: {s.playbook.title}"))
            out(f"    {make_safe(s.evidence)}")
            out(f"    why: {make_safe(s.fit)}")
        name = make_safe(found[0].playbook.name)
        out(f"start one with the console, or read it with `incident-console triage show {name}`")
    return EXIT_FOUND if found else EXIT_OK


def describe(playbook: Playbook) -> list[str]:
    """The playbook as lines: header, then one line per step with its branches."""
    lines = [f"{playbook.name}: {playbook.title}  ({playbook.origin})", f"  when {playbook.when}"]
    if playbook.severity:
        lines.append(f"  severity {playbook.severity}")
    for number, step in enumerate(playbook.steps, start=1):
        lines.append(f"  {number}. [{step.kind}] {step.id}{': ' + step.title if step.title else ''}: {step.detail()}")
        branches = [f"{label} -> {target}" for label, target in step.branches()]
        if branches:
            lines.append(f"       {', '.join(branches)}")
    lines.append(f"  ({END!r} ends the run; without a branch the next step follows)")
    return lines


def show(config: Config, name: str) -> int:
    playbooks, problems = all_playbooks(config)
    _warn(problems)
    found = next((p for p in playbooks if p.name == name), None)
    if found is None:
        known = ", ".join(p.name for p in playbooks) or "none"
        fail(f"triage show: no playbook {name!r} (playbooks: {known})")
        return EXIT_USAGE
    for line in describe(found):
        out(make_safe(line))
    return EXIT_OK


def playbook_problems(config: Config) -> tuple[list[Playbook], list[str]]:
    """Every playbook (built-in, configured, runbooks) and one line per problem: a file that cannot be used, a
    playbook that is not sound, a runbook step it names that does not exist (`triage check` and `check` alike)."""
    from actions.registry import action_names
    from console.triage.runbook_view import reference_problems

    playbooks, problems = all_playbooks(config)
    return playbooks, problems + validate(playbooks, config, action_names(config)) + reference_problems(playbooks)


def check(config: Config) -> int:
    """Exit 2 with one line per problem, 0 when every playbook is valid (and every runbook step it names exists)."""
    playbooks, problems = playbook_problems(config)
    if problems:
        for problem in problems:
            out(make_safe(problem))
        return EXIT_USAGE
    out(f"{len(playbooks)} playbook{'s' if len(playbooks) != 1 else ''} valid")
    return EXIT_OK
