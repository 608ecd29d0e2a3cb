"""`[actions.NAME]` with `script`: a short bash script run as a runbook shell step is (`actions/shell_step.py`).

Each `{name}` placeholder is rewritten to a quoted `"${RB_NAME}"` and its value passed in the environment, never
spliced. The action's risk is the script's template judged by the shell parser (`shell_risk.judge_shell`, when the
config is loaded), raised by a declared `risk`, never lowered; the plan judges it again with the values in place,
which may only make it worse, and refuses a value bash would turn into code or an option. The outcome names the
failing line, counted from the script's first line.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from actions import shell_step
from actions.base import ActionContext, Progress
from actions.command import CommandAction, run_redactor
from console.config import CommandAction as CommandActionConfig
from console.config.actions import SCRIPT_PLACEHOLDER
from console.judge.placeholders import shown_shell
from console.judge.shell_words import Mode
from console.models import ConfirmLevel, Outcome, Plan, Risk
from console.redact import MASK
from console.runbooks.risk import raise_to

RUN_ONLY: frozenset[Mode] = frozenset({"run"})  # a script action runs without a terminal, to its end


class ScriptAction(CommandAction):
    """A bash script from the config with typed params, judged by the shell parser, run under errexit."""

    def __init__(self, name: str, spec: CommandActionConfig) -> None:
        super().__init__(name, spec)
        assert spec.script is not None
        self.placeholders = spec.script_params()
        self.bash = spec.bash()
        judged = spec.template  # judged when the config was loaded
        declared = spec.risk.value if spec.risk else None
        self.risk, self.reason = raise_to(judged.risk, judged.reason, declared, by=f'the action\'s risk = "{declared}"')
        first = next(line.strip() for line in spec.script.splitlines() if line.strip())
        self.description = spec.description or f"bash: {first}"

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        values = self._values(ctx, params.model_dump(mode="json"))
        stdin, env = self._stdin_and_env(values)
        secrets = {n: values[n] for n in self.secret_params}
        redactor = run_redactor(ctx.redactor, secrets.values())
        variables = shell_step.variables(self.name, self.placeholders, values)
        risk, reason, reparsed, _ = shell_step.judge(
            self.name, self.risk, self.reason, self.bash, variables, redactor, modes=RUN_ONLY, terminal=None
        )
        script = self.spec.script or ""
        shown = redactor.text(shown_shell(script.rstrip("\n"), self.placeholders, values, SCRIPT_PLACEHOLDER))
        reason = redactor.text(reason)
        typed = risk is Risk.DESTRUCTIVE
        confirm = ConfirmLevel.NONE if risk is Risk.READ else ConfirmLevel.TYPED if typed else ConfirmLevel.YES
        return Plan(
            action=self.name,
            risk=risk,
            params={"script": shown, "values": {k: MASK if k in secrets else v for k, v in values.items()}},
            summary=f"{self.name} on {ctx.environment}: {reason}",
            columns=["line", "bash"],
            rows=[[str(i + 1), line] for i, line in enumerate(shown.split("\n"))]
            + self._stdin_and_env_rows(redactor, stdin, env),
            notes=shell_step.notes(
                ctx.config.base_dir,
                self.spec.timeout,
                self.placeholders,
                reparsed,
                script,
                subject="the script",
                lines_in="the script",
            ),
            confirm=confirm,
            confirm_text=ctx.environment if typed else None,
            confirm_reason=reason if typed else "",
            detail={
                "script": shell_step.wrapped(self.bash, -1, shell_step.SCRIPT_LINES),  # its line 1 is bash's line 2
                "env": {**env, **variables},
                "stdin": stdin,
                "secrets": secrets,
            },
        )

    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        detail: dict[str, Any] = plan.detail
        return await shell_step.run(
            detail["script"],
            detail["env"],
            cwd=ctx.config.base_dir,
            timeout=self.spec.timeout,
            redactor=run_redactor(ctx.redactor, detail["secrets"].values()),
            progress=progress,
            report=shell_step.SCRIPT_LINES,
            stdin=detail["stdin"],
        )
