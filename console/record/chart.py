"""A check's history as a chart, drawn without Textual: the scales, the ticks, and the plot in braille dots (two
columns and four rows of dots a character cell), for the TUI's chart screen; the post-mortem's SVG figures use the
same scales (console/postmortem/figures.py).

Our own drawing rather than a plotting widget: textual-plot needs numpy (about 20 MB, and an import on the chart's
first open), textual-plotext pins plotext below 6, and a post-mortem figure must be drawn where Textual is never
imported anyway. A line chart of a few hundred buckets with two threshold lines and markers is this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from console.record.reader import Bucket

RANGES = {"15m": 900.0, "1h": 3600.0, "6h": 6 * 3600.0, "24h": 24 * 3600.0}
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # braille dot bits by (row, column) in a cell


@dataclass(frozen=True)
class Series:
    """A check's buckets over a window, with its thresholds (in the check's unit) and unit."""

    check: str
    start: float
    end: float
    buckets: list[Bucket]
    warn: float | None = None
    crit: float | None = None
    unit: str = ""
    markers: list[tuple[float, str]] = field(default_factory=list)  # (time, label) of the journal's entries

    def value_range(self) -> tuple[float, float]:
        """The y axis: from 0 (or the lowest number, when below 0) to the highest number or threshold, padded."""
        values = [b.low for b in self.buckets] + [b.high for b in self.buckets]
        values += [limit for limit in (self.warn, self.crit) if limit is not None]
        low, high = min([0.0, *values]), max([0.0, *values])
        if high == low:
            high = low + 1.0
        return low, high + (high - low) * 0.05


def row_of(value: float, low: float, high: float, rows: int) -> int:
    """The row (0 the top, `rows - 1` the bottom) where `value` falls on an axis from `low` to `high`."""
    share = (value - low) / (high - low)
    return min(rows - 1, max(0, round((1 - share) * (rows - 1))))


def column_of(at: float, start: float, end: float, columns: int) -> int:
    return min(columns - 1, max(0, int((at - start) / (end - start) * columns)))


def braille(series: Series, width: int, height: int) -> list[str]:
    """The plot, `height` lines of `width` cells: each bucket a column of dots from its low to its high, joined to
    the column before so the line has no gaps; empty cells are spaces."""
    dots_x, dots_y = width * 2, height * 4
    low, high = series.value_range()
    cells = [[0] * width for _ in range(height)]
    previous: int | None = None
    for bucket in series.buckets:
        x = column_of(bucket.at, series.start, series.end, dots_x)
        top, bottom = row_of(bucket.high, low, high, dots_y), row_of(bucket.low, low, high, dots_y)
        if previous is not None:  # join to the last bucket's end
            top, bottom = min(top, previous), max(bottom, previous)
        for y in range(top, bottom + 1):
            cells[y // 4][x // 2] |= _DOTS[y % 4][x % 2]
        previous = row_of(bucket.high if bucket.high > bucket.low else bucket.low, low, high, dots_y)
    return ["".join(chr(0x2800 + c) if c else " " for c in row) for row in cells]


def value_text(value: float, unit: str = "") -> str:
    """A tick's number: 3 significant figures, no trailing zeros (`0.25`, `1200`, `610 ms`)."""
    if value == 0:
        text = "0"
    else:
        digits = max(0, 2 - math.floor(math.log10(abs(value))))
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return f"{text} {unit}".strip()


def time_ticks(start: float, end: float, columns: int, every: int = 16) -> list[tuple[int, str]]:
    """(column, `HH:MM` UTC) for about one tick every `every` columns, on round minutes."""
    span = end - start
    want = max(1, columns // every)
    step = next((s for s in (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600) if span / s <= want), 21600)
    first = math.ceil(start / step) * step
    ticks = []
    at = first
    while at <= end:
        ticks.append((column_of(at, start, end, columns), datetime.fromtimestamp(at, UTC).strftime("%H:%M")))
        at += step
    return ticks
