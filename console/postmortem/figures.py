"""The post-mortem's figures: for every check that went WARN or worse during the incident, its recorded numbers from
30 minutes before the onset to the resolution (or now, while it is open), with its warn and crit lines and the
journal's entries as numbered markers, written as an SVG file beside the Markdown (`journal export --format md`).

Drawn here, without Textual (the core never imports it): a line chart is a polyline, two dashed lines and a few
labels, on the scales of console/record/chart.py. Every text taken from the check names and the journal is escaped
for XML; the files are made 0600 (they show what the console saw, as the recording does).
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from console.incident.markers import markers
from console.incident.state import IncidentState
from console.models import State
from console.record.chart import Series, time_ticks, value_text
from console.record.reader import Reader
from console.record.store import RecordError
from console.redact import make_safe

BEFORE_ONSET = timedelta(minutes=30)
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 760, 300, 70, 110, 30, 40
BUCKETS = 300
LINE_HEIGHT = 16
_BAD = (State.WARN.value, State.CRIT.value, State.DOWN.value)


@dataclass(frozen=True)
class Figure:
    """One written figure: the check it charts and the file's name (relative to the Markdown)."""

    check: str
    file: str


def write_figures(
    state: IncidentState,
    entries: list[dict],
    recording: Path,
    folder: Path,
    limits: dict[str, tuple[float | None, float | None]],
    end: float,
) -> tuple[list[Figure], str]:
    """The figures of the incident's checks that went WARN or worse, written into `folder` (made 0700); and a note
    saying why there are none (no recording, nothing went WARN in it), or ''."""
    start = (state.onset - BEFORE_ONSET).timestamp()
    finished = state.resolved_at or state.ended_at
    if finished is not None:
        end = finished.timestamp()
    try:
        reader = Reader(recording)
    except RecordError as exc:
        return [], f"No figures: {exc}"
    try:
        checks = _went_bad(reader, start, end)
        marked = [(m.at.timestamp(), m.label) for m in markers(entries) if start <= m.at.timestamp() <= end]
        figures = []
        if checks:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for check in checks:
            warn, crit = limits.get(check, (None, None))
            series = Series(check, start, end, reader.series(check, start, end, BUCKETS), warn, crit, "", marked)
            name = f"{re.sub(r'[^A-Za-z0-9._-]+', '-', check).strip('-')}.svg"
            _write(folder / name, svg(series))
            figures.append(Figure(check, f"{folder.name}/{name}"))
    except (RecordError, sqlite3.DatabaseError) as exc:
        return [], f"No figures: {exc}"
    finally:
        reader.close()
    if not figures:
        return [], "No figures: no recorded check went WARN or worse from 30 minutes before the onset to the end."
    return figures, ""


def _went_bad(reader: Reader, start: float, end: float) -> list[str]:
    rows = reader.db.execute(
        "SELECT c.name FROM points p JOIN checks c ON c.id = p.check_id WHERE p.at BETWEEN ? AND ? AND p.state IN"
        " (?, ?, ?) GROUP BY c.name ORDER BY min(c.id)",
        (start, end, *_BAD),
    )
    return [name for (name,) in rows]


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def svg(series: Series) -> str:
    """The chart as an SVG document: axes, the numbers as a line (each bucket's high), the thresholds dashed and
    named, the markers as numbered vertical lines listed under the chart."""
    low, high = series.value_range()
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    legend = len(series.markers) * LINE_HEIGHT
    height = HEIGHT + legend + (8 if legend else 0)

    def x(at: float) -> float:
        return LEFT + (at - series.start) / (series.end - series.start) * plot_w

    def y(value: float) -> float:
        return TOP + (1 - (value - low) / (high - low)) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}"'
        ' font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="18" font-weight="bold">{escape(make_safe(series.check))}</text>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="black"/>',
    ]
    for value in (low, (low + high) / 2, high):
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value_text(value)}</text>')
    for column, tick in time_ticks(series.start, series.end, plot_w, every=90):
        parts.append(f'<text x="{LEFT + column}" y="{TOP + plot_h + 16}" text-anchor="middle">{tick}</text>')
    for name, limit, colour in (("warn", series.warn, "#b7791f"), ("crit", series.crit, "#c53030")):
        if limit is not None and low <= limit <= high:
            at = y(limit)
            parts.append(
                f'<line x1="{LEFT}" y1="{at:.1f}" x2="{LEFT + plot_w}" y2="{at:.1f}" stroke="{colour}"'
                ' stroke-dasharray="6 4"/>'
            )
            parts.append(f'<text x="{LEFT + plot_w + 6}" y="{at + 4:.1f}" fill="{colour}">{name} {limit:g}</text>')
    points = " ".join(f"{x(b.at):.1f},{y(b.high):.1f}" for b in series.buckets)
    if points:
        parts.append(f'<polyline points="{points}" fill="none" stroke="#2b6cb0" stroke-width="1.5"/>')
    for number, (at, label) in enumerate(series.markers, start=1):
        parts.append(
            f'<line x1="{x(at):.1f}" y1="{TOP}" x2="{x(at):.1f}" y2="{TOP + plot_h}" stroke="#555"'
            ' stroke-dasharray="2 3"/>'
        )
        parts.append(f'<text x="{x(at) + 2:.1f}" y="{TOP + 10}" fill="#555">{number}</text>')
        parts.append(
            f'<text x="{LEFT}" y="{HEIGHT + 4 + number * LINE_HEIGHT}">{number}. {_clock(at)} '
            f"{escape(make_safe(label))}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M UTC")
