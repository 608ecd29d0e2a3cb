"""What a runbook's code block is, read from its fence and its context: shell, sql, a Redis flush, or text only shown
(config to paste into a file; SQL for a database that is not PostgreSQL), and why it is only shown."""

from __future__ import annotations

import re
import tomllib

from console.judge.shell import reads_as_shell
from console.runbooks import session
from console.runbooks.markdown import Block

SHELL = ("sh", "bash", "shell", "zsh", "console", "shell-session")
SQL = ("sql", "psql", "postgresql", "postgres", "pgsql")
# SQL for a database that is not PostgreSQL, named by a fence, a heading, prose or a command: never run on ours
OTHER_SQL = re.compile(
    r"\b(?:wrangler\s+d1|d1(?:_databases)?|sqlite\w*|mysql|mariadb|sql\s+server|mssql|clickhouse|bigquery|snowflake)\b",
    re.I,
)
POSTGRES = re.compile(r"\b(?:postgres\w*|psql|pg_\w+)\b", re.I)
_QUOTED = r"('[^'\n]*'|\"[^\"\n]*\"|[^\s|'\"]+)"
_FLUSH = (
    re.compile(
        r"redis-cli\b(?P<opts>[^|\n]*?)\s--scan\b[^|\n]*?--pattern[= ]\s*"
        + _QUOTED
        + r"[^|\n]*\|\s*xargs\b[^|\n]*\b(?:del|unlink)\b",
        re.I,
    ),
    re.compile(r"redis-cli\b(?P<opts>[^|\n]*?)\skeys\s+" + _QUOTED + r"\s*\|\s*xargs\b[^|\n]*\b(?:del|unlink)\b", re.I),
    re.compile(r"redis-cli\b(?P<opts>[^|\n]*?)\s(flushall|flushdb)\b", re.I),
)
_DB = re.compile(r"(?:^|\s)-n\s*(\d+)")


def kind_of(block: Block) -> str:
    """shell, sql or display, from the language (an untagged block is shell when its lines read as commands)."""
    if block.language in SHELL:
        return "shell"
    if block.language in SQL:
        return "sql"
    if not block.language and session.looks_like_commands(block.text):
        return "shell"
    return "display"


def not_postgres(block: Block, elsewhere: str) -> str:
    """Why an SQL block is not for PostgreSQL, the one database the console runs SQL on, or "" when it is. Fail
    closed: a block its fence, headings, prose or own text tie to another database (D1, SQLite, MySQL...) is shown,
    and so is an untagged ```sql block in a runbook that names another database anywhere, unless its context names
    PostgreSQL."""
    fix = "; the console runs SQL only on PostgreSQL"
    if block.language in SQL[1:]:
        return ""  # ```psql, ```postgresql...: said outright
    if OTHER_SQL.fullmatch(block.language):
        return f"a ```{block.language} block is not PostgreSQL SQL{fix}"
    where = (
        ("the heading", " / ".join(dict.fromkeys([*block.outline, block.section]))),
        ("the text before it", block.description),
        ("its SQL", block.text),
    )
    for place, text in where:
        other = OTHER_SQL.search(text)
        if other and not POSTGRES.search(text):
            return f"{place} names `{other.group()}`, not PostgreSQL{fix}"
    if elsewhere and not any(POSTGRES.search(text) for _, text in where):
        return (
            f"the runbook names {elsewhere}, a database that is not PostgreSQL, and this block does not say it is "
            f"for PostgreSQL (tag its fence ```postgresql to run it){fix}"
        )
    return ""


def config_text(text: str) -> bool:
    """A part of a shell block that is config to paste into a file (`# Add to wrangler.toml:` then `[[d1_databases]]`
    and its keys): not shell the parser can read, TOML with a table. Shown, never run."""
    if reads_as_shell(text) or not re.search(r"^\s*\[", text, re.M):
        return False
    try:
        return bool(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return False


def flush_of(line: str) -> tuple[str, int | None] | None:
    """(pattern, db) when a line deletes Redis keys by pattern or flushes a database, else None."""
    if line.lstrip().startswith("#"):
        return None
    for index, pattern in enumerate(_FLUSH):
        m = pattern.search(line)
        if m:
            db = _DB.search(m.group("opts"))
            glob = "*" if index == 2 else m.group(2).strip("'\"")
            return glob, int(db.group(1)) if db else None
    return None
