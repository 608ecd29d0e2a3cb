"""Runbook steps as actions: one action per runnable step, run through the runner like any other.

A shell step runs as `bash -c SCRIPT` in its own process group, each value passed as an environment variable
(`RB_NAME`) that the script references in quotes: a value is never shell text. The plan judges the script with the
values in place (`shell_risk.judge_shell`): its risk is the worse of the step's and that judgement, and a value bash
would turn into code or an option is refused. The script stops at the first
failing command (`set -eo pipefail`, unless the block sets its own options) and an `ERR` trap prints the failing
command with its line in the runbook file, which the outcome names (`actions/shell_step.py`, which `script`
command actions share). An sql step runs on the `[postgres]` dsn,
reading statements in a read-only transaction; a flush step is the built-in flush-cache with the runbook's
pattern. Secret parameters are masked in the preview, the journal, the stream and the output file. The plan
re-reads the runbook and refuses when it changed since it was loaded.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, create_model

from actions import runbook_sql as sql
from actions import shell_step
from actions.base import Action, ActionContext, ParamError, Progress
from actions.command import run_redactor
from actions.redis import FlushCache, FlushParams
from actions.runner import ActionRefused
from console.config import Config
from console.judge.placeholders import filled, shell_script, shown_shell
from console.judge.shell_words import Mode
from console.models import ConfirmLevel, Outcome, Plan, Risk, format_duration
from console.redact import MASK
from console.runbooks.library import load_runbooks
from console.runbooks.model import Runbook, RunbookError, Step, read_text

TIMEOUT = 600.0
ALL_MODES: frozenset[Mode] = frozenset({"run", "interactive", "follow"})  # a runbook step may need any


class RunbookStep(Action):
    """One runnable step of a runbook, with the step's placeholders as required string parameters."""

    def __init__(self, book: Runbook, step: Step, *, timeout: float = TIMEOUT) -> None:
        if not step.runnable:
            raise RunbookError(f"{book.path}: step {step.id} is a {step.language or 'text'} block, shown but not run")
        self.book, self.step, self.timeout = book, step, timeout
        self.name = book.action_name(step)
        self.risk = step.risk
        where = step.section or step.id
        where += f": {step.title}" if step.title else ""
        self.description = f"{book.title}: {where} (line {step.line}, {step.kind})"
        self.label = f"{book.title} / {where} (line {step.line})"
        self.secret_params = frozenset(step.secret_params)
        fields: dict[str, Any] = {
            p.name: (str, Field(description=f"replaces {' '.join(p.placeholders)}")) for p in step.params
        }
        with warnings.catch_warnings():  # a parameter may be called `json` or `copy`: it still validates
            warnings.simplefilter("ignore")
            self.Params: type[BaseModel] = create_model("RunbookStepParams", **fields)

    def _values(self, params: BaseModel) -> dict[str, str]:
        values = {k: str(v) for k, v in params.model_dump().items()}
        for param in self.step.params:
            value = values[param.name]
            if "\0" in value:
                raise ParamError(f"{self.name}: --{param.name}: a NUL byte cannot be passed; refused")
            if not value:
                raise ParamError(f"{self.name}: --{param.name} is empty")
        return values

    def _check_file(self) -> None:
        if not self.step.closed:
            raise ActionRefused(
                f"{self.name}: the fence at line {self.step.fence_line} is never closed, so the block runs to the end "
                "of the file; close it before running; nothing was run"
            )
        try:
            _, digest = read_text(self.book.path)
        except RunbookError as exc:
            raise ActionRefused(f"{self.name}: {exc}; nothing was run") from None
        if digest != self.book.sha256:
            raise ActionRefused(
                f"{self.name}: {self.book.path} changed since it was loaded; reload it; nothing was run"
            )

    def _record(self, shown: str, values: dict[str, str], mode: Mode = "run") -> dict[str, Any]:
        """What the journal keeps of the request: the runbook, its sha256, where the step is, the command (already
        redacted), how it runs and the values (secret ones masked)."""
        return {
            "runbook": str(self.book.path),
            "sha256": self.book.sha256,
            "section": self.step.section,
            "line": self.step.line,
            "fence_line": self.step.fence_line,
            "step": self.step.ref,
            "kind": self.step.kind,
            "command": shown,
            "mode": mode,
            "values": {k: MASK if k in self.secret_params else v for k, v in values.items()},
        }

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        values = self._values(params)
        self._check_file()
        secrets = {name: values[name] for name in self.secret_params}
        # what the step reads from a secret-named variable of the console's environment is masked as well
        masked = [*secrets.values(), *(os.environ[n] for n in self.step.secret_env if n in os.environ)]
        if self.step.kind == "flush":
            return await self._plan_flush(ctx, values)
        step = self.step
        redactor = run_redactor(ctx.redactor, masked)
        risk, reason = self.risk, step.risk_reason
        reparsed: Mapping[str, str] = {}
        mode: Mode = "run"
        if step.kind == "sql":
            if ctx.config.postgres is None:
                raise ParamError(f"{self.name}: the config has no [postgres] section to run SQL on")
            text = sql.statements_text(step.command, step.params, values)
            statements = sql.checked_statements(self.name, self.risk, text)
            shown, detail = text, {"statements": statements, "secrets": secrets, "masked": masked}
        else:
            shown = shown_shell(step.command, list(step.params), values)
            env = shell_step.variables(self.name, step.params, values)
            script = shell_script(step.command, list(step.params))
            risk, reason, reparsed, mode = shell_step.judge(
                self.name, self.risk, step.risk_reason, script, env, redactor, modes=ALL_MODES, terminal=ctx.terminal
            )
            # the command's first line is the script's second: bash's $LINENO + offset is the runbook file's line
            run = shell_step.wrapped(script, step.line - 2, shell_step.RUNBOOK_LINES)
            detail = {"script": run, "env": env, "secrets": secrets, "masked": masked}
        shown = redactor.text(shown)
        reason = redactor.text(reason)
        typed = risk is Risk.DESTRUCTIVE
        # a read (an SQL one in a read-only transaction) changes nothing; a write commits: it is confirmed
        confirm = ConfirmLevel.TYPED if typed else ConfirmLevel.NONE if risk is Risk.READ else ConfirmLevel.YES
        where = f"{self.book.path.name}, {step.section or 'top'}, line {step.line}"
        return Plan(
            action=self.name,
            risk=risk,
            params=self._record(shown, values, mode),
            summary=f"{step.ref} ({where}) on {ctx.environment}: {reason}",
            columns=["line", step.kind],
            rows=[[str(i + 1), line] for i, line in enumerate(shown.split("\n"))],
            notes=self._how(ctx, reparsed, mode),
            confirm=confirm,
            confirm_text=ctx.environment if typed else None,
            confirm_reason=reason if typed else "",
            created_at=ctx.clock(),
            detail=detail,
            mode=mode,
        )

    def _how(self, ctx: ActionContext, reparsed: Mapping[str, str], mode: Mode) -> list[str]:
        if self.step.kind == "sql":
            return [
                f"on [postgres]; {'read-only transaction' if self.risk is Risk.READ else 'one transaction'}, "
                f"statement timeout {format_duration(sql.STATEMENT_TIMEOUT)}"
            ]
        return shell_step.notes(
            ctx.config.base_dir,
            self.timeout,
            self.step.params,
            reparsed,
            self.step.command,
            subject="the block",
            lines_in=self.book.path.name,
            mode=mode,
        )

    async def _plan_flush(self, ctx: ActionContext, values: dict[str, str]) -> Plan:
        pattern = filled(self.step.pattern, list(self.step.params), values)
        inner = await FlushCache().plan(ctx, FlushParams(pattern=pattern, db=self.step.db))
        record = self._record(ctx.redactor.text(self.step.command), values)
        return inner.model_copy(
            update={
                "action": self.name,
                "params": {**record, "flush": inner.params},
                "notes": [
                    *inner.notes,
                    f"the runbook's `{record['command']}` runs as the built-in flush-cache, never as written",
                ],
            }
        )

    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        if self.step.kind == "flush":
            inner = plan.model_copy(update={"action": FlushCache.name, "params": plan.params["flush"]})
            return await FlushCache().execute(ctx, inner, progress)
        ctx = dataclasses.replace(ctx, redactor=run_redactor(ctx.redactor, plan.detail["masked"]))
        if self.step.kind == "sql":
            return await sql.run(ctx, plan.detail["statements"], read_only=self.risk is Risk.READ, progress=progress)
        return await shell_step.run(
            plan.detail["script"],
            plan.detail["env"],
            cwd=ctx.config.base_dir,
            timeout=self.timeout,
            redactor=ctx.redactor,
            progress=progress,
            report=shell_step.RUNBOOK_LINES,
            mode=plan.mode,
            terminal=ctx.terminal,
            command=self.step.command,
        )


def step_actions(book: Runbook) -> list[RunbookStep]:
    """An action for each runnable step of a runbook."""
    return [RunbookStep(book, step) for step in book.steps if step.runnable]


def runbook_actions(config: Config, env: Mapping[str, str] | None = None) -> tuple[list[Action], list[str]]:
    """The actions of every configured runbook, and one line per file that cannot be used (it is left out)."""
    books, problems = load_runbooks(config, os.environ if env is None else env)
    return [action for book in books for action in step_actions(book)], problems
