"""SQL steps of runbooks: statements split and filled, run on the `[postgres]` dsn with a statement timeout.

Reading statements run in a read-only transaction and their rows come back as a text table; any other statement
runs in one transaction. Values are quoted SQL literals (standard_conforming_strings on), never bare text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actions.base import ActionContext, Progress
from console.models import Outcome, OutcomeStatus
from console.models.postgres import CONSOLE_APPLICATION
from console.runbooks.params import Param, sql_regions, sql_text

STATEMENT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0
MAX_ROWS = 200
CELL = 60


def statements_text(command: str, params: tuple[Param, ...], values: Mapping[str, str]) -> str:
    """The step's SQL with psql meta-commands (`\\x`, `\\dt`) left out and every value quoted in place."""
    runnable = "\n".join(line for line in command.split("\n") if not line.lstrip().startswith("\\"))
    return sql_text(runnable, list(params), values)


def split(text: str) -> list[str]:
    """The statements of a text, split at semicolons outside literals, identifiers, comments and dollar quotes."""
    regions = sql_regions(text)
    found, start = [], 0
    for index, char in enumerate(text):
        if char == ";" and regions.at(index) == "plain":
            found.append(text[start:index])
            start = index + 1
    found.append(text[start:])
    return [s.strip() for s in found if s.strip() and _has_code(s)]


def _has_code(statement: str) -> bool:
    regions = sql_regions(statement)
    return any(not c.isspace() and regions.at(i) != "comment" for i, c in enumerate(statement))


async def run(ctx: ActionContext, statements: list[str], *, read_only: bool, progress: Progress) -> Outcome:
    import asyncpg

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
    return Outcome(status=OutcomeStatus.COMPLETED, message=f"{done} statement(s), {kind}")


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
