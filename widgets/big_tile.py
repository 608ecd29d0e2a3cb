"""A wall tile: one health or metric target, readable across the room (state word, symbol, value, sparkline)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Digits, Static

from console.models import Check, State
from widgets.health_tile import STATES, sparkline
from widgets.outside import outside

COMPACT_SPARK, COMPACT_SPARK_MIN = 12, 4  # a one-line tile's sparkline (the reason follows it)
NUMBER = re.compile(r"^([-+]?[\d,.]+)\s*(.*)$")


def split_value(value: str) -> tuple[str, str]:
    """`1,143 ms` -> (`1,143`, `ms`); a value that does not start with a number -> (``, value)."""
    match = NUMBER.match(value)
    return (match.group(1), match.group(2)) if match else ("", value)


class BigTile(Widget):
    """Compact (class `-compact`): one line. Otherwise the value in `Digits`, a sparkline and the reason.

    Colour follows the state, but the word and the symbol always say it too.
    """

    DEFAULT_CSS = """
    BigTile { height: 6; padding: 0 1; background: $surface; border-left: outer $panel; }
    BigTile.-compact { height: 1; border-left: none; padding: 0; }
    BigTile.-ok { border-left: outer $success; }
    BigTile.-warn { border-left: outer $warning; background: $warning 10%; }
    BigTile.-crit { border-left: outer $error; background: $error 15%; }
    BigTile.-down { border-left: outer $error; background: $error 25%; }
    BigTile.-unknown { border-left: outer $secondary; }
    BigTile > .tile-line { height: 1; width: 1fr; }
    BigTile > #tile-number { height: 3; }
    BigTile > #tile-number Digits { width: auto; }
    BigTile > #tile-number Static { width: auto; padding: 2 0 0 1; }
    BigTile.-compact > #tile-number, BigTile.-compact > #tile-spark, BigTile.-compact > #tile-reason {
        display: none;
    }
    """

    def __init__(self, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.history: list[float] = []
        self._shown: dict[str, Text | str] = {}
        self.add_class(f"-{check.state.value}")

    def compose(self) -> ComposeResult:
        yield Static(id="tile-title", classes="tile-line")
        with Horizontal(id="tile-number"):
            yield Digits(id="tile-digits")
            yield Static(id="tile-unit")
        yield Static(id="tile-spark", classes="tile-line")
        yield Static(id="tile-reason", classes="tile-line")

    def on_mount(self) -> None:
        self._paint()

    def on_resize(self) -> None:
        self._shown.clear()  # the truncation depends on the width
        self._paint()

    def show(self, check: Check, history: Sequence[float]) -> None:
        if check.state != self.check.state:
            self.remove_class(*STATES)
            self.add_class(f"-{check.state.value}")
        self.check, self.history = check, [v for v in history if v is not None]
        self._paint()

    def _paint(self) -> None:
        check = self.check
        width = max(self.content_size.width, 8)
        style = {State.OK: "bold", State.UNKNOWN: "dim"}.get(check.state, "bold reverse")
        title = Text.assemble((f" {check.state.symbol} {check.state.word} ", style), " ", outside(check.name, "bold"))
        number, unit = split_value(check.value)
        reason = outside(check.reason, "italic")
        if self.has_class("-compact"):
            title.append_text(outside(f" {check.value}" if check.value else ""))
            room = width - title.cell_len - 2 - reason.cell_len  # the reason first, then as much history as fits
            spark = sparkline(self.history, min(COMPACT_SPARK, max(COMPACT_SPARK_MIN, room)))
            if spark:
                title.append(" " + spark, style="dim")
            if check.reason:
                title.append_text(outside(f" {check.reason}", "italic"))
        title.truncate(width, overflow="ellipsis")
        self._set("#tile-title", title)
        if self.has_class("-compact"):
            return
        reason.truncate(width, overflow="ellipsis")
        self._set("#tile-digits", number or "-")
        self._set("#tile-unit", outside(unit if number else check.value or "no reading"))
        self._set("#tile-spark", Text(sparkline(self.history, width), style="bold"))
        self._set("#tile-reason", reason)

    def _set(self, selector: str, value: Text | str) -> None:
        """Update one child only when what it shows changed; only the unit's width can change the layout."""
        if self._shown.get(selector) == value:
            return
        self._shown[selector] = value
        widget = self.query_one(selector)
        if isinstance(widget, Digits):
            widget.update(str(value))
        elif isinstance(widget, Static):
            widget.update(value, layout=selector == "#tile-unit")
