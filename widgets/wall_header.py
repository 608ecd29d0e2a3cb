"""The wall's incident header: severity, title, status, the impact clock, commander, the next-update countdown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Digits, Static

from console.incident.state import IncidentState, clock_text
from widgets.incident_header import OVERDUE, RANK_COLOURS
from widgets.outside import outside


class WallHeader(Widget):
    """Large type for a room: with class `-big` the clocks are `Digits`, else one line of text holds them.

    An overdue update says so in words with a symbol and turns to the error colour, never by colour alone.
    """

    DEFAULT_CSS = """
    WallHeader { height: auto; background: $panel; padding: 0 1; }
    WallHeader > .wall-line { height: 1; width: 1fr; }
    WallHeader > #wall-clocks { height: 4; display: none; }
    WallHeader.-big > #wall-clocks { display: block; }
    WallHeader.-big.-quiet > #wall-clocks { display: none; }
    WallHeader #wall-clocks > Vertical { width: auto; margin-right: 6; }
    WallHeader #wall-clocks Static { width: auto; color: $text-muted; }
    WallHeader #wall-clocks Digits { width: auto; }
    WallHeader #wall-clocks #wall-commander-name { color: $foreground; text-style: bold; padding-top: 1; }
    WallHeader #wall-due.-overdue Digits, WallHeader #wall-due.-overdue Static { color: $error; text-style: bold; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: dict[str, Text | str] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="wall-title", classes="wall-line")
        with Horizontal(id="wall-clocks"):
            with Vertical(id="wall-impact"):
                yield Static("IMPACT FOR")
                yield Digits()
            with Vertical(id="wall-due"):
                yield Static()
                yield Digits()
            with Vertical(id="wall-commander"):
                yield Static("COMMANDER")
                yield Static(id="wall-commander-name")
        yield Static(id="wall-facts", classes="wall-line")
        yield Static(id="wall-triage", classes="wall-line")

    def show_incident(self, state: IncidentState | None, now: datetime, health: Text) -> None:
        """The open incident as of `now` (call every second for the clocks); with none open, `health` instead."""
        if state is None or not state.is_open:
            self.add_class("-quiet")
            title = Text.assemble(("NO INCIDENT", "bold reverse"), "  ", health)
            last = f"last: {state.id} {state.title} ({state.status.value})" if state is not None else ""
            self._put("#wall-title", title)
            self._put("#wall-facts", outside(last, "dim"))
            return
        self.remove_class("-quiet")
        level = state.level
        colour = self.app.theme_variables.get(RANK_COLOURS[min(level.rank, len(RANK_COLOURS) - 1)], "")
        title = Text.assemble(
            outside(f" {level.name} {level.label} ", f"bold reverse {colour}"),
            "  ",
            (state.status.word, "bold reverse"),
            "  ",
            outside(state.title, "bold"),
        )
        elapsed = clock_text(state.elapsed_s(now))
        due_label, due_clock, overdue = self._due(state, now)
        commander = state.roles.get("commander", "none assigned")
        facts = outside(f"impact since {state.impact_started.astimezone(UTC):%H:%M} UTC · {state.id}", "dim")
        if not self.has_class("-big"):
            error = self.app.theme_variables.get("error", "")
            facts = Text.assemble(
                ("impact ", "dim"),
                (elapsed, "bold"),
                ("  commander ", "dim"),
                outside(commander, "bold"),
                "  ",
                (f"{due_label} {due_clock}", f"bold reverse {error}" if overdue else ""),
                "  · ",
                facts,
            )
        self._put("#wall-title", title)
        self._put("#wall-facts", facts)
        self._put("#wall-impact Digits", elapsed)
        self._put("#wall-due Static", due_label)
        self._put("#wall-commander-name", commander)
        self._put("#wall-due Digits", due_clock if due_clock[:1].isdigit() else "--:--")
        self.query_one("#wall-due").set_class(overdue, "-overdue")

    def show_triage(self, text: str) -> None:
        """The running triage step and who runs it; empty when none runs."""
        self._put("#wall-triage", outside(f"▶ {text}", "bold") if text else Text("no triage running", style="dim"))

    def on_resize(self) -> None:
        truncated = [k for k in self._shown if k in ("#wall-title", "#wall-facts", "#wall-triage")]
        for key in truncated:
            self._put(key, self._shown.pop(key))

    @staticmethod
    def _due(state: IncidentState, now: datetime) -> tuple[str, str, bool]:
        """(label, clock, overdue) of the next status update."""
        if state.next_update_at is None:
            return "NEXT UPDATE", "none due", False
        overdue = state.overdue_s(now)
        if overdue > 0:
            return f"{OVERDUE} BY", clock_text(overdue), True
        return "NEXT UPDATE IN", clock_text((state.next_update_at - now).total_seconds()), False

    def _put(self, selector: str, value: Text | str) -> None:
        """Update one child only when what it shows changed (the clocks change every second, the rest rarely)."""
        if self._shown.get(selector) == value:
            return
        self._shown[selector] = value
        widget = self.query_one(selector)
        if isinstance(widget, Digits):
            widget.update(str(value))
        elif isinstance(widget, Static):
            text = value.copy() if isinstance(value, Text) else outside(value)
            text.truncate(max(self.content_size.width, 10), overflow="ellipsis")
            widget.update(text, layout=not widget.has_class("wall-line"))  # a line's size never changes
