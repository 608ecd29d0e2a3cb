"""What one PostgreSQL refresh saw: sessions, connections, locks, slow statements, and the checks derived from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import ClassVar

from pydantic import BaseModel, Field, computed_field

from console.models import Check, State, format_duration, utc_now

CONSOLE_APPLICATION = "incident-console"
# The one "own backend" predicate over pg_stat_activity `a`: this connection, or any incident-console session.
# Monitoring shows such sessions as the console's; actions never plan or signal them.
OWN_BACKEND_SQL = f"(a.pid = pg_backend_pid() OR a.application_name IS NOT DISTINCT FROM '{CONSOLE_APPLICATION}')"
CLIENT_BACKEND = "client backend"
CACHE_HIT_WARN_PCT = 95.0
CACHE_HIT_CRIT_PCT = 90.0
CACHE_MIN_BLOCKS = 10_000  # below this many block reads + hits (a fresh or just restarted server), no verdict
# What a triage look step may ask of the PostgreSQL pane instead of a filter (a regular expression on the sessions).
LOOK_PRESETS = {
    "blocked": "the Locks tab: who waits on whom, and the top blocker",
    "long": "the sessions, longest-running first",
    "idle": "the idle sessions (in a transaction too), longest first",
}


def short_age(seconds: float | None) -> str:
    """Compact age for narrow table cells: 850ms, 42s, 4m05s, 2h10m, 3d04h; '' when unknown."""
    return format_duration(seconds, compact=True)


class PgThresholds(BaseModel):
    """The `[postgres]` thresholds a snapshot was judged by (carried along so checks() needs no config)."""

    pool_warn_pct: float = 80
    pool_crit_pct: float = 95
    long_running_s: float = 300
    idle_older_than_s: float = 3600
    slow_query_ms: float = 100


@dataclass(slots=True)
class PgSession:
    """One row of pg_stat_activity. Durations are seconds; None where the server does not say.

    A plain dataclass, not a validated model: the source builds one per session per refresh straight from the
    typed columns of its query (3,000 sessions: about 1 ms, against 8 ms validating them as pydantic models); a
    snapshot still validates, dumps and copies it as a model's field.
    """

    pid: int
    user: str | None = None
    database: str | None = None
    application: str = ""
    client: str = ""
    state: str | None = None
    wait_event_type: str | None = None
    wait_event: str | None = None
    backend_type: str = CLIENT_BACKEND
    xact_seconds: float | None = None
    query_seconds: float | None = None
    state_seconds: float | None = None
    query: str = ""
    blocked_by: list[int] = field(default_factory=list)
    own: bool = False

    @property
    def is_client(self) -> bool:
        return self.backend_type == CLIENT_BACKEND

    @property
    def killable(self) -> bool:
        """Whether the console may offer to cancel or terminate it (never its own or a non-client backend)."""
        return self.is_client and not self.own

    @property
    def hidden(self) -> bool:
        """The role lacks the privilege to see this session's state and query."""
        return self.query == "<insufficient privilege>"

    @property
    def waiting(self) -> bool:
        return bool(self.blocked_by)

    @property
    def duration_seconds(self) -> float | None:
        """What the activity table shows: query time when active, else time in the current state."""
        return self.query_seconds if self.state == "active" else self.state_seconds

    @property
    def wait_text(self) -> str:
        if self.wait_event_type and self.wait_event:
            return f"{self.wait_event_type}:{self.wait_event}"
        return self.wait_event or ""

    def detail_lines(self) -> list[str]:
        """Every field, then the full query: for the detail screen."""
        blocked = ", ".join(map(str, self.blocked_by)) or "-"
        lines = [
            f"pid            {self.pid}{'  (this console)' if self.own else ''}",
            f"user           {self.user or '-'}",
            f"database       {self.database or '-'}",
            f"application    {self.application or '-'}",
            f"client         {self.client or '-'}",
            f"backend        {self.backend_type}",
            f"state          {self.state or '(hidden)'}",
            f"wait event     {self.wait_text or '-'}",
            f"transaction    {short_age(self.xact_seconds) or '-'}",
            f"query running  {short_age(self.query_seconds) or '-'}",
            f"in state       {short_age(self.state_seconds) or '-'}",
            f"blocked by     {blocked}",
            "",
        ]
        return lines + (self.query.splitlines() or ["(no query)"])


class LockNode(BaseModel):
    """A session in the lock tree and the sessions waiting on it."""

    session: PgSession
    waiters: list[LockNode] = Field(default_factory=list)

    def count(self) -> int:
        return 1 + sum(w.count() for w in self.waiters)


PID, BLOCKED_BY = attrgetter("pid"), attrgetter("blocked_by")


def lock_tree(sessions: list[PgSession]) -> list[LockNode]:
    """Blocked sessions under their blockers; roots are blockers that wait on nobody (or close a cycle)."""
    by_pid = dict(zip(map(PID, sessions), sessions, strict=True))
    blocked = list(filter(BLOCKED_BY, sessions))  # both in C: 3,000 sessions, a handful waiting
    waiters: dict[int, list[int]] = {}
    for s in blocked:
        for blocker in s.blocked_by:
            waiters.setdefault(blocker, []).append(s.pid)
    involved = set(waiters) | {s.pid for s in blocked}
    roots = [pid for pid in involved if not by_pid.get(pid, PgSession(pid=pid)).blocked_by]
    placed: set[int] = set()

    def build(pid: int) -> LockNode:
        placed.add(pid)
        children = [build(w) for w in sorted(waiters.get(pid, [])) if w not in placed]
        return LockNode(session=by_pid.get(pid, PgSession(pid=pid, query="(session gone)")), waiters=children)

    tree = [build(pid) for pid in sorted(roots)]
    for pid in sorted(involved - placed):  # cycles (deadlocks before the detector fires) have no root
        if pid not in placed:
            tree.append(build(pid))
    return tree


