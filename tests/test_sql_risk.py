"""SQL judged by PostgreSQL's own parser: hostile SQL fails closed, the runbooks' own reads stay read."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest

from console.demo.servers import PostgresServer
from console.judge.sql import (
    READ_FUNCTIONS,
    SIDE_EFFECTS,
    SqlTextError,
    judge_sql,
    split_statements,
    transaction_control,
)
from console.models import Risk

CONTROL = "is transaction control, refused in a runbook step (the runner's one transaction is the only one)"
PSQL_HINT = "(a psql variable such as :'name' is not SQL: write a placeholder such as <name>)"

# From the team's runbooks: these must stay read (they run in a read-only transaction, no confirmation).
RUNBOOK_READS = (
    "SELECT version();",
    "SELECT count(*) FROM pg_stat_activity;",
    "SELECT pg_size_pretty(pg_database_size(current_database()));",
    "SELECT pid, now() - pg_stat_activity.query_start AS duration, query FROM pg_stat_activity"
    " WHERE (now() - pg_stat_activity.query_start) > interval '5 minutes';",
    "SELECT schemaname, tablename, indexname, idx_tup_read, idx_tup_fetch FROM pg_stat_user_indexes"
    " ORDER BY idx_tup_read DESC;",
    "SELECT count(*), state FROM pg_stat_activity GROUP BY state;",
    "SELECT query, calls, total_exec_time, mean_exec_time FROM pg_stat_statements ORDER BY mean_exec_time DESC"
    " LIMIT 10;",
    "SELECT * FROM pg_locks WHERE NOT granted;",
    "SELECT relname, n_dead_tup FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 10;",
    "SELECT pg_is_in_recovery();",
    "SELECT now() - pg_last_xact_replay_timestamp() AS lag;",
    "SELECT datname, numbackends FROM pg_stat_database;",
    'SELECT * FROM "_prisma_migrations" ORDER BY finished_at DESC LIMIT 5;',
    "EXPLAIN SELECT * FROM pg_class",
    "EXPLAIN ANALYZE SELECT count(*) FROM pg_class",  # runs only the SELECT, which is judged as if it ran
    "SHOW work_mem",
    "TABLE t",
    "VALUES (1)",
    "SELECT pg_catalog.now(), extract(epoch FROM now()), coalesce(NULL, 1), current_user, 'x'::regclass",
    "SELECT a.pid, pg_blocking_pids(a.pid), pg_stat_get_backend_pid(1), has_table_privilege('t', 'select')"
    " FROM pg_stat_activity a, LATERAL (SELECT max(x) FROM generate_series(1, 3) x) m",
    "SELECT 1; SELECT 2; -- two reads",
)


@pytest.mark.parametrize("sql", RUNBOOK_READS)
def test_reading_sql_is_read(sql: str) -> None:
    assert judge_sql(sql) == (Risk.READ, "read: only reading statements")


@pytest.mark.parametrize(
    ("sql", "risk", "reason"),
    [
        # a split COMMIT ended the read-only transaction and the rest ran outside it
        ("SELECT 1; COMMIT; ALTER ROLE app SUPERUSER", Risk.DESTRUCTIVE, f"`COMMIT` {CONTROL}"),
        ("BEGIN", Risk.DESTRUCTIVE, f"`BEGIN` {CONTROL}"),
        ("end", Risk.DESTRUCTIVE, f"`COMMIT` {CONTROL}"),
        ("SELECT 1; ROLLBACK TO SAVEPOINT s", Risk.DESTRUCTIVE, f"`ROLLBACK TO` {CONTROL}"),
        ("PREPARE TRANSACTION 'x'", Risk.DESTRUCTIVE, f"`PREPARE TRANSACTION` {CONTROL}"),
        ("SET TRANSACTION READ WRITE", Risk.DESTRUCTIVE, f"`SET TRANSACTION` {CONTROL}"),
        ("DELETE FROM t; COMMIT", Risk.DESTRUCTIVE, f"`COMMIT` {CONTROL}"),  # refusal outranks the write
        # side-effect functions PostgreSQL runs even in a read-only transaction
        ("select pg_reload_conf()", Risk.DESTRUCTIVE, "calls pg_reload_conf()"),
        ("select pg_catalog.pg_reload_conf()", Risk.DESTRUCTIVE, "calls pg_catalog.pg_reload_conf()"),
        ('select "pg_reload_conf"()', Risk.DESTRUCTIVE, "calls pg_reload_conf()"),
        ("select pg_stat_reset()", Risk.DESTRUCTIVE, "calls pg_stat_reset()"),
        ("select pg_stat_statements_reset()", Risk.DESTRUCTIVE, "calls pg_stat_statements_reset()"),
        ("select pg_drop_replication_slot('s')", Risk.DESTRUCTIVE, "calls pg_drop_replication_slot()"),
        ("select lo_import('/etc/passwd')", Risk.DESTRUCTIVE, "calls lo_import()"),
        ("select pg_terminate_backend(42)", Risk.DESTRUCTIVE, "calls pg_terminate_backend()"),
        ('select U&"pg_\\0074erminate_backend"(pid) from pg_stat_activity', Risk.DESTRUCTIVE, None),
        (
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle'"
            " AND query_start < now() - interval '1 hour';",
            Risk.DESTRUCTIVE,
            "calls pg_terminate_backend()",
        ),
        ("select nextval('s')", Risk.DESTRUCTIVE, "calls nextval()"),
        ("select set_config('x', 'y', false)", Risk.DESTRUCTIVE, "calls set_config()"),
        ("select txid_current()", Risk.DESTRUCTIVE, "calls txid_current()"),
        ("select 1 from (select pg_advisory_lock(1)) s", Risk.DESTRUCTIVE, "calls pg_advisory_lock()"),
        ("select * from generate_series(1, 2) g, lateral (select pg_cancel_backend(g)) c", Risk.DESTRUCTIVE, None),
        ("select query_to_xml('delete from t', true, true, '')", Risk.DESTRUCTIVE, "which runs the SQL text"),
        ("select pg_read_file('postgresql.conf')", Risk.DESTRUCTIVE, "which puts the server's files on the screen"),
        ("select * from pg_ls_dir('.')", Risk.DESTRUCTIVE, "calls pg_ls_dir()"),
        # statements that are not reads
        ("select * from t for update", Risk.DESTRUCTIVE, "`FOR UPDATE` locks rows"),
        ("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", Risk.DESTRUCTIVE, "`DELETE` writes to the database"),
        ("SELECT * INTO copy FROM t", Risk.DESTRUCTIVE, "`SELECT INTO` creates a table"),
        ("EXPLAIN ANALYZE DELETE FROM t", Risk.DESTRUCTIVE, "`DELETE` writes to the database"),
        ("SET work_mem = '1GB'", Risk.DESTRUCTIVE, "`SET` is not a reading statement"),
        ("DO $$ BEGIN PERFORM 1; END $$", Risk.DESTRUCTIVE, "`DO` is not a reading statement"),
        ("CALL p()", Risk.DESTRUCTIVE, "`CALL` is not a reading statement"),
        ("VACUUM ANALYZE;", Risk.WRITE, "`VACUUM` reclaims space and updates statistics, changing no row"),
        ("ANALYZE;", Risk.WRITE, "`ANALYZE` updates the planner's statistics, changing no row"),
        ("VACUUM (FULL, ANALYZE) t;", Risk.DESTRUCTIVE, "`VACUUM` writes to the database"),  # a rewrite under a lock
        ("VACUUM (FULL false) t;", Risk.DESTRUCTIVE, "`VACUUM` writes"),  # any FULL: fail closed
        ("REINDEX DATABASE x;", Risk.DESTRUCTIVE, "`REINDEX` writes to the database"),
        ("ALTER ROLE app SUPERUSER", Risk.DESTRUCTIVE, "`ALTER ROLE` writes to the database"),
        ("SELECT 1; CREATE TABLE t (a int)", Risk.DESTRUCTIVE, "`CREATE TABLE` writes to the database"),
        (
            "DELETE FROM \"_prisma_migrations\" WHERE migration_name = '20240101_x';",
            Risk.DESTRUCTIVE,
            "`DELETE` writes to the database",
        ),
        # not judged a read: fail closed
        ('select "PG_RELOAD_CONF"()', Risk.WRITE, "calls an unknown function PG_RELOAD_CONF(): not judged a read"),
        ("select public.pg_size_pretty(1)", Risk.WRITE, "unknown function public.pg_size_pretty()"),
        ("select my_cleanup()", Risk.WRITE, "calls an unknown function my_cleanup(): not judged a read"),
        ('select U&"\\001b[2J"()', Risk.WRITE, "unknown function \\x1b[2J()"),  # no escape reaches the screen
        ("selec 1", Risk.WRITE, 'cannot parse: syntax error at or near "selec" at line 1'),
        ("SELECT 1;\nSELECT * FROM t WHERE id = :'id'", Risk.WRITE, f'near ":" at line 2 {PSQL_HINT}'),
        ("-- nothing but a comment", Risk.WRITE, "holds no statement to judge"),
    ],
)
def test_hostile_sql_is_never_read(sql: str, risk: Risk, reason: str | None) -> None:
    judged, why = judge_sql(sql)
    assert judged is risk, why
    assert why.startswith(f"{risk}: ") and "\n" not in why
    assert reason is None or reason in why


def test_the_lists_never_overlap() -> None:
    assert not READ_FUNCTIONS & SIDE_EFFECTS
    assert all(judge_sql(f"select {name}()")[0] is Risk.DESTRUCTIVE for name in SIDE_EFFECTS)


def test_every_read_function_is_a_real_postgresql_function(pg_server: PostgresServer) -> None:
    """A typo in the allowlist would let nothing through, but it would also hide the function it meant."""

    async def names() -> tuple[int, set[str]]:
        conn = await asyncpg.connect(pg_server.dsn)
        try:
            version = int(await conn.fetchval("SHOW server_version_num"))
            return version, {row[0] for row in await conn.fetch("SELECT DISTINCT proname::text FROM pg_proc")}
        finally:
            await conn.close()

    version, found = asyncio.run(names())
    newer = {"date_bin", "regexp_like", "regexp_count", "regexp_substr"} if version < 150000 else set()
    assert READ_FUNCTIONS - found - newer == set()


def test_statements_are_split_by_the_scanner_as_written() -> None:
    text = "SELECT ';' AS a; /* b */ SELECT $$;$$ AS b;\n-- the end\n"
    assert split_statements(text) == ["SELECT ';' AS a", "/* b */ SELECT $$;$$ AS b"]
    assert split_statements("SELECT 1; COMMIT; ALTER ROLE app SUPERUSER") == [
        "SELECT 1",
        "COMMIT",
        "ALTER ROLE app SUPERUSER",
    ]
    assert split_statements("select 'é';;select 2") == ["select 'é'", "select 2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1; SELECT (2", "`SELECT (2` at line 1 is not a whole statement"),  # the scanner dropped it
        ("SELECT 1;\n'x';", "`'x'` at line 2 is not a whole statement"),
        ("SELECT 'open", 'unterminated quoted string at or near "\'open" at line 1'),
    ],
)
def test_text_that_is_not_whole_statements_is_refused_not_dropped(text: str, message: str) -> None:
    with pytest.raises(SqlTextError, match="^" + re.escape(message)):
        split_statements(text)


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("COMMIT", "COMMIT"),
        ("commit and chain", "COMMIT"),
        ("/* x */ START TRANSACTION READ WRITE", "START TRANSACTION"),
        ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "SET SESSION CHARACTERISTICS"),
        ("COMMIT some_future_syntax", "COMMIT"),  # the parser cannot read it; the scanner still knows the word
        ("set transaction some_future_syntax", "SET TRANSACTION"),
        ("SELECT 'COMMIT'", None),
        ("SET work_mem = '1GB'", None),
    ],
)
def test_transaction_control_is_named(statement: str, kind: str | None) -> None:
    assert transaction_control(statement) == kind
