"""A check's history as a chart (README, "Charts"): `h` on the dashboard picks the check (the focused pane's first;
those the recording holds but the live state does not show too, marked), then this screen shows its recorded numbers
over 15m, 1h, 6h or 24h with the warn and crit lines and, as markers, the journal's entries the console holds (the
replay's, or the incident's and the recent ones); `r` the range, `+` / `-` zoom, `←` / `→` pan, `end` back to the
latest. Live, it follows the recording every 2 s; in a replay it ends at the moment shown. Imported only when a chart
opens.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from console.config import Config
from console.incident.markers import markers
from console.live import LiveState
from console.record.chart import RANGES, Series
from console.record.reader import Reader
from console.record.recorder import recording_path
from console.record.store import RecordError
from console.sources.base import check_limits
from console.tui.screens.pick import PickScreen
from widgets.chart import ChartView
from widgets.footer import Footer
from widgets.outside import outside

if TYPE_CHECKING:
    from console.clock import Clock
    from console.tui.controllers.incident import IncidentControl
    from console.tui.controllers.replay import ReplayControl

REFRESH = 2.0
BUCKETS_PER_CELL = 2  # a braille cell holds two columns of dots


class ChartHost(Protocol):
    config: Config
    live: LiveState
    clock: Clock
    replay: ReplayControl | None
    incident: IncidentControl


def pick_chart(app: Any, section: str | None) -> None:
    """`h`: the checks to choose from (read in a worker), then the chart."""
    app.run_worker(_pick(app, section), name="chart-pick", group="chart-pick", exclusive=True, exit_on_error=False)


async def _pick(app: Any, section: str | None) -> None:
    """The checks with a number now (the focused pane's first selected), then every other check the recording has
    numbers of (removed from the config, not answered yet, or not at a replay's moment), marked as such."""
    host: ChartHost = app
    checks = [check for check in host.live.checks() if check.number is not None]
    shown = {check.key for check in checks}
    recorded = [key for key in await asyncio.to_thread(_recorded, recording_path(host.config)) if key not in shown]
    if not checks and not recorded:
        app.notify("No check has a number to chart yet.", severity="warning")
        return
    now = "at this moment" if host.replay is not None else "live"
    options = [(check.key, f"{check.key}  {check.value}") for check in checks]
    options += [(key, f"{key}  (recorded, not {now})") for key in recorded]
    selected = next((check.key for check in checks if check.source == section), options[0][0])

    def chosen(key: str | None) -> None:
        if key is not None:
            app.push_screen(ChartScreen(host, key))

    app.push_screen(PickScreen("History of", options, selected), chosen)


def _recorded(path: Path) -> list[str]:
    """Every check the recording has numbers of, first recorded first; none without a usable recording (the chart
    says why once it opens)."""
    try:
        reader = Reader(path)
    except RecordError:
        return []
    try:
        return reader.checks()
    except sqlite3.DatabaseError:
        return []
    finally:
        reader.close()


class ChartScreen(Screen[None]):
    """One check's chart; reads the recording (and the journal, for markers) in a thread."""

    HELP_PLACE = "chart"

    BINDINGS = [
        Binding("escape", "close", "Close", id="chart.close"),
        Binding("r", "next_range", "Range", id="chart.range"),
        Binding("plus", "zoom(1)", "Zoom in", id="chart.zoom_in"),
        Binding("minus", "zoom(-1)", "Zoom out", id="chart.zoom_out"),
        Binding("left", "pan(-1)", "Earlier", id="chart.earlier"),
        Binding("right", "pan(1)", "Later", id="chart.later"),
        Binding("end", "latest", "Latest", show=False, id="chart.latest"),
    ]

    def __init__(self, host: ChartHost, check: str) -> None:
        super().__init__()
        self.host = host
        self.check = check
        self.range = "1h"
        self.zoom = 0  # each step halves (or doubles) the window
        self.pan = 0.0  # seconds before the end (the latest, or the replay's moment)
        self.path: Path = recording_path(host.config)
        warn, crit = check_limits(host.config).get(check, (None, None))
        self.limits = (warn, crit)
        self.title_line = Static(id="chart-title")
        self.view = ChartView()
        self.reader: Reader | None = None

    def compose(self) -> ComposeResult:
        yield self.title_line
        yield self.view
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(REFRESH, self._refresh_live)
        self.load()

    def on_unmount(self) -> None:
        if self.reader is not None:
            self.reader.close()

    def window(self) -> tuple[float, float]:
        replay = self.host.replay
        end = replay.moment.timestamp() if replay is not None else self.host.clock.now().timestamp()
        span = RANGES[self.range] / 2**self.zoom
        end -= self.pan
        return end - span, end

    def load(self) -> None:
        self.run_worker(self._load(), group="chart", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        start, end = self.window()
        buckets = max(10, self.app.size.width - 13) * BUCKETS_PER_CELL  # known before the view is laid out
        try:
            series = await asyncio.to_thread(self._read, start, end, buckets)
        except RecordError as exc:
            self.title_line.update(outside(f"{self.check}: {exc}", "bold"))
            return
        self.view.show(series)
        warn, crit = self.limits
        unit = series.unit
        named = (("warn", warn), ("crit", crit))
        limits = " · ".join(f"{name} {value:g}{unit and ' ' + unit}" for name, value in named if value is not None)
        where = "replay" if self.host.replay is not None else "live" if not self.pan else "panned"
        title = Text.assemble(outside(self.check, "bold"), f" · {self._span_text()} · {where}")
        if limits:
            title.append(f" · {limits}")
        self.title_line.update(title)

    def _read(self, start: float, end: float, buckets: int) -> Series:
        if self.reader is None:
            self.reader = Reader(self.path)
        entries = self._entries()
        marked = [(m.at.timestamp(), m.label) for m in markers(entries) if start <= m.at.timestamp() <= end]
        check = self.host.live.checks()
        unit = next((c.unit for c in check if c.key == self.check), "")
        warn, crit = self.limits
        return Series(self.check, start, end, self.reader.series(self.check, start, end, buckets), warn, crit, unit,
                      marked)  # fmt: skip

    def _entries(self) -> list[dict]:
        """The journal's entries the console already holds: the replay's (all of them), or the tracker's (the
        incident's and the recent ones); no journal read per refresh."""
        replay = self.host.replay
        if replay is not None:
            return [entry for _, entry in replay.opened.entries]
        tracker = self.host.incident.desk.tracker
        held = {entry["seq"]: entry for entry in [*(tracker.state.entries if tracker.state else ()), *tracker.recent]}
        return [held[seq] for seq in sorted(held)]

    def _span_text(self) -> str:
        span = RANGES[self.range] / 2**self.zoom
        return f"{span / 3600:g}h" if span >= 3600 else f"{span / 60:g}m"

    def _refresh_live(self) -> None:
        if not self.pan or self.host.replay is not None:  # following the latest, or the replay's moment
            self.load()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_next_range(self) -> None:
        names = list(RANGES)
        self.range, self.zoom = names[(names.index(self.range) + 1) % len(names)], 0
        self.load()

    def action_zoom(self, step: int) -> None:
        self.zoom = max(-2, min(6, self.zoom + step))
        self.load()

    def action_pan(self, step: int) -> None:
        span = RANGES[self.range] / 2**self.zoom
        self.pan = max(0.0, self.pan - step * span / 4)
        self.load()

    def action_latest(self) -> None:
        self.pan = 0.0
        self.load()
