"""The headless commands: `run`, `check` and `journal`, sharing the runner and journal with the TUI."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

from actions.base import ParamError, Progress
from actions.registry import build_runner, open_journal
from actions.runner import ActionRefused, Runner
from console.config import Config
from console.incident.state import describe
from console.journal import Journal, JournalError, default_journal_path
from console.journal_verify import Anchor, anchor_text
from console.models import ConfirmLevel, OutcomeStatus, ProgressEvent
from console.output import out
from console.redact import make_safe
from console.stop_signals import cancel_reason, on_stop_signals
from console.terminal import Terminal

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _err(text: str) -> None:
    out(f"incident-console: {text}", err=True)


async def run_action(
    config: Config, args: argparse.Namespace, params: dict[str, str], *, runner: Runner | None = None
) -> int:
    """`run ACTION`: preview, confirm (terminal, --yes, --confirm), execute, print the outcome (`runner` may add
    actions of its own, as `runbook run` does)."""
    runner = runner or build_runner(config, read_only=getattr(args, "read_only", False))
    runner.ctx = dataclasses.replace(runner.ctx, terminal=Terminal.attached())  # lent to a step that needs it
    for problem in runner.runbook_problems:
        _err(f"warning: {make_safe(problem)}")
    try:
        plan = await runner.plan(args.action, {**params, **_ask_secrets(runner.get(args.action).secret_params, params)})
    except (ParamError, ActionRefused) as exc:
        _err(str(exc))
        return EXIT_USAGE
    env = config.console.environment
    out(f"[{env}] {plan.action} ({plan.risk.value})")
    for line in plan.preview_lines():
        out(f"  {make_safe(line)}")
    if args.dry_run:
        out("dry run: nothing was run")
        return EXIT_OK
    typed: str | None = None
    if plan.confirm is not ConfirmLevel.NONE:
        if args.yes:
            typed = args.confirm
            if plan.confirm is ConfirmLevel.TYPED and typed != plan.confirm_text:
                _err(
                    f"{plan.action}: {plan.confirm_reason or 'wide blast radius'}: "
                    f"pass --confirm {plan.confirm_text} as well as --yes; nothing was run"
                )
                return EXIT_USAGE
        elif not sys.stdin.isatty():
            _err(f"{plan.action}: no terminal to confirm on: pass --yes to run it; nothing was run")
            return EXIT_USAGE
        else:
            typed = _ask(plan.confirm, plan.confirm_text)
            if typed is None:
                out("not confirmed: nothing was run")
                return EXIT_FAIL
    progress = Progress(listener=_printer())

    def stop(sig: int, why: str) -> None:
        """ctrl+c ends a followed command as the operator's choice (completed); anything else cancels the run."""
        if plan.mode == "follow" and sig == signal.SIGINT:
            progress.end_follow()
        else:
            progress.cancel(cancel_reason(why), sig)

    try:
        with on_stop_signals(stop):
            outcome = await runner.execute(plan, confirmed=True, typed=typed, progress=progress)
    except ActionRefused as exc:
        _err(str(exc))
        return EXIT_USAGE
    counts = ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items()))
    out(
        f"{plan.action}: {outcome.status.value}: {make_safe(outcome.message)}"
        + (f" ({counts})" if counts else "")
        + f" in {outcome.duration_ms} ms; journal seq {outcome.request_seq}"
    )
    if outcome.journal_error:
        _err(outcome.journal_error)
    return EXIT_OK if outcome.status is OutcomeStatus.COMPLETED and not outcome.journal_error else EXIT_FAIL


def _ask_secrets(names: frozenset[str], given: dict[str, str]) -> dict[str, str]:
    """Secret params not on the command line are asked on the terminal without echo (kept out of `ps` and history)."""
    if not sys.stdin.isatty():
        return {}
    try:
        return {name: getpass.getpass(f"{name} (not shown): ") for name in sorted(names - set(given))}
    except EOFError:
        return {}


def _ask(level: ConfirmLevel, text: str | None) -> str | None:
    try:
        if level is ConfirmLevel.TYPED:
            answer = input(f"Type {text!r} to run it: ").strip()
            return answer if answer == text else None
        return "" if input("Run it? [y/N] ").strip().lower() in ("y", "yes") else None
    except EOFError:
        return None


def _printer():
    """The progress listener: it never raises, so a reader going away never changes the action's outcome."""
    last = 0.0

    def show(event: ProgressEvent) -> None:
        nonlocal last
        if event.line is not None:
            out(f"  | {make_safe(event.line)}", flush=True)
        elif event.message:
            out(f"  {make_safe(event.message)}", flush=True)
        elif event.counts and time.monotonic() - last > 0.5:
            last = time.monotonic()
            done = ", ".join(f"{k} {v}" for k, v in sorted(event.counts.items()))
            total = f" of ~{event.total}" if event.total else ""
            out(f"  progress: {done}{total}", err=True, flush=True)

    return show


