"""Risk inferred from a step's text, with the reason in words; a `risk=` attribute may raise it, never lower it.

Shell is judged by a real bash parser (`shell_risk.judge_shell`, on the script as it will run, placeholders as
quoted `"${RB_NAME}"` references), SQL by PostgreSQL's own parser (`sql_risk.judge_sql`). Both are imported when a
step is judged, never when the console starts.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from console.judge.placeholders import Param, find_params, shell_script, sql_text
from console.judge.shell_words import ORDER, Mode
from console.models import Risk
from console.runbooks.session import sql_code

if TYPE_CHECKING:
    from console.judge.shell import ShellJudgement, Unreached


def infer(text: str, params: Sequence[Param] | None = None, *, sql: bool = False) -> tuple[Risk, str, Mode, str]:
    """(risk, reason, mode, why that mode: "" for run) of a shell or SQL step; `params`: the step's placeholders
    (found with an empty environment when not given). Without values: the template's, as `runbook show` shows it."""
    if sql:
        risk, reason = _sql(text)
        return risk, reason, "run", ""
    found = find_params(text, {}, shell=True) if params is None else list(params)
    judged = _template(shell_script(text, found))
    return judged.risk, judged.reason, judged.mode, judged.mode_reason


def unreached(text: str, params: Sequence[Param]) -> Unreached | None:
    """Where a shell step has commands after one that never ends, which would never run (None when it has not)."""
    return _template(shell_script(text, list(params))).unreached


@functools.lru_cache(maxsize=64)
def _template(script: str) -> ShellJudgement:
    """A step's script judged without values; kept a while, as the model asks where to cut it, then its risk."""
    from console.judge.shell import judge_shell

    return judge_shell(script)


def _sql(text: str) -> tuple[Risk, str]:
    """An SQL step judged with each placeholder's own text as its value: a value is always a quoted literal, so no
    value can change the statements' shape (the plan judges the text again with the real values in place)."""
    from console.judge.sql import judge_sql  # pglast is loaded when an SQL step is judged, not at start

    code = sql_code(text)
    params = find_params(code, {}, shell=False)
    return judge_sql(sql_text(code, params, {p.name: p.placeholders[0] for p in params}))


def raise_to(
    risk: Risk, reason: str, attribute: str | None, by: str = "the block's risk attribute"
) -> tuple[Risk, str]:
    """The inferred risk raised by the block's `risk=` attribute, or what `by` names (an action's `risk`); an
    unknown or lower one changes nothing."""
    try:
        wanted = Risk((attribute or "").strip().lower())
    except ValueError:
        return risk, reason
    if ORDER.index(wanted) > ORDER.index(risk):
        return wanted, f"{wanted.value}: raised by {by} (inferred {reason})"
    return risk, reason
