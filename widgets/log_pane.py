"""The log pane: one header row per source (state, errors per minute, lines, status) above the merged LogView."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.models import State
from console.models.logs import LogLine, LogStats
from widgets.log_view import LogView

_STATE_COLOUR = {State.OK: "success", State.WARN: "warning", State.CRIT: "error", State.DOWN: "error"}


class LogPane(Vertical):
    """Header rows `✖ CRIT  app  45 err/min  12,345 lines  following /var/log/app.log`, then the LogView.

    The app feeds it with `append(batch)` from each source's stream and `update_stats(stats)` on its tick.
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
            name: LogStats(name, status="starting", source_state=State.UNKNOWN) for name in sources
        }

    def compose(self) -> ComposeResult:
        yield Static(self._header(), classes="log-pane--header")
        yield LogView(self.sources, max_lines=self.max_lines)

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def append(self, batch: Sequence[LogLine]) -> None:
        """New lines from one source (cheap; the view paints at most every 50 ms)."""
        self.view.append(batch)

    def update_model(self, stats: LogStats) -> None:
        """One source's stats from the live state."""
        self.update_stats([stats])

    def update_stats(self, stats: Sequence[LogStats]) -> None:
        """Per-source figures from the sources' `stats()`: redraws the header rows without a relayout."""
        for item in stats:
            self.stats[item.name] = item
        self.query_one(".log-pane--header", Static).update(self._header(), layout=False)

    def _header(self) -> Text:
        dropped = self.view.dropped_by_source if self.is_mounted else {}
        name_width = max((len(name) for name in self.sources), default=0)
        rows = []
        for name in self.sources:
            item = self.stats[name]
            state = item.state
            row = Text(no_wrap=True, overflow="ellipsis", end="")
            colour = _STATE_COLOUR.get(state)
            row.append(f"{state.symbol} {state.word:<5}", style=self._colour(colour) if colour else "dim")
            row.append(f" {name:<{name_width}}  ", style="bold")
            spike = item.rate_state is not State.OK
            row.append(f"{item.rate_text:>12}", style=self._colour(_STATE_COLOUR[item.rate_state]) if spike else "")
            row.append(f"  {item.lines:,} lines")
            if dropped.get(name):
                row.append(f", {dropped[name]:,} dropped", style="dim")
            row.append(f"  {item.status}", style="dim")
            rows.append(row)
        return Text("\n", no_wrap=True, overflow="ellipsis").join(rows)

    def _colour(self, variable: str | None) -> str:
        return self.app.theme_variables.get(variable, "") if variable else ""
