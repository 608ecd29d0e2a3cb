"""The status update composer: the template's fields prefilled from the incident, editable, then posted."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static, TextArea

from console.incident.updates import DETAILS, Template
from widgets.outside import outside


class StatusUpdateScreen(ModalScreen[dict[str, str] | None]):
    """One Input per field and a TextArea for the details; ctrl+s posts once `check(fields)` accepts them."""

    HELP_PLACE = "status update"

    DEFAULT_CSS = """
    StatusUpdateScreen { align: center middle; }
    StatusUpdateScreen > #composer { width: 100; max-width: 100%; height: auto; max-height: 100%;
                                     border: thick $primary; background: $surface; padding: 0 1; }
    StatusUpdateScreen .field { height: 1; margin-bottom: 1; }
    StatusUpdateScreen .field > Static { width: 15; color: $text-muted; }
    StatusUpdateScreen .field > Input { width: 1fr; }
    StatusUpdateScreen .label { color: $text-muted; }
    StatusUpdateScreen TextArea { height: 5; }
    StatusUpdateScreen #composer-error { color: $error; height: auto; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="update.cancel"),
        Binding("ctrl+s", "post", "Post and copy", id="update.post"),
    ]

    def __init__(
        self, template: Template, severity: str, draft: dict[str, str], check: Callable[[dict[str, str]], str | None]
    ) -> None:
        super().__init__()
        self.template = template
        self.severity = severity
        self.draft = draft
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(id="composer"):
            yield Static(outside(f"{self.template.heading} - {self.severity}", "bold").append("\n"))
            for key, label in self.template.fields:
                with Horizontal(classes="field"):
                    yield Static(label)
                    yield Input(self.draft.get(key, ""), id=f"field-{key}", compact=True)
            yield Static("Details (optional)", classes="label")
            yield TextArea(self.draft.get(DETAILS, ""), id="details", soft_wrap=True, compact=True)
            yield Static("", id="composer-error")
            yield Static("ctrl+s: post and copy (OSC 52) · enter: next field · escape: cancel", classes="label")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    @property
    def fields(self) -> dict[str, str]:
        values = {key: self.query_one(f"#field-{key}", Input).value for key in self.template.keys}
        return {**values, DETAILS: self.query_one("#details", TextArea).text}

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    def action_post(self) -> None:
        error = self.check(self.fields)
        if error:
            self.query_one("#composer-error", Static).update(outside(f"✖ {error}"))
            return
        self.dismiss(self.fields)

    def action_cancel(self) -> None:
        self.dismiss(None)