class SlowStatement(BaseModel):
    """One pg_stat_statements entry. Rates are since the previous refresh: None when unknown, never negative."""

    queryid: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    calls_per_s: float | None = None
    time_per_s: float | None = None


class PostgresSnapshot(BaseModel):
    """One refresh of the PostgreSQL pane, or the reason it could not be made (state DOWN)."""

    state: State = State.UNKNOWN
    reason: str = ""
    held: str = ""  # set by LiveState while `for` holds a change back: `connection DOWN pending 20s/1m`
    server_version: str = ""
    server_version_num: int = 0
    role: str = ""
    superuser: bool = False
    privileged: bool = False
    database: str = ""
    max_connections: int = 0
    connections: dict[str, int] = Field(default_factory=dict)
    by_client: dict[str, int] = Field(default_factory=dict)
    by_application: dict[str, int] = Field(default_factory=dict)
    sessions: list[PgSession] = Field(default_factory=list)
    long_running: list[PgSession] = Field(default_factory=list)
    idle_over_threshold: list[PgSession] = Field(default_factory=list)
    locks: list[LockNode] = Field(default_factory=list)
    db_size_bytes: int | None = None
    cache_hit_pct: float | None = None
    cache_blocks: int = 0
    statements: list[SlowStatement] = Field(default_factory=list)
    missing_grant: str | None = None
    statements_status: str | None = None
    thresholds: PgThresholds = Field(default_factory=PgThresholds)
    taken_at: datetime = Field(default_factory=utc_now)

    @computed_field  # type: ignore[prop-decorator]  # mypy cannot type a decorator over a property; pydantic's way
    @property
    def total_connections(self) -> int:
        return sum(n for state, n in self.connections.items() if state != "waiting")

    @computed_field  # type: ignore[prop-decorator]  # mypy cannot type a decorator over a property; pydantic's way
    @property
    def connections_pct(self) -> float:
        return 100.0 * self.total_connections / self.max_connections if self.max_connections else 0.0

    @property
    def blocked(self) -> list[PgSession]:
        return list(filter(BLOCKED_BY, self.sessions))

    def checks(self) -> list[Check]:
        """Connections %, long-running queries, blocked sessions and cache hit ratio, thresholded."""
        if self.state is State.DOWN:
            return [Check(source="postgres", name="connection", state=State.DOWN, reason=self.reason)]
        t = self.thresholds
        pct = self.connections_pct
        version = f"PostgreSQL {self.server_version.split()[0]}" if self.server_version else "PostgreSQL"
        conn_state = State.CRIT if pct >= t.pool_crit_pct else State.WARN if pct >= t.pool_warn_pct else State.OK
        long_state = State.WARN if self.long_running else State.OK
        blocked = self.blocked
        checks = [
            Check(source="postgres", name="connection", state=State.OK, value="up", reason=version),
            Check(
                source="postgres",
                name="connections",
                state=conn_state,
                value=f"{pct:.0f}%",
                number=pct,
                unit="%",
                reason=f"{self.total_connections} of max_connections {self.max_connections}"
                + ("" if conn_state is State.OK else f" (warn at {t.pool_warn_pct:g}%, crit at {t.pool_crit_pct:g}%)"),
            ),
            Check(
                source="postgres",
                name="long-running",
                state=long_state,
                value=str(len(self.long_running)),
                number=len(self.long_running),
                reason=f"queries running longer than {short_age(t.long_running_s)}",
            ),
            Check(
                source="postgres",
                name="blocked",
                state=State.WARN if blocked else State.OK,
                value=str(len(blocked)),
                number=len(blocked),
                reason="sessions waiting on a lock held by another" if blocked else "no session waits on a lock",
            ),
        ]
        reason = f"buffer cache hit ratio (warn below {CACHE_HIT_WARN_PCT:g}%)"
        hit = self.cache_hit_pct
        if hit is None:
            cache_state, value = State.UNKNOWN, "-"
        elif self.cache_blocks < CACHE_MIN_BLOCKS:
            cache_state, value = State.OK, f"{hit:.1f}%"
            reason = f"warming up: only {self.cache_blocks} blocks read since the statistics were reset"
        else:
            cache_state = (
                State.CRIT if hit < CACHE_HIT_CRIT_PCT else State.WARN if hit < CACHE_HIT_WARN_PCT else State.OK
            )
            value = f"{hit:.1f}%"
        checks.append(
            Check(
                source="postgres", name="cache hit", state=cache_state, value=value, reason=reason, number=hit, unit="%"
            )
        )
        return checks

    feed_key: ClassVar[str] = "postgres"

    def judged(self) -> PostgresSnapshot:
        """This snapshot with `state` set to the worst of its checks (DOWN stays DOWN)."""
        if self.state is State.DOWN:
            return self
        known = [c.state for c in self.checks() if c.state is not State.UNKNOWN]
        return self.model_copy(update={"state": State.worst(known) if known else State.OK})
