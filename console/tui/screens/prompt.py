"""A one-line prompt (filter, note...) that applies its answer and stays open while the answer is rejected."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from widgets.outside import outside


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line; `apply(text)` returns an error text to keep asking, or None to close."""

    HELP_PLACE = "a prompt"

    DEFAULT_CSS = """
    PromptScreen { align: center bottom; }
    PromptScreen > #prompt { width: 100%; height: auto; background: $surface; border-top: tall $primary; padding: 0 1; }
    PromptScreen #error { color: $error; height: auto; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, title: str, initial: str = "", apply: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.initial = initial
        self.apply = apply

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Static(outside(self.title_text))
            yield Input(value=self.initial, id="answer")
            yield Static("", id="error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        error = self.apply(event.value) if self.apply else None
        if error:
            self.query_one("#error", Static).update(outside(f"✖ {error}"))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
