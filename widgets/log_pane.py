"""The log pane: one header row per source (state, errors per minute, lines, status) above the merged LogView."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.models import State
from console.models.logs import LogLine, LogStats
from widgets.log_view import LogView
from widgets.outside import outside

_STATE_COLOUR = {State.OK: "success", State.WARN: "warning", State.CRIT: "error", State.DOWN: "error"}
STARTING = "starting"
HEADER_INTERVAL = 0.5  # between two stats ticks, the line counts are redrawn at most this often


class LogPane(Vertical):
    """Header rows `✖ CRIT  app  45 err/min  12,345 lines  following /var/log/app.log`, then the LogView.

    The app feeds it with `append(batch)` from each source's stream and `update_stats(stats)` on its tick.
    Between two ticks a row counts the lines the pane was given: the first batch shows at once, not a tick later.
    """

    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    LogPane > .log-pane--header { height: auto; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, sources: Sequence[str], *, max_lines: int = 100_000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sources = list(sources)
        self.max_lines = max_lines
        self.stats: dict[str, LogStats] = {
            name: LogStats(name, status=STARTING, source_state=State.UNKNOWN) for name in sources
        }
        self._read: dict[str, int] = {}  # since a source's last tick: lines it had read at its last line (seq)
        self._painted = 0.0  # when the header was last drawn (monotonic)
        self._header_due = False  # lines were counted since the header was last drawn
        self._header_now = False  # ...and the header is to be drawn in the view's next frame, whenever it comes

    def compose(self) -> ComposeResult:
        yield Static(self._header(), classes="log-pane--header")
        view = LogView(self.sources, max_lines=self.max_lines)
        view.after_flush = self._view_painted
        yield view

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def set_filter(self, text: str) -> str | None:
        """Filter the merged view (a triage `look` step shows `level=error` this way); see LogView.set_filter."""
        return self.view.set_filter(text)

    def append(self, batch: Sequence[LogLine]) -> None:
        """New lines from one source (cheap; the view paints at most ~4.5 times a second while following, the
        header at most every 0.5 s and in the same frame as the view, so a slow link gets one update, not two)."""
        self.view.append(batch)
        if not batch:
            return
        name = batch[-1].source
        first = name not in self._read  # the first lines since the source's last tick, or ever: show them now
        self._read[name] = batch[-1].seq
        if first and not self.view.paint_pending:
            self._paint_header()
        elif first:
            self._header_now = True  # with the lines, in the view's next frame (within 250 ms)
        else:
            self._header_due = True

    def _view_painted(self) -> None:
        """The view just painted appended lines: bring the line counts along if they are due."""
        if self._header_now or (self._header_due and time.monotonic() - self._painted >= HEADER_INTERVAL):
            self._paint_header()

    def update_model(self, stats: LogStats) -> None:
        """One source's stats from the live state."""
        self.update_stats([stats])

    def update_stats(self, stats: Sequence[LogStats]) -> None:
        """Per-source figures from the sources' `stats()`: redraws the header rows without a relayout."""
        for item in stats:
            self.stats[item.name] = item
            self._read.pop(item.name, None)
        if self.is_mounted and self.view.paint_pending:
            self._header_now = True  # one frame for both, not two (a slow link pays for each)
        else:
            self._paint_header()

    def _paint_header(self) -> None:
        self._painted, self._header_due, self._header_now = time.monotonic(), False, False
        for header in self.query(".log-pane--header").results(Static):  # none while the app is shutting down
            header.update(self._header(), layout=False)

    def _header(self) -> Text:
        dropped = self.view.dropped_by_source if self.is_mounted else {}
        name_width = max((len(name) for name in self.sources), default=0)
        rows = []
        for name in self.sources:
            item = self._shown(name)
            state = item.state
            row = Text(no_wrap=True, overflow="ellipsis", end="")
            colour = _STATE_COLOUR.get(state)
            row.append(f"{state.symbol} {state.word:<5}", style=self._colour(colour) if colour else "dim")
            row.append_text(outside(f" {name:<{name_width}}  ", "bold"))
            spike = item.rate_state is not State.OK
            row.append(f"{item.rate_text:>12}", style=self._colour(_STATE_COLOUR[item.rate_state]) if spike else "")
            row.append(f"  {item.lines:,} lines")
            if dropped.get(name):
                row.append(f", {dropped[name]:,} dropped", style="dim")
            row.append_text(outside(f"  {item.status}", "dim"))
            rows.append(row)
        return Text("\n", no_wrap=True, overflow="ellipsis").join(rows)

    def _shown(self, name: str) -> LogStats:
        """The last tick's figures with the lines read since; before its first tick, a source giving lines is OK."""
        item, read = self.stats[name], self._read.get(name, 0)
        if read and item.source_state is State.UNKNOWN and item.status == STARTING:
            item = replace(item, source_state=State.OK, status="reading")
        return replace(item, lines=read) if read > item.lines else item

    def _colour(self, variable: str | None) -> str:
        return self.app.theme_variables.get(variable, "") if variable else ""
