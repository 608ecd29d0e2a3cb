"""Declare an incident: title, severity and when the impact started (may be backdated)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Select, Static

from console.incident.events import IncidentError
from console.models.severity import Scheme
from console.timeparse import parse_moment
from widgets.outside import outside


@dataclass(frozen=True)
class Declaration:
    """What the operator asked for; `impact_started` None means now."""

    title: str
    severity: str
    impact_started: datetime | None


class DeclareScreen(ModalScreen[Declaration | None]):
    """Three fields; enter in the last one (or ctrl+s) declares, escape cancels, mistakes are shown in place."""

    HELP_PLACE = "declare form"

    DEFAULT_CSS = """
    DeclareScreen { align: center middle; }
    DeclareScreen > #declare { width: 76; max-width: 100%; height: auto; border: thick $error;
                               background: $surface; padding: 0 1; }
    DeclareScreen .label { color: $text-muted; margin-top: 1; }
    DeclareScreen #severity-meaning { color: $text-muted; }
    DeclareScreen #declare-error { color: $error; height: auto; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="declare.cancel"),
        Binding("ctrl+s", "submit", "Declare", id="declare.submit"),
    ]

    def __init__(self, scheme: Scheme, now: datetime) -> None:
        super().__init__()
        self.scheme = scheme
        self.now = now

    def compose(self) -> ComposeResult:
        options = [(outside(f"{lv.title} · respond: {lv.response}"), lv.name) for lv in self.scheme.levels]
        with Vertical(id="declare"):
            yield Static("[b]Declare an incident[/b]")
            yield Static("What is broken, as users see it", classes="label")
            yield Input(placeholder="e.g. checkout returns 500s", id="title", compact=True)
            yield Static("Severity", classes="label")
            yield Select(options, value=self.scheme.default.name, allow_blank=False, id="severity", compact=True)
            yield Static(outside(self.scheme.default.description), id="severity-meaning")
            yield Static("Impact started (empty: now · 15m ago · 02:55 UTC)", classes="label")
            yield Input(placeholder="now", id="impact", compact=True)
            yield Static("", id="declare-error")
            yield Static("enter/ctrl+s: declare · escape: cancel", classes="label")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    @on(Input.Submitted, "#title")
    def _next_field(self) -> None:
        self.query_one("#severity", Select).focus()

    @on(Select.Changed, "#severity")
    def _explain(self, event: Select.Changed) -> None:
        level = self.scheme.parse(str(event.value))
        self.query_one("#severity-meaning", Static).update(outside(level.description if level else ""))

    @on(Input.Submitted, "#impact")
    def _submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        error = self.query_one("#declare-error", Static)
        if not title:
            error.update("✖ the title is empty: say what is broken")
            return
        text = self.query_one("#impact", Input).value
        try:
            impact = parse_moment(text, self.now, future=False, what="impact started") if text.strip() else None
        except (IncidentError, ValueError) as exc:
            error.update(outside(f"✖ {exc}"))
            return
        if impact is not None and impact > self.now:
            error.update("✖ impact started: that is in the future")
            return
        severity = self.query_one("#severity", Select).value
        self.dismiss(Declaration(title, str(severity), impact))

    def action_cancel(self) -> None:
        self.dismiss(None)
