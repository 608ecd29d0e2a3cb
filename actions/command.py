"""Command actions: `[actions.NAME]` argv templates run without a shell, output streamed, process group killed.

A `{param|json}` or `{param|url}` placeholder passes the value through a filter; `stdin` is a template fed to the
command's standard input and `env` templates are added to its environment (where secrets go: never in argv, which
every local user can read); a `secret` param is masked everywhere the run is shown or journaled."""

from __future__ import annotations

import asyncio
import shlex
import string
from typing import Any

from pydantic import BaseModel, Field, create_model

from actions.base import Action, ActionContext, Progress
from console import proc as processes
from console.config import CommandAction as CommandActionConfig
from console.config.actions import FILTERS, interpreted
from console.models import ConfirmLevel, Outcome, OutcomeStatus, Plan, Risk, format_duration
from console.outside_json import ObjectLines
from console.redact import MASK, Redactor


class _Template(string.Formatter):
    """`{name}` and `{name|filter}` placeholders (names and filters were checked when the config was loaded)."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        name, _, wanted = field_name.partition("|")
        value = kwargs[name]
        return (FILTERS[wanted](value) if wanted else value), name


def run_redactor(redactor: Redactor, secrets: Any) -> Redactor:
    """The context's redactor plus the secret values of one run, as typed and as each filter writes them."""
    return redactor.with_secrets(v for value in secrets for v in (value, *(f(value) for f in FILTERS.values())))


class CommandAction(Action):
    """An argv template from the config, with typed params, run as a process group with a timeout."""

    def __init__(self, name: str, spec: CommandActionConfig) -> None:
        self.name = name
        self.risk = spec.risk or Risk.WRITE
        self.spec = spec
        self.description = spec.description or "run " + shlex.join(spec.command or [])
        self.secret_params = frozenset(n for n, p in spec.params.items() if p.secret)
        fields: dict[str, Any] = {
            pname: (p.annotation, Field(p.typed_default(), description=p.description))
            for pname, p in spec.params.items()
        }
        self.Params: type[BaseModel] = create_model(f"{name.title().replace('-', '')}Params", **fields)

    def argv(self, ctx: ActionContext, params: dict[str, Any]) -> list[str]:
        values = self._values(ctx, params)
        return [_Template().vformat(arg, (), values) for arg in self.spec.command or []]

    def _values(self, ctx: ActionContext, params: dict[str, Any]) -> dict[str, str]:
        return {"environment": ctx.environment, **{k: str(v) for k, v in params.items()}}

    def _stdin_and_env(self, filled: dict[str, str]) -> tuple[str | None, dict[str, str]]:
        """The `stdin` and `env` templates with the values in place."""
        stdin = None if self.spec.stdin is None else _Template().vformat(self.spec.stdin, (), filled)
        return stdin, {name: _Template().vformat(value, (), filled) for name, value in self.spec.env.items()}

    @staticmethod
    def _stdin_and_env_rows(redactor: Redactor, stdin: str | None, env: dict[str, str]) -> list[list[str]]:
        """The preview's rows for what goes to standard input and the environment, secrets masked."""
        rows = [["stdin", redactor.text(stdin)]] if stdin is not None else []
        return rows + [[f"env {name}", redactor.text(value)] for name, value in env.items()]

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        values = params.model_dump(mode="json")
        argv = self.argv(ctx, values)
        stdin, env = self._stdin_and_env(self._values(ctx, values))
        secrets = {n: str(values[n]) for n in self.secret_params}
        redactor = run_redactor(ctx.redactor, secrets.values())
        typed = self.risk is Risk.DESTRUCTIVE
        confirm = ConfirmLevel.NONE if self.risk is Risk.READ else ConfirmLevel.TYPED if typed else ConfirmLevel.YES
        rows = [[str(i), redactor.text(a)] for i, a in enumerate(argv)]
        return Plan(
            action=self.name,
            risk=self.risk,
            params={k: MASK if k in secrets else v for k, v in values.items()},
            summary=f"{self.name} on {ctx.environment}: runs {shlex.join(redactor.text(a) for a in argv)}",
            columns=["argument", "value"],
            rows=rows + self._stdin_and_env_rows(redactor, stdin, env),
            notes=[
                f"in {ctx.config.base_dir}, {self._interpreter_note()}, timeout {format_duration(self.spec.timeout)}",
            ],
            confirm=confirm,
            confirm_text=ctx.environment if typed else None,
            confirm_reason="destructive command" if typed else "",
            detail={"argv": argv, "stdin": stdin, "env": env, "secrets": secrets},
        )

    def _interpreter_note(self) -> str:
        """`no shell`, or which program reads code from the command (its code is fixed in the config)."""
        code = interpreted(self.spec.command or [])
        if code is None:
            return "no shell"
        return f"the code {code[1]} runs is fixed in the config; values reach it only as separate arguments"

    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        argv: list[str] = plan.detail["argv"]
        stdin: str | None = plan.detail.get("stdin")
        env: dict[str, str] = plan.detail.get("env") or {}
        redactor = run_redactor(ctx.redactor, plan.detail.get("secrets", {}).values())
        cwd = ctx.config.base_dir
        try:
            proc = await processes.spawn(argv, cwd, merge_stderr=True, stdin=stdin is not None, env=env or None)
        except FileNotFoundError:
            return Outcome(status=OutcomeStatus.FAILED, message=f"command not found: {argv[0]} (looked in {cwd})")
        except PermissionError:
            return Outcome(status=OutcomeStatus.FAILED, message=f"command is not executable: {argv[0]}")
        return await run_to_outcome(proc, self.spec.timeout, redactor, progress, stdin=stdin)


