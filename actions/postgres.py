"""PostgreSQL actions: kill idle sessions, cancel a query, terminate a backend (plan -> preview -> execute).

Every plan lists exactly the sessions it will touch, with the timestamp that identifies each one's planned
state (state_change for kill-idle, query_start for cancel, backend_start for terminate). Execute sends ONE
statement that re-checks that stamp for every planned pid and signals only the ones that still match, never
the console's own backend, another incident-console session, or a non-client backend, and only where the
role may (a non-superuser cannot signal a superuser's backend): the rest are reported, not attempted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from actions.base import Action, ActionContext, ParamError, Progress
from actions.runner import ActionRefused
from console.models import ConfirmLevel, Outcome, OutcomeStatus, Plan, Risk, count, format_duration
from console.models.postgres import CLIENT_BACKEND, CONSOLE_APPLICATION, OWN_BACKEND_SQL
from console.timeparse import parse_duration

CONNECT_TIMEOUT = 5.0
STATEMENT_TIMEOUT_MS = 10_000
MANY_SESSIONS = 10
QUERY_CHARS = 200


SESSIONS_SQL = """
SELECT a.pid, a.usename AS "user", a.datname AS database, coalesce(a.application_name, '') AS application,
       coalesce(host(a.client_addr), 'local') AS client, a.state, coalesce(a.backend_type, '') AS backend_type,
       extract(epoch FROM now() - a.state_change)::float8 AS state_seconds,
       extract(epoch FROM now() - a.query_start)::float8 AS query_seconds,
       coalesce(a.query, '') AS query, a.state_change, a.query_start, a.backend_start,
       """ + OWN_BACKEND_SQL + """ AS own
  FROM pg_stat_activity a
