"""`runbook show FILE [--json]` and `runbook run FILE STEP_ID [--PARAM V ...]` (the headless `run` flow)."""

from __future__ import annotations

import argparse
import asyncio
import os

from console.commands import EXIT_OK, EXIT_USAGE, fail
from console.config import Config
from console.models import count
from console.output import json_text, out
from console.redact import make_safe
from console.runbooks.model import Runbook, RunbookError, load_runbook


def runbook_command(args: argparse.Namespace, params: dict[str, str], config: Config | None) -> int:
    """Dispatch `runbook show|run`; a runbook that cannot be used is one line on stderr and exit 2."""
    try:
        book = load_runbook(args.file, os.environ)
    except RunbookError as exc:
        return _fail(str(exc))
    if args.runbook_command == "show":
        return show(book, as_json=args.json)
    assert config is not None
    return asyncio.run(run(book, config, args, params))


def _fail(text: str) -> int:
    fail(text)
    return EXIT_USAGE


def show(book: Runbook, *, as_json: bool) -> int:
    """What was parsed: every step with its kind, risk, parameters and command."""
    for warning in book.warnings:
        out(f"incident-console: warning: {make_safe(warning)}", err=True)
    if as_json:
        out(json_text(book.as_json(), indent=2))
        return EXIT_OK
    runnable = sum(s.runnable and s.closed for s in book.steps)
    open_fences = sorted({s.fence_line for s in book.steps if s.runnable and not s.closed})
    why = ""
    if open_fences:
        lines = ", ".join(map(str, open_fences))
        why = (
            f" (the fence at line {lines} is never closed)"
            if len(open_fences) == 1
            else (f" (the fences at lines {lines} are never closed)")
        )
    elif not book.steps:
        why = " (no code blocks: nothing to run)"
    out(make_safe(f"{book.title}  ({book.path}, sha256 {book.sha256[:12]})"))
    out(f"{count(len(book.steps), 'step')}, {runnable} runnable{why}")
    for step in book.steps:
        head = f"{step.ref}  [{step.kind}{', ' + step.risk.value if step.runnable else ''}]  line {step.line}"
        out("")
        out(make_safe(f"{head}  {step.section}" + (f": {step.title}" if step.title else "")))
        if step.split:
            out(make_safe(f"    split: part {step.split.part} of {step.split.of} of block {step.split.block}"))
        if step.runnable:
            out(make_safe(f"    risk: {step.risk_reason}"))
            out(make_safe(f"    mode: {step.mode}" + (f": {step.mode_reason}" if step.mode_reason else "")))
        else:
            out("    mode: shown, not run")
            if step.display_reason:
                out(make_safe(f"    not run: {step.display_reason}"))
        if step.runnable and not step.closed:
            out(f"    not run: the fence at line {step.fence_line} is never closed (close it to run this step)")
        if step.params:
            named = (f"--{p.name}" + (" (secret, asked without echo)" if p.secret else "") for p in step.params)
            out(make_safe(f"    params: {', '.join(named)}"))
        if step.env_params:
            out(make_safe(f"    from the environment: {', '.join('$' + name for name in step.env_params)}"))
        for line in step.command.split("\n"):
            out(f"    | {make_safe(line)}")
        for line in step.output_lines:
            out(f"      {make_safe(line)}")
    return EXIT_OK


async def run(book: Runbook, config: Config, args: argparse.Namespace, params: dict[str, str]) -> int:
    """One step through the runner: preview, confirmation, journal, execute, exactly like `run ACTION`."""
    from actions.registry import build_runner
    from actions.runbook import RunbookStep
    from console.commands.run import run_action

    try:
        action = RunbookStep(book, book.step(args.step))
    except RunbookError as exc:
        return _fail(str(exc))
    runner = build_runner(config, read_only=getattr(args, "read_only", False))
    runner.actions[action.name] = action
    args.action = action.name
    return await run_action(config, args, {k.lower(): v for k, v in params.items()}, runner=runner)
