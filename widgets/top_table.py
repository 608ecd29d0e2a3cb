"""The `top` lists pane: one small table per `kind = "top"` metric (errors by category, slow endpoints)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.models import State
from console.models.top import TopSnapshot
from widgets.outside import outside

WAITING = "waiting for the first poll"


def render_top(model: TopSnapshot) -> Group:
    """A title line (name, state word, reason) over the rows; cells are data, never markup."""
    title = outside(model.name, "bold")
    title.append(f"  {model.state.value.upper()}", style="" if model.state is State.OK else "bold reverse")
    if model.reason:
        title.append_text(outside(f"  {model.reason}"))
    if model.total > len(model.rows):
        title.append(f"  (top {len(model.rows)} of {model.total})", style="dim")
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="dim")
    for column in model.columns:
        table.add_column(outside(column), overflow="ellipsis", no_wrap=True)
    for row in model.rows:
        table.add_row(*(outside(cell) for cell in row))
    return Group(title, table) if model.rows else Group(title)


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

    def compose(self):
        yield from self.tables.values()

    def update_model(self, model: Any) -> None:
        """Show a TopSnapshot in its table (a metric's value snapshots go to the tiles only)."""
        if isinstance(model, TopSnapshot) and model.name in self.tables:
            self.tables[model.name].update(render_top(model))
