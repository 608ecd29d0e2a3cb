"""PostgreSQL source: one refresh of activity, connections, locks, size, cache and slow statements (no Textual).

A small asyncpg pool (1-2 connections) named `incident-console`, with `statement_timeout` set at connect so
every monitoring query is bounded on the server as well as here. A failure never raises: it becomes a DOWN
snapshot with the reason in words, and the pool is rebuilt on a later poll with a short backoff (capped so a
server that is back is seen within two refreshes).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import fields
from operator import attrgetter
from typing import Any
from urllib.parse import urlsplit

from console.clock import Clock
from console.config import Config, PostgresSettings
from console.models import State
from console.models.postgres import (
    CLIENT_BACKEND,
    CONSOLE_APPLICATION,
    OWN_BACKEND_SQL,
    PgSession,
    PgThresholds,
    PostgresSnapshot,
    SlowStatement,
    lock_tree,
)
from console.sources.base import Feed, Feeds

CONNECT_TIMEOUT = 3.0
BACKOFF_FIRST = 0.25
BACKOFF_MAX = 2.0
STATEMENTS_LIMIT = 50
MIN_POSTGRES = 100000
IDLE_STATES = ("idle", "idle in transaction", "idle in transaction (aborted)")
# Every monitoring query starts with this comment, so the console's own statements can be left out of
# pg_stat_statements' top list (pg_stat_statements keeps the comment in the normalised text).
MARK = "/* incident-console */"

SERVER_SQL = """/* incident-console */
SELECT current_setting('server_version') AS version,
       current_setting('server_version_num')::int AS version_num,
       current_user AS role,
       quote_ident(current_user) AS role_ident,
       current_database() AS database,
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats"""

# What each PgSession field is read from, over pg_stat_activity `a`. The query lists them in the dataclass's field
# order, so a row becomes a session positionally (`PgSession(*row)`): asyncpg decodes the typed columns in C and
# nothing is validated or looked up by name again (3,000 sessions: ~4 ms a refresh, against ~10 ms for one JSON
# array validated into models).
SESSION_COLUMNS = {
    "pid": "a.pid",
    "user": "a.usename",
    "database": "a.datname",
    "application": "coalesce(a.application_name, '')",
    "client": "coalesce(host(a.client_addr), 'local')",
    "state": "a.state",
    "wait_event_type": "a.wait_event_type",
    "wait_event": "a.wait_event",
    "backend_type": "coalesce(a.backend_type, '')",
    "xact_seconds": "extract(epoch FROM now() - a.xact_start)::float8",
    "query_seconds": "extract(epoch FROM now() - a.query_start)::float8",
    "state_seconds": "extract(epoch FROM now() - a.state_change)::float8",
    "query": "coalesce(a.query, '')",
    "blocked_by": "CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) ELSE '{}' END",
    "own": OWN_BACKEND_SQL,
}
# In display order, sorted by the server rather than by this process: client sessions first, busy before idle,
# longest first (the duration the activity table shows: query time when active, else time in the state), then
# by pid; server processes last.
SESSIONS_SQL = (
    "/* incident-console */\nSELECT "
    + ",\n       ".join(f'{SESSION_COLUMNS[f.name]} AS "{f.name}"' for f in fields(PgSession))
    + """
  FROM pg_stat_activity a
 ORDER BY coalesce(a.backend_type, '') <> 'client backend',
          a.state IS NOT DISTINCT FROM 'idle',
          coalesce(extract(epoch FROM now() - CASE WHEN a.state = 'active' THEN a.query_start
                                                   ELSE a.state_change END)::float8, 0) DESC,
          a.pid"""
)

DATABASE_SQL = """/* incident-console */
SELECT current_setting('max_connections')::int AS max_connections,
       pg_database_size(current_database()) AS size,
       d.blks_hit, d.blks_read,
       (SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements') AS statements_schema,
       (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload
  FROM pg_stat_database d
 WHERE d.datname = current_database()"""

# {schema}, {total} and {mean} are filled from the server's own quote_ident and a fixed pair of column names.
STATEMENTS_SQL = """/* incident-console */
SELECT s.queryid, min(s.query) AS query, sum(s.calls)::int8 AS calls, sum(s.{total})::float8 AS total_ms,
       (sum(s.{total}) / nullif(sum(s.calls), 0))::float8 AS mean_ms
  FROM {schema}.pg_stat_statements s
 WHERE s.queryid IS NOT NULL AND s.query NOT LIKE '/* incident-console */%'
 GROUP BY s.queryid
 ORDER BY mean_ms DESC NULLS LAST
 LIMIT $1"""


def statements_help(database: str, *, loaded: bool | None, created: bool) -> str:
    """The two steps that make pg_stat_statements available, saying which one is missing."""
    if loaded is False or (loaded is None and created):
        head = "pg_stat_statements is not loaded" + ("" if created else f" and not created in database {database}")
    elif loaded is None:
        head = f"pg_stat_statements is not created in database {database} (and may not be loaded)"
    else:
        head = f"pg_stat_statements is loaded but not created in database {database}"
    step1 = "1. in postgresql.conf set shared_preload_libraries = 'pg_stat_statements' and restart PostgreSQL" + (
        " (done)" if loaded else ""
    )
    step2 = f"2. in database {database} run: CREATE EXTENSION pg_stat_statements;" + (" (done)" if created else "")
    return f"{head}. {step1}; {step2}"


class PostgresSource:
    """Polls one PostgreSQL server; `poll()` never raises and never hangs past its timeouts."""

    def __init__(self, settings: PostgresSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.thresholds = PgThresholds(
            pool_warn_pct=settings.pool_warn_pct,
            pool_crit_pct=settings.pool_crit_pct,
            long_running_s=settings.long_running,
            idle_older_than_s=settings.idle_older_than,
            slow_query_ms=settings.slow_query_ms,
        )
        self._pool: Any = None
        self._server: dict[str, Any] | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._last_reason = ""
        self._previous: dict[int, tuple[int, float]] = {}
        self._previous_at: float | None = None
        self.poll_timeout = CONNECT_TIMEOUT + 4 * settings.statement_timeout + 1.0

    @property
    def where(self) -> str:
        """host:port/database of the DSN, without user or password."""
        parts = urlsplit(self.settings.dsn)
        database = parts.path.lstrip("/")
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}" + (f"/{database}" if database else "")

    async def poll(self) -> PostgresSnapshot:
        """One refresh. A DOWN snapshot with the reason when the server cannot be read."""
        now = time.monotonic()
        if self._pool is None and now < self._retry_at:
            return self._down(f"{self._last_reason} (retrying in {self._retry_at - now:.1f}s)")
        try:
            async with asyncio.timeout(self.poll_timeout):
                snapshot = await self._refresh()
        except Exception as exc:  # a source never raises into the UI
            await self._drop_pool()
            self._failures += 1
            self._retry_at = time.monotonic() + min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self._failures - 1))
            self._last_reason = self._describe(exc)
            return self._down(self._last_reason)
        self._failures = 0
        return snapshot

    async def close(self) -> None:
        await self._drop_pool()

    def _down(self, reason: str) -> PostgresSnapshot:
        return PostgresSnapshot(state=State.DOWN, reason=reason, thresholds=self.thresholds, taken_at=self.clock.now())

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return f"{self.where}: no answer within {self.poll_timeout:g}s"
        if isinstance(exc, ConnectionRefusedError):
            return f"{self.where}: connection refused (is PostgreSQL running?)"
        if isinstance(exc, OSError):
            return f"{self.where}: {exc.strerror or exc}"
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{self.where}: {text}"

    async def _ensure_pool(self) -> Any:
        if self._pool is None:
            import asyncpg

            self._pool = await asyncpg.create_pool(
                self.settings.dsn,
                min_size=1,
                max_size=2,
                timeout=CONNECT_TIMEOUT,
                command_timeout=self.settings.statement_timeout + 1.0,
                max_inactive_connection_lifetime=60.0,
                reset=_nothing_to_reset,
                server_settings={
                    "application_name": CONSOLE_APPLICATION,
                    "statement_timeout": str(int(self.settings.statement_timeout * 1000)),
                },
            )
        return self._pool

    async def _drop_pool(self) -> None:
        pool, self._pool, self._server = self._pool, None, None
        if pool is None:
            return
        try:
            async with asyncio.timeout(2.0):
                await pool.close()
        except Exception:  # a dead or stuck pool: cut it
            pool.terminate()

    async def _refresh(self) -> PostgresSnapshot:
        import asyncpg

        reused = self._pool is not None
        pool = await self._ensure_pool()
        try:
            async with pool.acquire() as conn:
                return await self._read(conn)
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError):
            if not reused:
                raise
        # the pool's connection died with the server it talked to (a restart): one fresh try
        await self._drop_pool()
        pool = await self._ensure_pool()
        async with pool.acquire() as conn:
            return await self._read(conn)

    async def _read(self, conn: Any) -> PostgresSnapshot:
        if self._server is None:
            self._server = dict(await conn.fetchrow(SERVER_SQL))
        server = self._server
        if server["version_num"] < MIN_POSTGRES:
            return PostgresSnapshot(
                state=State.UNKNOWN,
                reason=f"PostgreSQL {server['version']} is older than 10, which the console needs",
                server_version=server["version"],
                thresholds=self.thresholds,
                taken_at=self.clock.now(),
            )
        db = await conn.fetchrow(DATABASE_SQL)
        sessions = [PgSession(*row) for row in await conn.fetch(SESSIONS_SQL)]
        statements, statements_status = await self._statements(conn, db, server)
        privileged = bool(server["superuser"] or server["read_all_stats"])
        return self._snapshot(server, privileged, sessions, db, statements, statements_status)

    async def _statements(self, conn: Any, db: Any, server: dict) -> tuple[list[SlowStatement], str | None]:
        import asyncpg

        preload = db["preload"]
        loaded = None if preload is None else "pg_stat_statements" in preload
        if db["statements_schema"] is None:
            return [], statements_help(server["database"], loaded=loaded, created=False)
        new = server["version_num"] >= 130000
        sql = STATEMENTS_SQL.format(
            schema=db["statements_schema"],
            total="total_exec_time" if new else "total_time",
        )
        try:
            rows = await conn.fetch(sql, STATEMENTS_LIMIT)
        except asyncpg.ObjectNotInPrerequisiteStateError:
            return [], statements_help(server["database"], loaded=False, created=True)
        return self._rates(rows), None

    def _rates(self, rows: list[Any]) -> list[SlowStatement]:
        """Calls/s and ms/s since the previous refresh; unknown (None) for new entries and after a reset."""
        now = time.monotonic()
        elapsed = now - self._previous_at if self._previous_at is not None else 0.0
        out: list[SlowStatement] = []
        current: dict[int, tuple[int, float]] = {}
        for row in rows:
            calls, total = int(row["calls"]), float(row["total_ms"] or 0.0)
            current[row["queryid"]] = (calls, total)
            before = self._previous.get(row["queryid"])
            calls_rate = time_rate = None
            if before is not None and elapsed > 0 and calls >= before[0] and total >= before[1]:
                calls_rate = (calls - before[0]) / elapsed
                time_rate = (total - before[1]) / elapsed
            out.append(
                SlowStatement(
                    queryid=row["queryid"],
                    query=row["query"] or "",
                    calls=calls,
                    total_ms=total,
                    mean_ms=float(row["mean_ms"] or 0.0),
                    calls_per_s=calls_rate,
                    time_per_s=time_rate,
                )
            )
        self._previous, self._previous_at = current, now
        return out

    def _snapshot(
        self,
        server: dict,
        privileged: bool,
        sessions: list[PgSession],
        db: Any,
        statements: list[SlowStatement],
        statements_status: str | None,
    ) -> PostgresSnapshot:
        t = self.thresholds
        clients = [s for s in sessions if s.backend_type == CLIENT_BACKEND]
        # counted in C (Counter over attrgetter), then named: 3,000 sessions cost no Python loop here
        connections: dict[str, int] = dict.fromkeys(("active", *IDLE_STATES[:2]), 0)
        for state, n in Counter(map(attrgetter("state"), clients)).items():
            connections[state or "hidden"] = connections.get(state or "hidden", 0) + n
        connections["waiting"] = sum(map(bool, map(attrgetter("blocked_by"), clients)))
        by_client = Counter(map(attrgetter("client"), clients))
        by_application: dict[str, int] = {}
        for app, n in Counter(map(attrgetter("application"), clients)).items():
            by_application[app or "(none)"] = by_application.get(app or "(none)", 0) + n
        hit, read = db["blks_hit"] or 0, db["blks_read"] or 0
        return PostgresSnapshot(
            state=State.OK,
            server_version=server["version"],
            server_version_num=server["version_num"],
            role=server["role"],
            superuser=server["superuser"],
            privileged=privileged,
            database=server["database"],
            max_connections=db["max_connections"],
            connections=connections,
            by_client=_descending(by_client),
            by_application=_descending(by_application),
            sessions=sessions,
            long_running=[
                s for s in clients if s.state == "active" and not s.own and (s.query_seconds or 0) > t.long_running_s
            ],
            idle_over_threshold=[
                s
                for s in clients
                if s.state in IDLE_STATES and not s.own and (s.state_seconds or 0) > t.idle_older_than_s
            ],
            locks=lock_tree(sessions),
            db_size_bytes=db["size"],
            cache_hit_pct=100.0 * hit / (hit + read) if hit + read else None,
            cache_blocks=hit + read,
            statements=statements,
            missing_grant=None if privileged else f"GRANT pg_read_all_stats TO {server['role_ident']};",
            statements_status=statements_status,
            thresholds=t,
            taken_at=self.clock.now(),
        ).judged()


async def _nothing_to_reset(_: Any) -> None:
    """The pool's default reset on release (unlock, CLOSE ALL, UNLISTEN, RESET ALL) is one more round trip per
    refresh; monitoring queries leave nothing in the session to undo."""


def _descending(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def build(config: Config, clock: Clock, feeds: Feeds) -> None:
    """The `[postgres]` source, polled on the console's refresh."""
    assert config.postgres is not None
    source = PostgresSource(config.postgres, clock)
    feeds.closers.append(source.close)
    timeout = config.postgres.statement_timeout * 4 + 5
    # until console/sources/base.py (the registry rework) lets a Feed be a Source: frozen, poll awaitable
    feeds.polled.append(Feed("postgres", config.console.refresh, timeout, source.poll))
