"""SQL steps of runbooks: statements filled, judged again, split and run on `[postgres]` with a statement timeout.

Reading statements run in a read-only transaction and their rows come back as a text table; any other statement
runs in one transaction, the only one: transaction control is refused in any step. Values are quoted SQL literals
(standard_conforming_strings on), never bare text. The judge and the splitter (`console.judge.sql`, pglast)
are imported when a step is planned, not when the console starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actions.base import ActionContext, ParamError, Progress
from actions.runner import ActionRefused
from console.judge.placeholders import Param, sql_text
from console.models import Outcome, OutcomeStatus, Risk, count
from console.models.postgres import CONSOLE_APPLICATION
from console.runbooks.risk import ORDER
from console.runbooks.session import sql_code

STATEMENT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0
MAX_ROWS = 200
CELL = 60


def statements_text(command: str, params: tuple[Param, ...], values: Mapping[str, str]) -> str:
    """The step's SQL with psql meta-commands (`\\x`, `\\dt`) left out and every value quoted in place."""
    return sql_text(sql_code(command), list(params), values)


def checked_statements(action: str, risk: Risk, text: str) -> list[str]:
    """The statements of a step's text with its values in place, refused (ParamError, ActionRefused) when that text
    judges riskier than the step, cannot be cut into whole statements, or holds transaction control."""
    from console.judge.sql import SqlTextError, judge_sql, split_statements

    judged, reason = judge_sql(text)
    if ORDER.index(judged) > ORDER.index(risk):
        raise ParamError(
            f"{action}: with these values the SQL judges {reason}, more than the step's {risk}; refused "
            f"(put {{ risk={judged} }} on the block's fence if that is meant)"
        )
    try:
        statements = split_statements(text)
    except SqlTextError as exc:
        raise ActionRefused(f"{action}: {exc}; nothing was run") from None
    refused = _transaction_refusal(statements)
    if refused:
        raise ActionRefused(f"{action}: {refused}; nothing was run")
    return statements


def _transaction_refusal(statements: list[str]) -> str | None:
    """Why the statements are refused when one of them is transaction control (COMMIT would end the runner's
    read-only transaction and run the rest outside it), else None."""
    from console.judge.sql import TRANSACTION_CONTROL, transaction_control

    for number, statement in enumerate(statements, 1):
        kind = transaction_control(statement)
        if kind:
            return f"statement {number}, `{kind}`, {TRANSACTION_CONTROL}"
    return None


async def run(ctx: ActionContext, statements: list[str], *, read_only: bool, progress: Progress) -> Outcome:
    import asyncpg

    refused = _transaction_refusal(statements)
    if refused:
        return Outcome(status=OutcomeStatus.FAILED, message=f"{refused}; nothing was run")
    if ctx.config.postgres is None:
        return Outcome(status=OutcomeStatus.FAILED, message="no [postgres] section in the config: nothing to run on")
    try:
        conn = await asyncpg.connect(
            ctx.config.postgres.dsn,
            timeout=CONNECT_TIMEOUT,
            command_timeout=STATEMENT_TIMEOUT + 2,
            server_settings={
                "application_name": CONSOLE_APPLICATION,
                "statement_timeout": str(int(STATEMENT_TIMEOUT * 1000)),
                "standard_conforming_strings": "on",
            },
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = ctx.redactor.text(str(exc) or type(exc).__name__)
        return Outcome(status=OutcomeStatus.FAILED, message=f"cannot connect to PostgreSQL: {reason}")
    done = 0
    try:
        async with conn.transaction(readonly=read_only):
            for statement in statements:
                if read_only:
                    records = await conn.fetch(statement)
                    for line in table(ctx, records):
                        progress.line(line)
                    progress.add("rows", len(records))
                else:
                    progress.line(await conn.execute(statement))
                done += 1
    except asyncpg.PostgresError as exc:
        kept = "rolled back" if done else "nothing changed"
        message = f"statement {done + 1} failed ({kept}): {ctx.redactor.text(str(exc))}"
        return Outcome(status=OutcomeStatus.FAILED, message=message)
    finally:
        await conn.close(timeout=CONNECT_TIMEOUT)
    kind = "read-only transaction" if read_only else "transaction committed"
    return Outcome(status=OutcomeStatus.COMPLETED, message=f"{count(done, 'statement')}, {kind}")


def table(ctx: ActionContext, records: list[Any]) -> list[str]:
    """Rows as an aligned text table (at most MAX_ROWS, long cells cut, secrets redacted)."""
    if not records:
        return ["(no rows)"]
    columns = list(records[0].keys())
    rows = [[_cell(ctx, value) for value in record.values()] for record in records[:MAX_ROWS]]
    widths = [max(len(str(c)), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    if len(records) > MAX_ROWS:
        lines.append(f"({len(records) - MAX_ROWS} more rows not shown)")
    return lines


def _cell(ctx: ActionContext, value: Any) -> str:
    text = "NULL" if value is None else ctx.redactor.text(" ".join(str(value).split()))
    return text if len(text) <= CELL else text[: CELL - 1] + "…"
