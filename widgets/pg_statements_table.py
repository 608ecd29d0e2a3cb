"""The slow statements table (pg_stat_statements by mean time), with rates since the previous refresh."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from console.models import State
from console.models.postgres import SlowStatement
from widgets.pg_activity_table import WidthAwareTable, one_line


def milliseconds(ms: float | None) -> str:
    """850.2ms, 12.3s, 4.1m, 2.0h; '-' when unknown."""
    if ms is None:
        return "-"
    if ms < 1:
        return f"{ms:.2f}ms"
    if ms < 1000:
        return f"{ms:.1f}ms"
    for unit, size in (("h", 3_600_000), ("m", 60_000)):
        if ms >= size:
            return f"{ms / size:.1f}{unit}"
    return f"{ms / 1000:.1f}s"


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


class PgStatementsTable(WidthAwareTable):
    """Mean, calls, total, calls/s, ms/s and the normalised query; `▲` marks statements over the slow threshold."""

    WIDE = [
        ("mean", "Mean", 11),
        ("calls", "Calls", 9),
        ("total", "Total", 8),
        ("calls_per_s", "Calls/s", 8),
        ("time_per_s", "ms/s", 8),
        ("queryid", "Query id", 20),
        ("query", "Query", None),
    ]
    NARROW = [
        ("mean", "Mean", 11),
        ("calls", "Calls", 7),
        ("calls_per_s", "Calls/s", 7),
        ("query", "Query", None),
    ]

    KEY_FIELD = "queryid"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.slow_ms = 100.0

    def show_statements(self, statements: list[SlowStatement], slow_ms: float) -> None:
        self.slow_ms = slow_ms
        self.show(statements)

    def current_statement(self) -> SlowStatement | None:
        key = self.current_key
        return next((s for s in self.items if str(s.queryid) == key), None)

    def cells(self, item: SlowStatement) -> dict[str, str | Text]:
        slow = item.mean_ms >= self.slow_ms
        mean = Text(f"{State.WARN.symbol if slow else ' '} {milliseconds(item.mean_ms)}", style="bold" if slow else "")
        return {
            "mean": mean,
            "calls": str(item.calls),
            "total": milliseconds(item.total_ms),
            "calls_per_s": rate(item.calls_per_s),
            "time_per_s": rate(item.time_per_s),
            "queryid": str(item.queryid),
            "query": one_line(item.query, self.flex_width),
        }

    def sort_values(self, item: SlowStatement) -> dict[str, Any]:
        return {
            "mean": item.mean_ms,
            "calls": item.calls,
            "total": item.total_ms,
            "calls_per_s": item.calls_per_s,
            "time_per_s": item.time_per_s,
            "queryid": item.queryid,
        }

    def copy_text(self, item: SlowStatement) -> str:
        return item.query
