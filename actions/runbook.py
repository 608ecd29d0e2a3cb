"""Runbook steps as actions: one action per runnable step, run through the runner like any other.

A shell step runs as `bash -c SCRIPT` in its own process group, each value passed as an environment variable
(`RB_NAME`) that the script references in quotes: a value is never shell text. The plan judges the script with the
values in place (`shell_risk.judge_shell`): its risk is the worse of the step's and that judgement, and a value bash
would turn into code or an option is refused. The script stops at the first
failing command (`set -eo pipefail`, unless the block sets its own options) and an `ERR` trap prints the failing
command with its line in the runbook file, which the outcome names. An sql step runs on the `[postgres]` dsn,
reading statements in a read-only transaction; a flush step is the built-in flush-cache with the runbook's
pattern. Secret parameters are masked in the preview, the journal, the stream and the output file. The plan
re-reads the runbook and refuses when it changed since it was loaded.

A shell step's mode (judged with the values in place) says how it runs: `run` to its end under the timeout;
`interactive` with the console's terminal lent to it (`ActionContext.terminal`, console/terminal.py; refused when
there is none) and no timeout; `follow` streamed with no timeout until it exits or the operator ends it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import warnings
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, create_model

from actions import runbook_sql as sql
from actions.base import Action, ActionContext, ParamError, Progress
from actions.command import follow_to_outcome, run_redactor, run_to_outcome
from actions.redis import FlushCache, FlushParams
from actions.runner import ActionRefused
from console import proc as processes
from console.config import Config
from console.models import ConfirmLevel, Outcome, OutcomeStatus, Plan, Risk, format_duration
from console.outside_json import ObjectLines
from console.redact import MASK, Redactor
from console.runbooks.library import load_runbooks
from console.runbooks.model import Runbook, RunbookError, Step, read_text
from console.runbooks.params import filled, shell_script, shown_shell
from console.runbooks.shell_words import ORDER, Mode
from console.stop_signals import STOP_SIGNALS, cancel_reason
from console.terminal import TerminalGone

TIMEOUT = 600.0
ERREXIT = "set -eo pipefail"
# A `set` line of the block's own that decides errexit or pipefail: the block is then run as written.
OWN_OPTIONS = re.compile(
    r"^[ \t]*set[ \t]+(?:.*[ \t])?(?:[-+][a-zA-Z]*e[a-zA-Z]*|[-+]o[ \t]+(?:errexit|pipefail))\b", re.M
)
FAILED_AT = re.compile(r"runbook step failed at line (\d+) \(of the runbook file\): (.*)")
JSON_OUTPUT = re.compile(r"--format(?:=|\s+)json\b")  # pretty JSON over many lines: one log entry per object


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
        risk, reason, reparsed, mode = self.risk, step.risk_reason, {}, "run"
        if step.kind == "sql":
            if ctx.config.postgres is None:
                raise ParamError(f"{self.name}: the config has no [postgres] section to run SQL on")
            text = sql.statements_text(step.command, step.params, values)
            statements = sql.checked_statements(self.name, self.risk, text)
            shown, detail = text, {"statements": statements, "secrets": secrets, "masked": masked}
        else:
            shown = shown_shell(step.command, list(step.params), values)
            env = {p.env: values[p.name] for p in step.params}
            script = shell_script(step.command, list(step.params))
            risk, reason, reparsed, mode = self._judge(ctx, redactor, script, env)
            detail = {"script": self._script(), "env": env, "secrets": secrets, "masked": masked}
        shown = redactor.text(shown)
        reason = redactor.text(reason)
        typed = risk is Risk.DESTRUCTIVE
        confirm = ConfirmLevel.TYPED if typed else ConfirmLevel.YES
        if risk is Risk.READ or (step.kind == "sql" and not typed):
            confirm = ConfirmLevel.NONE  # a read, or a read-only transaction: nothing can change
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

    def _judge(
        self, ctx: ActionContext, redactor: Redactor, script: str, env: dict[str, str]
    ) -> tuple[Risk, str, Mapping[str, str], Mode]:
        """The step's risk and reason, made worse by the script judged with the values in place, and its mode; a
        value bash would turn into code or an option is a ParamError, a step that needs a terminal the console has
        not got is refused."""
        from console.runbooks.shell_risk import judge_shell

        judged = judge_shell(script, env)
        if judged.refused:
            raise ParamError(f"{self.name}: {redactor.text(judged.refused)}")
        if judged.mode == "interactive" and ctx.terminal is None:
            raise ActionRefused(
                f"{self.name}: {redactor.text(judged.mode_reason)}, and the console has none here (stdin and stdout "
                "must be its terminal, in the foreground); nothing was run"
            )
        if ORDER.index(judged.risk) > ORDER.index(self.risk):
            return judged.risk, f"{judged.reason} (with the values given)", judged.reparsed, judged.mode
        return self.risk, self.step.risk_reason, judged.reparsed, judged.mode

    def _how(self, ctx: ActionContext, reparsed: Mapping[str, str], mode: Mode) -> list[str]:
        if self.step.kind == "sql":
            return [
                f"on [postgres]; {'read-only transaction' if self.risk is Risk.READ else 'one transaction'}, "
                f"statement timeout {format_duration(sql.STATEMENT_TIMEOUT)}"
            ]
        names = [
            p.env + (f" (re-parsed by `{reparsed[p.env]}`)" if p.env in reparsed else "") for p in self.step.params
        ]
        spliced = "" if reparsed else " (never spliced)"
        passed = f"; values passed as {', '.join(names)}{spliced}" if names else ""
        stops = (
            "the block sets its own shell options: run as written"
            if OWN_OPTIONS.search(self.step.command)
            else f"runs under `{ERREXIT}`: stops at the first failing command"
        )
        runs = {
            "run": f"timeout {format_duration(self.timeout)}",
            "interactive": "the terminal handed over to it, no timeout: the console comes back when it exits",
            "follow": "its output followed, no timeout, until it exits or you stop it (escape, or ctrl+c headless)",
        }[mode]
        return [
            f"bash -c in {ctx.config.base_dir}, {runs}{passed}",
            f"{stops}; a failure is reported with its line in {self.book.path.name}",
        ]

    def _script(self) -> str:
        """The step's script: one line of our own (errexit unless the block sets its options, an ERR trap that
        prints the failing command with its line in the runbook file), then the command, line for line."""
        offset = self.step.line - 2  # the command's first line is the script's second
        report = (  # in the trap's single quotes: no single quote inside; control characters become spaces
            'printf "runbook step failed at line %s (of the runbook file): %s\\n" '
            f'"$((LINENO + {offset}))" "${{BASH_COMMAND//[[:cntrl:]]/ }}" >&2'
        )
        own = OWN_OPTIONS.search(self.step.command)
        head = ("" if own else f"{ERREXIT}; ") + f"set -E; trap '{report}' ERR"
        return head + "\n" + shell_script(self.step.command, list(self.step.params))

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
        return await self._run_shell(ctx, plan, progress)

    async def _run_shell(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        argv, env = ["bash", "-c", plan.detail["script"]], plan.detail["env"]
        if plan.mode == "interactive":
            return await self._hand_over(ctx, argv, env, progress)
        proc = await processes.spawn(argv, ctx.config.base_dir, merge_stderr=True, env=env)
        if plan.mode == "follow":
            objects = ObjectLines() if JSON_OUTPUT.search(self.step.command) else None
            return await follow_to_outcome(proc, ctx.redactor, progress, objects=objects)
        outcome = await run_to_outcome(proc, self.timeout, ctx.redactor, progress)
        failed = FAILED_AT.fullmatch(progress.tail[-1]) if progress.tail else None  # the trap's line is the last
        if outcome.status is OutcomeStatus.FAILED and outcome.exit_code and failed:
            message = f"{outcome.message} at line {failed.group(1)}: {failed.group(2)}"
            outcome = outcome.model_copy(update={"message": message})
        return outcome

    async def _hand_over(
        self, ctx: ActionContext, argv: list[str], env: Mapping[str, str], progress: Progress
    ) -> Outcome:
        """The step with the console's terminal, for as long as it runs; a hang-up meanwhile cancels it."""
        if ctx.terminal is None:  # the plan refused it then; the console lost its terminal since
            return Outcome(status=OutcomeStatus.FAILED, message="no terminal to hand the step over to; nothing was run")
        try:
            code = await ctx.terminal.lend(argv, ctx.config.base_dir, env, lambda: progress.stop_signal)
        except TerminalGone:
            return Outcome(status=OutcomeStatus.CANCELLED, message=cancel_reason(STOP_SIGNALS[signal.SIGHUP]))
        status = OutcomeStatus.COMPLETED if code == 0 else OutcomeStatus.FAILED
        return Outcome(status=status, message=f"exit code {code}", exit_code=code)


def step_actions(book: Runbook) -> list[RunbookStep]:
    """An action for each runnable step of a runbook."""
    return [RunbookStep(book, step) for step in book.steps if step.runnable]


def runbook_actions(config: Config, env: Mapping[str, str] | None = None) -> tuple[list[Action], list[str]]:
    """The actions of every configured runbook, and one line per file that cannot be used (it is left out)."""
    books, problems = load_runbooks(config, os.environ if env is None else env)
    return [action for book in books for action in step_actions(book)], problems
