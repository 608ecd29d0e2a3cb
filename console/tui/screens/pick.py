"""Pick one value from a list (severity, status, role, update kind, a runbook's parts): arrows and enter; typing (or
`/`) filters it, labels that start with what was typed first; escape cancels."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
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
    PickScreen #pick-filter { display: none; }
    PickScreen.-filtering #pick-filter { display: block; }
    PickScreen OptionList { height: auto; max-height: 16; border: none; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="pick.cancel"),
        Binding("slash", "filter", "Filter", show=False, id="pick.filter"),
    ]

    def __init__(self, title: str, options: list[tuple[str, str]], selected: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.selected = selected

    def compose(self) -> ComposeResult:
        with Vertical(id="pick"):
            yield Static(outside(self.title_text), id="pick-title")
            yield Input(placeholder="filter", id="pick-filter", compact=True)
            yield OptionList(*self._shown(""))
            yield Static("enter: choose · type to filter · escape: cancel", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        values = [value for value, _ in self.options]
        options.highlighted = values.index(self.selected) if self.selected in values else 0
        options.focus()

    def _shown(self, text: str) -> list[Option]:
        """The options whose label holds `text` (case-insensitive), those that start with it first."""
        wanted = text.strip().lower()
        found = [(value, label) for value, label in self.options if wanted in label.lower()]
        found.sort(key=lambda option: not option[1].lower().startswith(wanted))
        return [Option(outside(label), id=value) for value, label in found]

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#pick-filter", Input).focus()

    def on_key(self, event: events.Key) -> None:
        """A letter typed on the list starts the filter with it."""
        filter_ = self.query_one("#pick-filter", Input)
        if event.is_printable and event.character and event.character != "/" and not filter_.has_focus:
            event.stop()
            self.action_filter()
            filter_.insert_text_at_cursor(event.character)
        elif filter_.has_focus and event.key in ("up", "down"):
            event.stop()
            options = self.query_one(OptionList)
            if event.key == "up":
                options.action_cursor_up()
            else:
                options.action_cursor_down()

    @on(Input.Changed, "#pick-filter")
    def _filtered(self, event: Input.Changed) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(self._shown(event.value))
        options.highlighted = 0 if options.option_count else None

    @on(Input.Submitted, "#pick-filter")
    def _submitted(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
