"""A bash script run as a step: what runbook shell steps (actions/runbook.py) and `script` command actions
(actions/script.py) share, so both judge, show and run a script the same way.

The script runs as `bash -c` in its own process group, each value passed as an environment variable (`RB_NAME`)
that the script references in quotes (`params.shell_script`): a value is never shell text. `judge` judges the
script with the values in place (`shell_risk.judge_shell`); its risk is the worse of the declared one and that
judgement, and a value bash would turn into code or an option is refused. `wrapped` puts one line of ours before
the script: errexit and pipefail (unless the script sets its own options) and an ERR trap that prints the failing
command with its line, which `run` names in the outcome (`exit code 1 at line 2: jq …`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from actions.base import ParamError, Progress
from actions.command import run_to_outcome
from actions.runner import ActionRefused
from console import proc as processes
from console.judge.placeholders import Param
from console.judge.shell_words import ORDER
from console.models import Outcome, OutcomeStatus, Risk, format_duration
from console.redact import Redactor

ERREXIT = "set -eo pipefail"
# A `set` line of the script's own that decides errexit or pipefail: the script is then run as written.
OWN_OPTIONS = re.compile(
    r"^[ \t]*set[ \t]+(?:.*[ \t])?(?:[-+][a-zA-Z]*e[a-zA-Z]*|[-+]o[ \t]+(?:errexit|pipefail))\b", re.M
)
# What the ERR trap prints (`%s`: the line), as the place the lines are counted in says it
RUNBOOK_LINES = "runbook step failed at line %s (of the runbook file)"
SCRIPT_LINES = "script failed at line %s"


def variables(action: str, params: Sequence[Param], values: Mapping[str, str]) -> dict[str, str]:
    """Each placeholder's variable (`RB_NAME`) and its value; a NUL byte, which no environment can hold, is refused."""
    for param in params:
        if "\0" in values[param.name]:
            raise ParamError(f"{action}: --{param.name}: a NUL byte cannot be passed; refused")
    return {param.env: values[param.name] for param in params}


def judge(
    action: str, risk: Risk, reason: str, script: str, env: Mapping[str, str], redactor: Redactor
) -> tuple[Risk, str, Mapping[str, str]]:
    """The declared risk and reason, made worse by the script judged with the values in place, and the values a
    program re-parses; a value bash would turn into code or an option is a ParamError, a script that needs the
    terminal or never ends is refused."""
    from console.judge.shell import judge_shell  # the parser is loaded when a script is judged

    judged = judge_shell(script, env)
    if judged.refused:
        raise ParamError(f"{action}: {redactor.text(judged.refused)}")
    if judged.mode != "run":
        raise ActionRefused(
            f"{action}: {redactor.text(judged.mode_reason)}; the console will hand it over in a later version; "
            "nothing was run"
        )
    if ORDER.index(judged.risk) > ORDER.index(risk):
        return judged.risk, f"{judged.reason} (with the values given)", judged.reparsed
    return risk, reason, judged.reparsed


def wrapped(script: str, offset: int, report: str) -> str:
    """The script as it runs: one line of ours (errexit unless the script sets its options, an ERR trap that prints
    the failing command with its line, `$LINENO + offset`, in `report`'s words), then the script, line for line."""
    trap = (  # in the trap's single quotes: no single quote inside; control characters become spaces
        f'printf "{report}: %s\\n" "$((LINENO + {offset}))" "${{BASH_COMMAND//[[:cntrl:]]/ }}" >&2'
    )
    head = ("" if OWN_OPTIONS.search(script) else f"{ERREXIT}; ") + f"set -E; trap '{trap}' ERR"
    return head + "\n" + script


def notes(
    cwd: Path,
    timeout: float,
    params: Sequence[Param],
    reparsed: Mapping[str, str],
    script: str,
    *,
    subject: str,
    lines_in: str,
) -> list[str]:
    """The preview's notes: bash, where, the timeout, how values are passed (and which a program re-parses), errexit
    (or the options `subject`, the block or the script, sets itself), where a failure's line is counted."""
    names = [p.env + (f" (re-parsed by `{reparsed[p.env]}`)" if p.env in reparsed else "") for p in params]
    spliced = "" if reparsed else " (never spliced)"
    passed = f"; values passed as {', '.join(names)}{spliced}" if names else ""
    stops = (
        f"{subject} sets its own shell options: run as written"
        if OWN_OPTIONS.search(script)
        else f"runs under `{ERREXIT}`: stops at the first failing command"
    )
    return [
        f"bash -c in {cwd}, timeout {format_duration(timeout)}{passed}",
        f"{stops}; a failure is reported with its line in {lines_in}",
    ]


async def run(
    script: str,
    env: Mapping[str, str],
    *,
    cwd: Path,
    timeout: float,
    redactor: Redactor,
    progress: Progress,
    report: str,
    stdin: str | None = None,
) -> Outcome:
    """`bash -c` a `wrapped` script in its own process group; a failure's outcome names the line the trap printed."""
    proc = await processes.spawn(["bash", "-c", script], cwd, merge_stderr=True, env=env, stdin=stdin is not None)
    outcome = await run_to_outcome(proc, timeout, redactor, progress, stdin=stdin)
    pattern = re.escape(report).replace("%s", r"(\d+)") + r": (.*)"
    failed = re.fullmatch(pattern, progress.tail[-1]) if progress.tail else None  # the trap's line is the last
    if outcome.status is OutcomeStatus.FAILED and outcome.exit_code and failed:
        message = f"{outcome.message} at line {failed.group(1)}: {failed.group(2)}"
        outcome = outcome.model_copy(update={"message": message})
    return outcome
