"""What the console knows about one Redis at one moment, and the thresholds applied to it."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from console.models import Check, State, utc_now

SOURCE = "redis"


class SlowlogEntry(BaseModel):
    """One SLOWLOG entry; `command` is already redacted and truncated for display."""

    model_config = ConfigDict(frozen=True)

    id: int
    time: datetime
    duration_us: int
    command: str
    client: str = ""


class RedisSnapshot(BaseModel):
    """One poll of Redis: PING, INFO figures, rates over the last interval, and the top of SLOWLOG.

    Rates (`hit_ratio`, `evicted_per_s`, `expired_per_s`) are None on the first poll after a (re)connect,
    and `hit_ratio` is also None when nothing was looked up during the interval; the hit-ratio check then
    falls back to `hit_ratio_since_start` (what `INFO stats` gives), so a single poll (`status`) has a verdict.
    """

    model_config = ConfigDict(frozen=True)

    state: State
    reason: str = ""
    held: str = ""  # set by LiveState while `for` holds a change back: `ping DOWN pending 20s/1m`
    target: str = ""
    ping_ms: float | None = None
    used_memory: int | None = None
    peak_memory: int | None = None
    max_memory: int | None = None
    eviction_policy: str = ""
    connected_clients: int | None = None
    blocked_clients: int | None = None
    ops_per_sec: float | None = None
    hit_ratio: float | None = None
    lookups: int | None = None
    hit_ratio_since_start: float | None = None
    evicted_per_s: float | None = None
    expired_per_s: float | None = None
    keys_per_db: dict[int, int] = Field(default_factory=dict)
    role: str = ""
    replication: str = ""
    slowlog: list[SlowlogEntry] = Field(default_factory=list)
    hit_rate_warn_pct: float = 90.0
    hit_rate_crit_pct: float | None = None
    memory_warn_pct: float = 85.0
    memory_crit_pct: float = 95.0
    taken_at: datetime = Field(default_factory=utc_now)

    @property
    def memory_pct(self) -> float | None:
        """used_memory as a percentage of maxmemory, or None when no limit is set."""
        if not self.max_memory or self.used_memory is None:
            return None
        return 100.0 * self.used_memory / self.max_memory

    @property
    def total_keys(self) -> int:
        return sum(self.keys_per_db.values())

    def checks(self) -> list[Check]:
        """PING, memory against maxmemory (when set) and hit ratio, each against its warn and crit thresholds."""
        if self.state is State.DOWN:
            return [Check(source=SOURCE, name="ping", state=State.DOWN, reason=self.reason)]
        ping = Check(
            source=SOURCE,
            name="ping",
            state=State.OK,
            value=f"{self.ping_ms or 0:.1f} ms",
            number=self.ping_ms,
            unit="ms",
        )
        return [ping, self._memory_check(), self._hit_check()]

    feed_key: ClassVar[str] = "redis"

    def evaluated(self) -> RedisSnapshot:
        """A copy whose state is the worst of its checks."""
        if self.state is State.DOWN:
            return self
        return self.model_copy(update={"state": State.worst([c.state for c in self.checks()])})

    def hit_reading(self) -> tuple[float, str] | None:
        """(ratio, what it covers) for display and the check: the last interval when known, else since start."""
        if self.hit_ratio is not None:
            return self.hit_ratio, f"of {self.lookups:,} lookups" if self.lookups else "last interval"
        if self.hit_ratio_since_start is not None:
            return self.hit_ratio_since_start, "since start"
        return None

    def _memory_check(self) -> Check:
        pct = self.memory_pct
        if pct is None:
            used = format_bytes(self.used_memory) if self.used_memory is not None else "?"
            return Check(source=SOURCE, name="memory", state=State.OK, value=used, reason="no maxmemory set")
        warn, crit = self.memory_warn_pct, self.memory_crit_pct
        state = State.CRIT if pct >= crit else State.WARN if pct >= warn else State.OK
        reason = f"above {crit:g}%" if state is State.CRIT else f"above {warn:g}%"
        return Check(
            source=SOURCE,
            name="memory",
            state=state,
            value=f"{pct:.0f}% of {format_bytes(self.max_memory)}",
            number=pct,
            unit="%",
            reason="" if state is State.OK else f"{reason} of maxmemory ({self.eviction_policy or 'no policy'})",
        )

    def _hit_check(self) -> Check:
        reading = self.hit_reading()
        if reading is None:
            return Check(source=SOURCE, name="hit ratio", state=State.OK, reason="no lookups yet")
        ratio, scope = reading
        crit = self.hit_rate_crit_pct is not None and 100.0 * ratio < self.hit_rate_crit_pct
        low = crit or 100.0 * ratio < self.hit_rate_warn_pct
        limit = self.hit_rate_crit_pct if crit else self.hit_rate_warn_pct
        return Check(
            source=SOURCE,
            name="hit ratio",
            state=State.CRIT if crit else State.WARN if low else State.OK,
            value=f"{100.0 * ratio:.1f}%",
            number=100.0 * ratio,
            unit="%",
            reason=(f"below {limit:g}% " if low else "") + f"({scope})",
        )


def format_bytes(n: int | None) -> str:
    """1536 -> '1.5 KiB'; None -> '?'."""
    if n is None:
        return "?"
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, unit = float(n), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    return f"{n} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def display_bytes(raw: bytes | str) -> str:
    """Key or argument bytes as one printable line: invalid UTF-8 as \\xNN, control characters escaped."""
    text = raw.decode("utf-8", errors="backslashreplace") if isinstance(raw, bytes) else raw
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