"""

KILL_IDLE_SQL = (
    SESSIONS_SQL
    + """
 WHERE a.backend_type = 'client backend'
   AND NOT """ + OWN_BACKEND_SQL + """
   AND a.state = ANY($1::text[])
   AND a.state_change < now() - make_interval(secs => $2)
   AND ($3::text IS NULL OR a.datname = $3)
   AND ($4::text IS NULL OR a.usename = $4)
   AND ($5::text IS NULL OR a.application_name = $5)
 ORDER BY a.state_change, a.pid"""
)

PIDS_SQL = SESSIONS_SQL + " WHERE a.pid = ANY($1::int[]) ORDER BY a.pid"

# One statement: classify every planned pid and signal only those that still match and may be signalled.
# {signal} is pg_terminate_backend or pg_cancel_backend; {still} the planned-state test (both fixed text).
SIGNAL_SQL = """
WITH planned AS (
    SELECT * FROM unnest($1::int[], $2::timestamptz[]) AS p(pid, stamp)
), me AS (
    SELECT coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS super,
           pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS signaller
), seen AS (
    SELECT p.pid, a.pid IS NOT NULL AS present, a.usesysid,
           (a.backend_type = 'client backend' AND NOT """ + OWN_BACKEND_SQL + """ AND {still}) AS matches,
           coalesce(r.rolsuper, false) AS target_super, a.usename
      FROM planned p
      LEFT JOIN pg_stat_activity a ON a.pid = p.pid
      LEFT JOIN pg_roles r ON r.oid = a.usesysid
)
SELECT s.pid,
       CASE WHEN NOT s.present THEN 'skipped: gone'
            WHEN NOT coalesce(s.matches, false) THEN 'skipped: {changed}'
            WHEN s.target_super AND NOT me.super
                 THEN 'failed: insufficient privilege: a superuser''s backend, only a superuser may signal it'
            WHEN NOT me.super AND NOT me.signaller AND NOT pg_has_role(current_user, s.usesysid, 'USAGE')
                 THEN 'failed: insufficient privilege: needs pg_signal_backend or membership in role '
                      || quote_ident(s.usename)
            WHEN {signal}(s.pid) THEN 'ok'
            ELSE 'failed: the server could not signal it'
       END AS outcome
  FROM seen s CROSS JOIN me
 ORDER BY s.pid"""


def _query_text(ctx: ActionContext, query: str) -> str:
    flat = " ".join(ctx.redactor.text(query).split())
    return flat if len(flat) <= QUERY_CHARS else flat[: QUERY_CHARS - 1] + "…"


def _columns(age_label: str) -> list[str]:
    return ["pid", "user", "database", "application", "client", "state", age_label, "last query"]


def _row(ctx: ActionContext, s: Any) -> list[str]:
    return [
        str(s["pid"]),
        s["user"] or "",
        s["database"] or "",
        s["application"],
        s["client"],
        s["state"] or "",
        format_duration(max(0.0, s["state_seconds"] or 0.0)),
        _query_text(ctx, s["query"]),
    ]


async def _connect(ctx: ActionContext) -> Any:
    import asyncpg

    if ctx.config.postgres is None:
        raise ParamError("no [postgres] section in the config: nothing to act on")
    return await asyncpg.connect(
        ctx.config.postgres.dsn,
        timeout=CONNECT_TIMEOUT,
        command_timeout=STATEMENT_TIMEOUT_MS / 1000 + 2,
        server_settings={"application_name": CONSOLE_APPLICATION, "statement_timeout": str(STATEMENT_TIMEOUT_MS)},
    )


async def _fetch(ctx: ActionContext, sql: str, *args: Any) -> list[Any]:
    """Run one statement on a fresh connection; an unreachable server refuses the action in one clear line."""
    import asyncpg

    try:
        conn = await _connect(ctx)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        where = urlsplit(ctx.config.postgres.dsn) if ctx.config.postgres else None
        target = f"{where.hostname}:{where.port or 5432}" if where else "PostgreSQL"
        raise ActionRefused(
            f"cannot connect to {target}: {ctx.redactor.text(str(exc) or type(exc).__name__)}"
        ) from None
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close(timeout=CONNECT_TIMEOUT)


def _confirm(ctx: ActionContext, count: int) -> tuple[ConfirmLevel, str | None, str]:
    """Typed confirmation of the environment for many sessions in a production-like environment, else yes/no."""
    if count == 0:
        return ConfirmLevel.NONE, None, ""
    if count >= MANY_SESSIONS and ctx.config.console.is_production:
        return ConfirmLevel.TYPED, ctx.environment, f"{count} sessions in {ctx.environment}"
    return ConfirmLevel.YES, None, ""


class _SignalAction(Action):
    """Execute shared by all three: one re-checking statement, outcomes counted and explained."""

    signal_function: ClassVar[str]
    still_matches: ClassVar[str]
    changed_reason: ClassVar[str]
    done_key: ClassVar[str]

    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        pids: list[int] = plan.detail.get("pids", [])
        stamps = [datetime.fromisoformat(s) for s in plan.detail.get("stamps", [])]
        progress.set_total(len(pids))
        if not pids:
            return Outcome(status=OutcomeStatus.COMPLETED, message="nothing to do", counts={self.done_key: 0})
        if progress.cancelled.is_set():
            return Outcome(status=OutcomeStatus.CANCELLED, message="cancelled before anything was sent")
        sql = SIGNAL_SQL.format(signal=self.signal_function, still=self.still_matches, changed=self.changed_reason)
        rows = await _fetch(ctx, sql, pids, stamps, *plan.detail.get("args", []))
        counts = {self.done_key: 0, "skipped": 0, "failed": 0}
        for row in rows:
            outcome: str = row["outcome"]
            if outcome == "ok":
                counts[self.done_key] += 1
                continue
            kind, _, reason = outcome.partition(": ")
            counts[kind] += 1
            progress.line(f"pid {row['pid']}: {kind}: {reason}")
        for key, n in counts.items():
            progress.add(key, n)
        message = f"{self.done_key} {counts[self.done_key]} of {len(pids)} planned sessions"
        status = OutcomeStatus.FAILED if counts["failed"] and not counts[self.done_key] else OutcomeStatus.COMPLETED
        return Outcome(status=status, message=message, counts=counts)


class KillIdleParams(BaseModel):
    older_than: float | None = Field(None, description='idle for longer than this, e.g. "1h" (default [postgres])')
    include_idle_in_transaction: bool = Field(False, description="also sessions idle inside a transaction")
    database: str | None = Field(None, description="only sessions on this database")
    user: str | None = Field(None, description="only sessions of this role")
    application: str | None = Field(None, description="only sessions with this application_name")

    @field_validator("older_than", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value


class KillIdle(_SignalAction):
    """Terminate client sessions idle longer than a threshold, except the console's own."""

    name = "kill-idle"
    risk = Risk.DESTRUCTIVE
    description = "terminate idle client sessions older than a threshold (never the console's own)"
    Params = KillIdleParams
    signal_function = "pg_terminate_backend"
    still_matches = "a.state = ANY($3::text[]) AND a.state_change = p.stamp"
    changed_reason = "ran a query since the preview"
    done_key = "terminated"

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        assert isinstance(params, KillIdleParams)
        settings = ctx.config.postgres
        older_than = params.older_than if params.older_than is not None else settings.idle_older_than if settings else 0
        states = ["idle"] + (
            ["idle in transaction", "idle in transaction (aborted)"] if params.include_idle_in_transaction else []
        )
        rows = await _fetch(ctx, KILL_IDLE_SQL, states, older_than, params.database, params.user, params.application)
        scope = ", ".join(
            f"{label} {value}"
            for label, value in (
                ("database", params.database),
                ("user", params.user),
                ("application", params.application),
            )
            if value
        )
        kinds = " or ".join(states)
        summary = (
            f"kill-idle on {ctx.environment}: terminate {count(len(rows), 'session')} {kinds} for more than "
            f"{format_duration(older_than)}" + (f" ({scope})" if scope else "")
        )
        confirm, text, reason = _confirm(ctx, len(rows))
        return Plan(
            action=self.name,
            risk=self.risk,
            params={**params.model_dump(mode="json"), "older_than": older_than},
            summary=summary,
            columns=_columns("idle for"),
            rows=[_row(ctx, r) for r in rows],
            notes=[
                "a session that runs a query before you confirm is skipped, not terminated",
                "never this console's own sessions, replication or other non-client backends",
            ],
            confirm=confirm,
            confirm_text=text,
            confirm_reason=reason,
            detail={
                "pids": [r["pid"] for r in rows],
                "stamps": [r["state_change"].isoformat() for r in rows],
                "args": [states],
            },
        )


