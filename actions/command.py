"""Command actions: `[actions.NAME]` argv templates run without a shell, output streamed, process group killed."""

from __future__ import annotations

import asyncio
import shlex
import string
from typing import Any

from pydantic import BaseModel, Field, create_model

from actions.base import Action, ActionContext, Progress
from console import proc as processes
from console.config import CommandAction as CommandActionConfig
from console.models import ConfirmLevel, Outcome, OutcomeStatus, Plan, Risk, format_duration


class CommandAction(Action):
    """An argv template from the config, with typed params, run as a process group with a timeout."""

    def __init__(self, name: str, spec: CommandActionConfig) -> None:
        self.name = name
        self.risk = spec.risk
        self.spec = spec
        self.description = spec.description or "run " + shlex.join(spec.command)
        fields: dict[str, Any] = {
            pname: (p.annotation, Field(p.typed_default(), description=p.description))
            for pname, p in spec.params.items()
        }
        self.Params: type[BaseModel] = create_model(f"{name.title().replace('-', '')}Params", **fields)

    def argv(self, ctx: ActionContext, params: dict[str, Any]) -> list[str]:
        values = {"environment": ctx.environment, **{k: str(v) for k, v in params.items()}}
        formatter = string.Formatter()
        return [formatter.vformat(arg, (), values) for arg in self.spec.command]

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        values = params.model_dump(mode="json")
        argv = self.argv(ctx, values)
        shown = ctx.redactor.text(shlex.join(argv))
        typed = self.risk is Risk.DESTRUCTIVE
        return Plan(
            action=self.name,
            risk=self.risk,
            params=values,
            summary=f"{self.name} on {ctx.environment}: runs {shown}",
            columns=["argument", "value"],
            rows=[[str(i), ctx.redactor.text(a)] for i, a in enumerate(argv)],
            notes=[
                f"in {ctx.config.base_dir}, no shell, timeout {format_duration(self.spec.timeout)}",
            ],
            confirm=ConfirmLevel.TYPED if typed else ConfirmLevel.YES,
            confirm_text=ctx.environment if typed else None,
            confirm_reason="destructive command" if typed else "",
            detail={"argv": argv},
        )

    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        argv: list[str] = plan.detail["argv"]
        cwd = ctx.config.base_dir
        try:
            proc = await processes.spawn(argv, cwd, merge_stderr=True)
        except FileNotFoundError:
            return Outcome(status=OutcomeStatus.FAILED, message=f"command not found: {argv[0]} (looked in {cwd})")
        except PermissionError:
            return Outcome(status=OutcomeStatus.FAILED, message=f"command is not executable: {argv[0]}")
        return await run_to_outcome(proc, self.spec.timeout, ctx, progress)


async def run_to_outcome(
    proc: asyncio.subprocess.Process, timeout: float, ctx: ActionContext, progress: Progress
) -> Outcome:
    """Stream a started process's output (secrets redacted) until it exits or `timeout` passes (then its whole
    group is killed); a cancel kills the group too. The outcome says which."""
    try:
        async with asyncio.timeout(timeout):
            await _pump(proc, ctx, progress)
            code = await proc.wait()
    except TimeoutError:
        await processes.kill_group(proc)
        return Outcome(
            status=OutcomeStatus.FAILED,
            message=f"timed out after {format_duration(timeout)}; process group killed",
            exit_code=proc.returncode,
        )
    except asyncio.CancelledError:
        await processes.kill_group(proc)
        raise
    status = OutcomeStatus.COMPLETED if code == 0 else OutcomeStatus.FAILED
    return Outcome(status=status, message=f"exit code {code}", exit_code=code)


async def _pump(proc: asyncio.subprocess.Process, ctx: ActionContext, progress: Progress) -> None:
    """Stream output line by line (over-long lines cut by the process helper), secrets redacted."""
    assert proc.stdout is not None
    async for lines in processes.line_batches(proc.stdout):
        for line in lines:
            progress.line(ctx.redactor.text(line))