async def run_to_outcome(
    proc: asyncio.subprocess.Process,
    timeout: float,
    redactor: Redactor,
    progress: Progress,
    *,
    stdin: str | None = None,
) -> Outcome:
    """Feed `stdin` (if any) and stream a started process's output (secrets redacted) until it exits or `timeout`
    passes (then its whole group is killed); a cancel kills the group too. The outcome says which."""
    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(_feed(proc, stdin), _pump(proc, redactor, progress))
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


async def _feed(proc: asyncio.subprocess.Process, data: str | None) -> None:
    """Write the rendered `stdin` and close it (a command that exits without reading it is no error)."""
    if data is None or proc.stdin is None:
        return
    try:
        proc.stdin.write(data.encode())
        await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        proc.stdin.close()


async def follow_to_outcome(
    proc: asyncio.subprocess.Process, redactor: Redactor, progress: Progress, *, objects: ObjectLines | None = None
) -> Outcome:
    """Stream a never-ending command's output (secrets redacted; with `objects`, one line per JSON object), with no
    timeout, until it exits or the operator ends the follow (`progress.follow_ended`): its group is stopped then and
    the run completed, since seeing enough is how a follow ends. A cancel (the console told to stop) kills the group,
    `progress.stop_signal` first."""

    async def to_the_end() -> int:
        await _pump(proc, redactor, progress, objects)
        return await proc.wait()

    run = asyncio.create_task(to_the_end())
    ended = asyncio.create_task(progress.follow_ended.wait())
    try:
        await asyncio.wait({run, ended}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        run.cancel()
        await processes.kill_group(proc, first=progress.stop_signal)
        raise
    finally:
        ended.cancel()
    if not run.done():
        run.cancel()
        await processes.kill_group(proc)
        lines = f"{progress.lines:,} line{'' if progress.lines == 1 else 's'}"
        return Outcome(status=OutcomeStatus.COMPLETED, message=f"stopped by the operator after {lines}")
    code = run.result()
    status = OutcomeStatus.COMPLETED if code == 0 else OutcomeStatus.FAILED
    return Outcome(status=status, message=f"exit code {code}", exit_code=code)


async def _pump(
    proc: asyncio.subprocess.Process, redactor: Redactor, progress: Progress, objects: ObjectLines | None = None
) -> None:
    """Stream output line by line (over-long lines cut by the process helper; with `objects`, a JSON object over
    several lines is one line), secrets redacted."""
    assert proc.stdout is not None
    async for lines in processes.line_batches(proc.stdout):
        for line in objects.feed(lines) if objects else lines:
            progress.line(redactor.text(line))
    for line in objects.flush() if objects else ():
        progress.line(redactor.text(line))
