"""Pick one value from a short list (severity, status, role, update kind): arrows and enter, escape cancels."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from widgets.outside import outside


class PickScreen(ModalScreen[str | None]):
    """A titled list of (value, label) choices; dismisses with the chosen value, or None on escape."""

    HELP_PLACE = "a choice"

    DEFAULT_CSS = """
    PickScreen { align: center middle; }
    PickScreen > #pick { width: auto; min-width: 40; max-width: 90%; height: auto; max-height: 90%;
                         border: thick $primary; background: $surface; padding: 0 1; }
    PickScreen #pick-title { text-style: bold; }
    PickScreen OptionList { height: auto; max-height: 16; border: none; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel")]

    def __init__(self, title: str, options: list[tuple[str, str]], selected: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.selected = selected

    def compose(self) -> ComposeResult:
        with Vertical(id="pick"):
            yield Static(outside(self.title_text), id="pick-title")
            yield OptionList(*(Option(outside(label), id=value) for value, label in self.options))
            yield Static("enter: choose · escape: cancel", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        values = [value for value, _ in self.options]
        options.highlighted = values.index(self.selected) if self.selected in values else 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