class PidParams(BaseModel):
    pid: list[int] = Field(description="backend pid, or several separated by commas")

    @field_validator("pid", mode="before")
    @classmethod
    def _pids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value if isinstance(value, list) else [value]


class _PidAction(_SignalAction):
    """cancel-query / terminate: the named backends, refused when they are the console's own or not clients."""

    verb: ClassVar[str]
    stamp_column: ClassVar[str]

    def usable(self, session: Any) -> str | None:
        """Why this session cannot be a target, or None."""
        if session["own"]:
            return "is this console's own session"
        if session["backend_type"] != CLIENT_BACKEND:
            return f"is a {session['backend_type'] or 'server'} process, not a client session"
        return None

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        assert isinstance(params, PidParams)
        wanted = list(dict.fromkeys(params.pid))
        found = await _fetch(ctx, PIDS_SQL, wanted)
        by_pid = {r["pid"]: r for r in found}
        missing = [p for p in wanted if p not in by_pid]
        if missing:
            raise ParamError(f"{self.name}: no backend with pid {', '.join(map(str, missing))}")
        notes: list[str] = []
        targets = []
        for pid in wanted:
            why = self.usable(by_pid[pid])
            if why:
                notes.append(f"pid {pid} {why}: left alone")
            else:
                targets.append(by_pid[pid])
        if not targets:
            raise ParamError(f"{self.name}: refused: " + "; ".join(notes))
        confirm, text, reason = _confirm(ctx, len(targets))
        pids = ", ".join(str(t["pid"]) for t in targets)
        return Plan(
            action=self.name,
            risk=self.risk,
            params={"pid": [t["pid"] for t in targets]},
            summary=f"{self.name} on {ctx.environment}: {self.verb} pid {pids}",
            columns=_columns("in state for"),
            rows=[_row(ctx, t) for t in targets],
            notes=notes,
            confirm=confirm,
            confirm_text=text,
            confirm_reason=reason,
            detail={
                "pids": [t["pid"] for t in targets],
                "stamps": [t[self.stamp_column].isoformat() for t in targets],
            },
        )


class CancelQuery(_PidAction):
    """Cancel the running query of a backend; the session stays connected."""

    name = "cancel-query"
    risk = Risk.WRITE
    description = "cancel the query a backend is running (the session stays)"
    Params = PidParams
    verb = "cancel the running query of"
    signal_function = "pg_cancel_backend"
    stamp_column = "query_start"
    still_matches = "a.state = 'active' AND a.query_start = p.stamp"
    changed_reason = "the planned query already finished"
    done_key = "cancelled"

    def usable(self, session: Any) -> str | None:
        return super().usable(session) or (
            None if session["state"] == "active" else f"is {session['state'] or 'not visible'}: no query to cancel"
        )


class Terminate(_PidAction):
    """Terminate a backend: its transaction rolls back and its client is disconnected."""

    name = "terminate"
    risk = Risk.DESTRUCTIVE
    description = "terminate a backend (rolls back its transaction, disconnects its client)"
    Params = PidParams
    verb = "terminate"
    signal_function = "pg_terminate_backend"
    stamp_column = "backend_start"
    still_matches = "a.backend_start = p.stamp"
    changed_reason = "the pid now belongs to another session"
    done_key = "terminated"


def postgres_actions() -> list[Action]:
    """The built-in PostgreSQL actions, offered when the config has [postgres]."""
    return [KillIdle(), CancelQuery(), Terminate()]
