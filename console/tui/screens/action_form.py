"""The parameter form an action opens before its preview, prefilled with defaults."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from widgets.outside import outside


class ActionFormScreen(ModalScreen[dict[str, str] | None]):
    """One input per parameter; enter on the last input (or ctrl+s) previews; escape cancels."""

    HELP_PLACE = "action form"

    DEFAULT_CSS = """
    ActionFormScreen { align: center middle; }
    ActionFormScreen > #form { width: 80%; max-width: 100; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1; }
    ActionFormScreen #title { text-style: bold; }
    ActionFormScreen #error { color: $error; text-style: bold; height: auto; }
    ActionFormScreen Label { color: $text-muted; margin-top: 1; }
    ActionFormScreen VerticalScroll { height: auto; max-height: 20; }
    """

    BINDINGS = [
        Binding("ctrl+s", "submit", "Preview", id="form.submit"),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(
        self,
        action: str,
        description: str,
        fields: list[tuple[str, str, Any]],
        values: dict[str, str] | None = None,
        error: str = "",
        secret: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.action = action
        self.description = description
        self.fields = fields
        self.values = values or {}
        self.error = error
        self.secret = secret

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(outside(f"{self.action}: {self.description}"), id="title")
            yield Static(outside(self.error), id="error")
            with VerticalScroll():
                for name, help_text, default in self.fields:
                    yield Label(outside(f"--{name.replace('_', '-')}  {help_text}"))
                    value = self.values.get(name, "" if default is None else str(default))
                    yield Input(value=value, id=f"param-{name}", placeholder=help_text, password=name in self.secret)
            yield Static("enter on the last field or ctrl+s: preview (nothing runs yet) · escape: cancel")

    def on_mount(self) -> None:
        inputs = self.query(Input)
        if inputs:
            inputs.first().focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
        else:
            self.action_submit()

    def action_submit(self) -> None:
        values = {i.id.removeprefix("param-"): i.value.strip() for i in self.query(Input) if i.id}
        self.dismiss({k: v for k, v in values.items() if v})

    def action_cancel(self) -> None:
        self.dismiss(None)
