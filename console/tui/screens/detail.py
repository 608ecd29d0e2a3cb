"""The full text of one item (a query, a session, a journal entry), scrollable and copyable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from widgets.outside import outside


class DetailScreen(ModalScreen[None]):
    """Read-only detail: `y` copies everything with OSC 52, escape closes."""

    HELP_PLACE = "detail view"

    DEFAULT_CSS = """
    DetailScreen { align: center middle; }
    DetailScreen > #detail { width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    DetailScreen #title { text-style: bold; }
    """

    BINDINGS = [
        Binding("y", "copy", "Copy", id="detail.copy"),
        Binding("escape,q", "close", "Close", id="detail.close"),
    ]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(id="detail"):
            yield Static(outside(self.title_text), id="title")
            with VerticalScroll():
                yield Static(outside("\n".join(self.lines), lines=True))
            yield Static("y: copy · escape: close")

    def action_copy(self) -> None:
        text = "\n".join(self.lines)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {len(text)} characters", timeout=1.5)

    def action_close(self) -> None:
        self.dismiss(None)
