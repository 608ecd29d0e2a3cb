"""`run ACTION`: preview, confirm on the terminal (or `--yes` / `--confirm`), run through the one runner, print the
outcome."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import signal
import sys
import time
from collections.abc import Callable

from actions.base import ParamError, Progress
from actions.registry import build_runner
from actions.runner import ActionRefused, Runner
from console.commands import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from console.commands import fail as _err
from console.config import Config
from console.models import ConfirmLevel, OutcomeStatus, ProgressEvent
from console.output import out
from console.redact import make_safe
from console.stop_signals import cancel_reason, on_stop_signals
from console.terminal import Terminal


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
    for line in plan.preview_lines() + plan.panel_lines():
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


def list_actions(config: Config) -> int:
    """`run` with no ACTION: every action this config offers (built-in, configured, runbook steps) with its risk, its
    parameters and what it does; exit 2, as nothing was run."""
    runner = build_runner(config)
    for problem in runner.runbook_problems:
        _err(f"warning: {make_safe(problem)}")
    actions = sorted(runner.actions.values(), key=lambda a: (a.name.startswith("runbook:"), a.name))
    width = max((len(a.name) for a in actions), default=0)
    out(f"actions on {config.console.environment}" + ("" if actions else ": none"))
    for action in actions:
        out(make_safe(f"  {action.name:<{width}}  {action.risk.value:<11}  {action.description}".rstrip()))
        if action.Params.model_fields:
            params = " ".join(f"--{name.replace('_', '-')}" for name in action.Params.model_fields)
            out(make_safe(f"  {'':<{width}}  {'':<11}  {params}"))
    if not actions:
        out("  add [actions.NAME] to the config, or [postgres], [redis], [alertmanager] for the built-in ones")
    _err("run: name the ACTION to run: run ACTION [--PARAM VALUE ...] (--dry-run previews it); nothing was run")
    return EXIT_USAGE


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


def _printer() -> Callable[[ProgressEvent], None]:
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
