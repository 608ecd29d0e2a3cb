"""A bash script run as a step: what runbook shell steps (actions/runbook.py) and `script` command actions
(actions/script.py) share, so both judge, show and run a script the same way.

The script runs as `bash -c` in its own process group, each value passed as an environment variable (`RB_NAME`)
that the script references in quotes (`params.shell_script`): a value is never shell text. `judge` judges the
script with the values in place (`shell_risk.judge_shell`); its risk is the worse of the declared one and that
judgement, and a value bash would turn into code or an option is refused. `wrapped` puts one line of ours before
the script: errexit and pipefail (unless the script sets its own options) and an ERR trap that prints the failing
command with its line, which `run` names in the outcome (`exit code 1 at line 2: jq …`).

The judged mode says how it runs: `run` to its end under the timeout; `interactive` with the console's terminal lent
to it (`ActionContext.terminal`, console/terminal.py; refused when there is none) and no timeout; `follow` streamed
with no timeout until it exits or the operator ends it (a runbook step; a script action that does not simply run is
refused when the config loads).
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

from actions.base import ParamError, Progress
from actions.command import follow_to_outcome, run_to_outcome
from actions.runner import ActionRefused
from console import proc as processes
from console.judge.placeholders import Param
from console.judge.shell_words import ORDER, Mode
from console.models import Outcome, OutcomeStatus, Risk, format_duration
from console.outside_json import ObjectLines
from console.redact import Redactor
from console.stop_signals import STOP_SIGNALS, cancel_reason
from console.terminal import Terminal, TerminalGone

ERREXIT = "set -eo pipefail"
# A `set` line of the script's own that decides errexit or pipefail: the script is then run as written.
OWN_OPTIONS = re.compile(
    r"^[ \t]*set[ \t]+(?:.*[ \t])?(?:[-+][a-zA-Z]*e[a-zA-Z]*|[-+]o[ \t]+(?:errexit|pipefail))\b", re.M
)
# What the ERR trap prints (`%s`: the line), as the place the lines are counted in says it
RUNBOOK_LINES = "runbook step failed at line %s (of the runbook file)"
SCRIPT_LINES = "script failed at line %s"
JSON_OUTPUT = re.compile(r"--format(?:=|\s+)json\b")  # pretty JSON over many lines: one log entry per object


def variables(action: str, params: Sequence[Param], values: Mapping[str, str]) -> dict[str, str]:
    """Each placeholder's variable (`RB_NAME`) and its value; a NUL byte, which no environment can hold, is refused."""
    for param in params:
        if "\0" in values[param.name]:
            raise ParamError(f"{action}: --{param.name}: a NUL byte cannot be passed; refused")
    return {param.env: values[param.name] for param in params}


def judge(
    action: str,
    risk: Risk,
    reason: str,
    script: str,
    env: Mapping[str, str],
    redactor: Redactor,
    *,
    modes: frozenset[Mode],
    terminal: Terminal | None,
) -> tuple[Risk, str, Mapping[str, str], Mode]:
    """The declared risk and reason, made worse by the script judged with the values in place, the values a
    program re-parses, and the mode; a value bash would turn into code or an option is a ParamError, a mode not in
    `modes` is refused, and so is an interactive one without a `terminal` to lend it."""
    from console.judge.shell import judge_shell  # the parser is loaded when a script is judged

    judged = judge_shell(script, env)
    if judged.refused:
        raise ParamError(f"{action}: {redactor.text(judged.refused)}")
    if judged.mode not in modes:
        raise ActionRefused(f"{action}: {redactor.text(judged.mode_reason)}; nothing was run")
    if judged.mode == "interactive" and terminal is None:
        raise ActionRefused(
            f"{action}: {redactor.text(judged.mode_reason)}, and the console has none here (stdin and stdout "
            "must be its terminal, in the foreground); nothing was run"
        )
    if ORDER.index(judged.risk) > ORDER.index(risk):
        return judged.risk, f"{judged.reason} (with the values given)", judged.reparsed, judged.mode
    return risk, reason, judged.reparsed, judged.mode


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
    mode: Mode = "run",
) -> list[str]:
    """The preview's notes: bash, where, how it runs (the timeout, or the terminal handed over, or followed), how
    values are passed (and which a program re-parses), errexit (or the options `subject`, the block or the script,
    sets itself), where a failure's line is counted."""
    names = [p.env + (f" (re-parsed by `{reparsed[p.env]}`)" if p.env in reparsed else "") for p in params]
    spliced = "" if reparsed else " (never spliced)"
    passed = f"; values passed as {', '.join(names)}{spliced}" if names else ""
    stops = (
        f"{subject} sets its own shell options: run as written"
        if OWN_OPTIONS.search(script)
        else f"runs under `{ERREXIT}`: stops at the first failing command"
    )
    runs = {
        "run": f"timeout {format_duration(timeout)}",
        "interactive": "the terminal handed over to it, no timeout: the console comes back when it exits",
        "follow": "its output followed, no timeout, until it exits or you stop it (escape, or ctrl+c headless)",
    }[mode]
    return [
        f"bash -c in {cwd}, {runs}{passed}",
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
    mode: Mode = "run",
    terminal: Terminal | None = None,
    command: str = "",
) -> Outcome:
    """`bash -c` a `wrapped` script in its own process group; a failure's outcome names the line the trap printed.
    Interactive: with the terminal lent for as long as it runs; follow: streamed until it ends or the operator ends
    it (`command`, the step as written, says whether its output is JSON objects over many lines)."""
    argv = ["bash", "-c", script]
    if mode == "interactive":
        return await _hand_over(terminal, argv, cwd, env, progress)
    proc = await processes.spawn(argv, cwd, merge_stderr=True, env=env, stdin=stdin is not None)
    if mode == "follow":
        objects = ObjectLines() if JSON_OUTPUT.search(command) else None
        return await follow_to_outcome(proc, redactor, progress, objects=objects)
    outcome = await run_to_outcome(proc, timeout, redactor, progress, stdin=stdin)
    pattern = re.escape(report).replace("%s", r"(\d+)") + r": (.*)"
    failed = re.fullmatch(pattern, progress.tail[-1]) if progress.tail else None  # the trap's line is the last
    if outcome.status is OutcomeStatus.FAILED and outcome.exit_code and failed:
        message = f"{outcome.message} at line {failed.group(1)}: {failed.group(2)}"
        outcome = outcome.model_copy(update={"message": message})
    return outcome


async def _hand_over(
    terminal: Terminal | None, argv: list[str], cwd: Path, env: Mapping[str, str], progress: Progress
) -> Outcome:
    """The step with the console's terminal, for as long as it runs; a hang-up meanwhile cancels it."""
    if terminal is None:  # the plan refused it then; the console lost its terminal since
        return Outcome(status=OutcomeStatus.FAILED, message="no terminal to hand the step over to; nothing was run")
    try:
        code = await terminal.lend(argv, cwd, env, lambda: progress.stop_signal)
    except TerminalGone:
        return Outcome(status=OutcomeStatus.CANCELLED, message=cancel_reason(STOP_SIGNALS[signal.SIGHUP]))
    status = OutcomeStatus.COMPLETED if code == 0 else OutcomeStatus.FAILED
    return Outcome(status=status, message=f"exit code {code}", exit_code=code)
