"""A one-line labelled bar gauge whose state is shown by word and symbol as well as colour."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from console.models import State
from widgets.outside import outside


class Gauge(Widget):
    """`label [██████░░░░] 62% of 100  ● OK`: value against a maximum, state-coloured."""

    DEFAULT_CSS = """
    Gauge { height: 1; width: 1fr; }
    """

    reading: reactive[tuple[float, float, State, str]] = reactive((0.0, 0.0, State.UNKNOWN, ""), layout=False)

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.label = label

    def show(self, value: float, maximum: float, state: State, text: str = "") -> None:
        """Set the reading; `text` replaces the default 'value of max' description."""
        self.reading = (value, maximum, state, text)

    def render(self) -> Text:
        value, maximum, state, text = self.reading
        style = {
            State.OK: "$success",
            State.WARN: "$warning",
            State.CRIT: "$error",
            State.DOWN: "$error",
        }.get(state, "$text-muted")
        share = 0.0 if maximum <= 0 else max(0.0, min(1.0, value / maximum))
        description = text or f"{share:.0%} of {maximum:g}"
        tail = outside(f" {description}  {state.symbol} {state.word}")  # the description may hold a server's words
        bar_width = max(4, self.size.width - len(self.label) - len(tail.plain) - 3)
        filled = round(share * bar_width)
        out = Text(f"{self.label} [")
        out.append("█" * filled, style=self.app.theme_variables.get(style[1:], "") if style else "")
        out.append("░" * (bar_width - filled), style="dim")
        out.append("]").append_text(tail)
        return out
