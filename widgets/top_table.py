"""The `top` lists pane: one small table per `kind = "top"` metric (errors by category, slow endpoints)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.logfilter import FilterError, table_filter
from console.models import State
from console.models.top import TopSnapshot
from widgets.outside import outside

WAITING = "waiting for the first poll"


def render_top(model: TopSnapshot, keep: Callable[[tuple[str, ...]], bool] = lambda row: True) -> Group:
    """A title line (name, state word, reason) over the rows `keep` keeps; cells are data, never markup."""
    title = outside(model.name, "bold")
    title.append(f"  {model.state.value.upper()}", style="" if model.state is State.OK else "bold reverse")
    if model.reason:
        title.append_text(outside(f"  {model.reason}"))
    if model.total > len(model.rows):
        title.append(f"  (top {len(model.rows)} of {model.total})", style="dim")
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="dim")
    for column in model.columns:
        table.add_column(outside(column), overflow="ellipsis", no_wrap=True)
    rows = [row for row in model.rows if keep(tuple(row))]
    for row in rows:
        table.add_row(*(outside(cell) for cell in row))
    return Group(title, table) if rows else Group(title)


class TopTables(VerticalScroll):
    """Renders TopSnapshot models, a table per configured top list in config order; other models are ignored."""

    HELP_PLACE = "Top pane"

    DEFAULT_CSS = """
    TopTables { border: round $panel; padding: 0 1; height: 1fr; }
    TopTables > Static { height: auto; margin-bottom: 1; }
    """

    def __init__(self, names: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.names = names
        self.tables = {name: Static(outside(f"{name}  {WAITING}"), classes="top-list") for name in names}
        self.models: dict[str, TopSnapshot] = {}
        self._keep: Callable[[tuple[str, ...]], bool] = lambda row: True

    def compose(self) -> ComposeResult:
        yield from self.tables.values()

    def update_model(self, model: Any) -> None:
        """Show a TopSnapshot in its table (a metric's value snapshots go to the tiles only)."""
        if isinstance(model, TopSnapshot) and model.name in self.tables:
            self.models[model.name] = model
            self.tables[model.name].update(render_top(model, self._keep))

    def set_filter(self, text: str) -> str | None:
        """Show only the rows a regular expression finds (`!` inverts; empty: all). Returns an error text, else None."""
        try:
            pattern, invert = table_filter(text)
        except FilterError as exc:
            return str(exc)
        if pattern is None:
            self._keep = lambda row: True
        else:
            self._keep = lambda row: bool(pattern.search(" ".join(row))) != invert
        for model in self.models.values():
            self.update_model(model)
        return None