async def check(config: Config) -> int:
    """`check`: the config is valid (else exit 2 earlier); reach every target once; exit 1 if any is unreachable, 2 if
    a playbook or runbook file it names cannot be used (one line each on stderr: others could change it, it cannot
    be read or parsed)."""
    from console.sources.reach import reach_all
    from console.triage.builtins import all_playbooks

    _, problems = all_playbooks(config)
    for problem in problems:
        _err(make_safe(problem))
    results = await reach_all(config)
    width = max((len(r.name) for r in results), default=0)
    for r in results:
        out(f"{'ok' if r.ok else 'FAIL':4}  {r.kind:8}  {r.name:{width}}  {r.detail}")
    if not results:
        out("nothing to reach: the config has no targets")
    failed = sum(not r.ok for r in results)
    verdict = f"{len(problems)} playbook or runbook problem(s), listed above" if problems else "valid"
    out(f"{config.source}: {verdict}; {len(results) - failed} of {len(results)} targets reachable")
    return EXIT_USAGE if problems else EXIT_FAIL if failed else EXIT_OK


async def status(config: Config, *, as_json: bool) -> int:
    """`status`: one poll of every source with thresholds; exit 0 ok, 1 warn, 2 crit/down."""
    from console.sources.status import poll_all

    report = await poll_all(config)
    if as_json:
        out(json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=True))
    else:
        for line in report.lines():
            out(line)
    return report.exit_code


def journal_command(args: argparse.Namespace, config: Config | None) -> int:
    """`journal verify|show|export`."""
    if args.journal:
        journal = Journal(Path(args.journal).expanduser())
    elif config is not None:
        journal = open_journal(config)
    else:
        journal = Journal(default_journal_path())
    try:
        if args.journal_command == "verify":
            return _verify(journal, args.anchor)
        if args.journal_command == "show":
            return _show(journal, args.kind, args.json)
        from console.incident.postmortem import export

        return export(journal, fmt=args.format, incident=args.incident)
    except JournalError as exc:
        _err(str(exc))
        return EXIT_USAGE


def _verify(journal: Journal, anchors: list[Anchor]) -> int:
    """Walk the chain, check each anchor, and say which guarantees that gives and which it cannot."""
    if not journal.path.exists():
        _err(f"{journal.path}: no journal here")
        return EXIT_USAGE
    result = journal.verify(anchors)
    if result.ok:
        out(f"{journal.path}: ok, {result.count} entries, head {result.head}")
        out("  checked: chain intact: the file is self-consistent (every entry hashes to itself and its predecessor)")
    else:
        out(f"{journal.path}: BAD at seq {result.bad_seq}: {result.reason}")
    for check in result.anchors:
        out(f"  {'checked' if check.held else 'FAILED'}: anchor {check.anchor}: {check.detail}")
    if result.ok and not result.anchors:
        out(
            "  not checked: without an anchor, a rewrite that re-hashes the whole chain, or a cut tail, cannot be "
            "detected (pass --anchor SEQ:HASH, e.g. from a posted status update)"
        )
    elif result.anchored:
        latest = max(check.anchor.seq for check in result.anchors)
        out(f"  not checked: entries after seq {latest} (the latest anchor) may be rewritten and re-hashed, or cut")
    if result.anchored and result.head is not None:
        out(f"  {anchor_text(result.count, result.head)} (keep it elsewhere to check this journal later)")
    return EXIT_OK if result.anchored else EXIT_FAIL


def _show(journal: Journal, kind: str | None, as_json: bool) -> int:
    if not journal.path.exists():
        _err(f"{journal.path}: no journal here")
        return EXIT_USAGE
    for entry in journal.entries():
        if kind and not entry["kind"].startswith(kind):
            continue
        if not out(json.dumps(entry, sort_keys=True, ensure_ascii=False) if as_json else _shown(entry)):
            break  # the reader went away (`| head`): a quiet exit
    return EXIT_OK


def _shown(entry: dict) -> str:
    """One line per entry; everything taken from the entry is escaped (`make_safe`), a newline too."""
    when = datetime.fromisoformat(entry["ts"]).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    actor = entry.get("actor") or {}
    who = make_safe(f"{actor.get('user', '?')}@{actor.get('host', '?')}")
    return f"{entry['seq']:>6}  {when}  {make_safe(entry['kind']):<18}  {who}  {make_safe(describe(entry))}"
