"""A check's history drawn in braille (console/record/chart.py): the y axis, the warn and crit lines named at their
right end (so the mono theme and a colour-blind reader have the word, not only the colour), the time axis, and the
journal's entries as numbered markers under it with their labels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.widgets import Static

from console.record.chart import Series, braille, column_of, row_of, time_ticks, value_text
from widgets.outside import outside

AXIS = 9  # the y labels' width, with the axis line


class ChartView(Static):
    """Paints a `Series` to fit its size; `show(series)` repaints."""

    DEFAULT_CSS = """
    ChartView { height: 1fr; width: 1fr; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.series: Series | None = None

    def show(self, series: Series) -> None:
        self.series = series
        self._paint()

    def on_resize(self) -> None:
        self._paint()

    def _paint(self) -> None:
        series = self.series
        if series is None or not self.size.width:
            return
        width = max(10, self.size.width - AXIS - 2)
        shown_markers = series.markers[:9]
        height = max(3, self.size.height - 3 - min(len(shown_markers), max(0, self.size.height - 10)))
        self.update(render(series, width, height, marker_lines=self.size.height - height - 3))


def render(series: Series, width: int, height: int, marker_lines: int) -> Text:
    """The chart as lines: plot rows with y labels and threshold lines, the time axis, markers and their labels."""
    low, high = series.value_range()
    plot = braille(series, width, height)
    limits = {
        row_of(limit, low, high, height): (name, limit)
        for name, limit in (("warn", series.warn), ("crit", series.crit))
        if limit is not None
    }
    label_rows = {0: high, height - 1: low, (height - 1) // 2: (high + low) / 2}
    text = Text()
    if not series.buckets:
        text.append("no samples recorded in this window\n", style="dim")
    for row, dots in enumerate(plot):
        label = value_text(label_rows[row]) if row in label_rows else ""
        text.append(f"{label:>{AXIS - 2}} ┤")
        if row in limits:
            name, limit = limits[row]
            style = "bold yellow" if name == "warn" else "bold red"
            tag = f" {name} {value_text(limit, series.unit)}"
            line = "".join(dot if dot != " " else "╌" for dot in dots[: width - len(tag)])
            text.append(line, style=style)
            text.append(tag, style=style)
        else:
            text.append(dots)
        text.append("\n")
    text.append(" " * (AXIS - 2) + " └" + "─" * width + "\n")
    ticks = [" "] * width
    for column, tick in time_ticks(series.start, series.end, width):
        if column + len(tick) <= width and all(c == " " for c in ticks[max(0, column - 1) : column + len(tick)]):
            ticks[column : column + len(tick)] = list(tick)
    text.append(" " * AXIS + "".join(ticks) + "\n")
    marks = [" "] * width
    for number, (at, _) in enumerate(series.markers[:9], start=1):
        column = column_of(at, series.start, series.end, width)
        marks[column : column + 2] = list(f"▲{number}")[: width - column]
    text.append(" " * AXIS + "".join(marks)[:width], style="bold")
    for number, (at, label) in enumerate(series.markers[: max(0, marker_lines)], start=1):
        text.append("\n")
        text.append_text(outside(f"{' ' * (AXIS - 3)}▲{number} {_clock(at)} {label}"))
    return text


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M")
