"""`?`: every binding of the app, the screen below and its widgets, with keys as remapped by `[keys]`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from widgets.outside import outside


def binding_rows(
    screen: Screen, keymap: dict[str, str], extra: Sequence[type[DOMNode]] = ()
) -> list[tuple[str, str, str, str]]:
    """(where, keys, description, id) for the app, the screen, its widgets and `extra` classes: ours, once each.
    Where is the class's HELP_PLACE, the name the operator knows it by (`PostgreSQL pane`, `any table`), never the
    class's own: tables of several classes share their rows."""
    app = screen.app
    seen: set[type[DOMNode]] = set()
    rows: dict[tuple[str, str, str, str], None] = {}
    for cls in [type(app), type(screen), *(type(w) for w in screen.query("*")), *extra]:
        if cls in seen or cls.__module__.split(".")[0] not in ("console", "widgets"):
            continue
        seen.add(cls)
        for binding in cls.BINDINGS:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
            shown = ", ".join(app.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))
            rows[(getattr(cls, "HELP_PLACE", ""), shown, binding.description, binding.id or "")] = None
    return list(rows)


class HelpScreen(ModalScreen[None]):
    """A table of every binding; escape or ? closes."""

    HELP_PLACE = "this help"

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > #help { width: 90%; max-width: 110; height: 90%; border: thick $primary; background: $surface; }
    """

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="help.close")]

    def __init__(self, below: Screen, keymap: dict[str, str], extra: Sequence[type[DOMNode]] = ()) -> None:
        super().__init__()
        self.below = below
        self.keymap = keymap
        self.extra = list(extra)

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, header_style="bold")
        self.rows = binding_rows(self.below, self.keymap, self.extra)
        table.add_column("where", overflow="fold")
        table.add_column("keys", overflow="fold")
        table.add_column("what", overflow="fold")  # the words may wrap; an id is what [keys] needs, whole
        table.add_column("binding id", no_wrap=True, min_width=max((len(row[3]) for row in self.rows), default=10))
        for row in self.rows:
            table.add_row(*(outside(cell) for cell in row))  # keys from the config's [keys]
        with Vertical(id="help"):
            yield Static(Text("Keys · remap any binding by id in the config's [keys] table · escape closes"))
            with VerticalScroll():
                yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)
