"""The Redis pane: memory and hit-ratio gauges, the figures that matter in an incident, and the top of SLOWLOG."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Resize
from textual.widgets import DataTable, Static

from console.models import Check, State
from console.models.redis import RedisSnapshot, SlowlogEntry, format_bytes
from console.redact import make_safe
from widgets.gauge import Gauge
from widgets.keyed_table import KeyedTable, TableRow
from widgets.messages import ActionRequested, DetailRequested
from widgets.outside import outside

SLOWLOG_COLUMNS = [("time", "time (UTC)"), ("duration", "duration"), ("command", "command"), ("client", "client")]
NARROW = 100
CLIENT_WIDTH, CLIENT_WIDTH_NARROW = 32, 15
# Cells taken by everything but the command text: time, duration and client columns and every column's padding
# (1 each side), plus a vertical scrollbar.
_FIXED = 10 + 8 + 4 * 2 + 2
_NO_DATA = "—"


class RedisPane(Vertical):
    """Renders RedisSnapshot models; `F` asks the app for the flush-cache form."""

    HELP_PLACE = "Redis pane"

    DEFAULT_CSS = """
    RedisPane { border: round $panel; border-title-color: $text; padding: 0 1; height: 1fr; }
    RedisPane:focus-within { border: round $primary; }
    RedisPane > #redis-status { height: 1; text-style: bold; }
    RedisPane.-down > #redis-status { color: $error; }
    RedisPane > #redis-numbers { height: 2; color: $text; }
    RedisPane > #redis-slowlog-title { height: 1; color: $text-muted; }
    RedisPane > KeyedTable { height: 1fr; }
    """

    BINDINGS = [Binding("F", "flush", "Flush keys", id="redis.flush")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.snapshot: RedisSnapshot | None = None
        self.border_title = "Redis"

    def compose(self) -> ComposeResult:
        yield Static("? UNKNOWN  waiting for the first reading", id="redis-status")
        yield Gauge("memory   ", id="redis-memory")
        yield Gauge("hit ratio", id="redis-hits")
        yield Static(_NO_DATA, id="redis-numbers")
        yield Static("slowlog (top entries, newest first)", id="redis-slowlog-title")
        yield KeyedTable(SLOWLOG_COLUMNS, id="redis-slowlog")

    def update_model(self, snap: RedisSnapshot) -> None:
        """Show one reading; a DOWN reading shows its reason and empties the figures."""
        self.snapshot = snap
        self.border_title = outside(f"Redis {snap.target}".rstrip())
        self.set_class(snap.state is State.DOWN, "-down")
        checks = {c.name: c for c in snap.checks()}
        self.query_one("#redis-status", Static).update(outside(_status_line(snap)), layout=False)
        self._show_gauges(snap, checks)
        self.query_one("#redis-numbers", Static).update(outside(_numbers(snap), lines=True), layout=False)
        self._show_slowlog()

    def action_flush(self) -> None:
        self.post_message(ActionRequested("flush-cache", {}))

    def on_resize(self, event: Resize) -> None:
        self._show_slowlog()

    @on(DataTable.RowSelected, "#redis-slowlog")
    def _open_entry(self, event: DataTable.RowSelected) -> None:
        event.stop()
        entries = {str(e.id): e for e in (self.snapshot.slowlog if self.snapshot else [])}
        entry = entries.get(str(event.row_key.value))
        if entry is not None:
            self.post_message(DetailRequested(f"SLOWLOG #{entry.id}", _entry_lines(entry)))

    def _show_gauges(self, snap: RedisSnapshot, checks: dict[str, Check]) -> None:
        memory = self.query_one("#redis-memory", Gauge)
        hits = self.query_one("#redis-hits", Gauge)
        if snap.state is State.DOWN:
            memory.show(0, 0, State.DOWN, "no data")
            hits.show(0, 0, State.DOWN, "no data")
            return
        policy = snap.eviction_policy or "no policy"
        if snap.max_memory:
            text = f"{checks['memory'].value} · {policy}"
        else:
            text = f"{format_bytes(snap.used_memory)} · peak {format_bytes(snap.peak_memory)} · no maxmemory"
        memory.show(snap.used_memory or 0, snap.max_memory or 0, checks["memory"].state, text)
        reading = snap.hit_reading()
        if reading is None:
            hits.show(0, 100, checks["hit ratio"].state, "no lookups yet")
        else:
            ratio, scope = reading
            text = f"{100 * ratio:.1f}% {scope} · warn <{snap.hit_rate_warn_pct:g}%"
            hits.show(100 * ratio, 100, checks["hit ratio"].state, text)

    def _show_slowlog(self) -> None:
        if not self.is_mounted or not self.size.width:
            return  # widths depend on the pane's size: the first Resize renders
        entries = self.snapshot.slowlog if self.snapshot and self.snapshot.state is not State.DOWN else []
        client_width = CLIENT_WIDTH_NARROW if self.size.width < NARROW else CLIENT_WIDTH
        command_width = max(12, self.size.width - _FIXED - client_width)
        rows = [
            TableRow(
                key=str(e.id),
                cells=(
                    e.time.strftime("%H:%M:%S"),
                    format_micros(e.duration_us),
                    _clip(e.command, command_width),
                    _clip(e.client, client_width),
                ),
                sort=(e.time, e.duration_us, e.command, e.client),
                copy=e.command,
                search=f"{e.command} {e.client}",
            )
            for e in entries
        ]
        self.query_one("#redis-slowlog", KeyedTable).set_rows(rows)


def format_micros(us: int) -> str:
    """850 -> '850 µs', 12_300 -> '12.3 ms', 1_200_000 -> '1.20 s'."""
    if us < 1000:
        return f"{us} µs"
    if us < 1_000_000:
        return f"{us / 1000:.1f} ms"
    return f"{us / 1_000_000:.2f} s"


def _clip(text: str, width: int) -> str:
    """`text` escaped (`make_safe`), then cut to `width` with an ellipsis."""
    text = make_safe(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _status_line(snap: RedisSnapshot) -> str:
    head = f"{snap.state.symbol} {snap.state.word}"
    if snap.state is State.DOWN:
        return f"{head}  Redis is unreachable"
    ping = f"PING {snap.ping_ms:.1f} ms" if snap.ping_ms is not None else "PING ?"
    held = f"  ·  held: {snap.held}" if snap.held else ""
    return f"{head}  {ping}  ·  {snap.role or '?'}, {snap.replication or '?'}{held}"


def _numbers(snap: RedisSnapshot) -> str:
    if snap.state is State.DOWN:
        return make_safe(snap.reason) or "no reason given"  # on one line: the second is the pane's own

    def per_s(value: float | None) -> str:
        return _NO_DATA if value is None else f"{value:,.1f}/s"

    ops = _NO_DATA if snap.ops_per_sec is None else f"{snap.ops_per_sec:,.0f}"
    clients = f"{snap.connected_clients or 0:,} ({snap.blocked_clients or 0:,} blocked)"
    keys = "   ".join(f"db{db} {count:,}" for db, count in sorted(snap.keys_per_db.items())) or "none"
    return (
        f"ops/s {ops}   clients {clients}   evicted {per_s(snap.evicted_per_s)}   "
        f"expired {per_s(snap.expired_per_s)}\nkeys  {keys}"
    )


def _entry_lines(entry: SlowlogEntry) -> list[str]:
    return [
        f"id        {entry.id}",
        f"time      {entry.time.isoformat()}",
        f"duration  {format_micros(entry.duration_us)} ({entry.duration_us:,} µs)",
        f"client    {entry.client or '?'}",
        "",
        entry.command,
    ]
