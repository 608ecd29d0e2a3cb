"""One health or metric tile: state word and symbol, value, sparkline, reason."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from console.models import Check, State

BLOCKS = "▁▂▃▄▅▆▇█"
STATES = ("-ok", "-warn", "-crit", "-down", "-unknown")


def sparkline(values: Sequence[float], width: int) -> str:
    """The last `width` values as block characters scaled between their min and max."""
    values = [v for v in values[-width:] if v is not None]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(BLOCKS[min(len(BLOCKS) - 1, int((v - low) / span * (len(BLOCKS) - 1)))] for v in values)


class HealthTile(Static):
    """A target at a glance; colour follows the state but the word and symbol always say it too."""

    DEFAULT_CSS = """
    HealthTile { height: 3; padding: 0 1; background: $surface; border-left: tall $panel; }
    HealthTile.-ok { border-left: tall $success; }
    HealthTile.-warn { border-left: tall $warning; background: $warning 10%; }
    HealthTile.-crit { border-left: tall $error; background: $error 15%; }
    HealthTile.-down { border-left: tall $error; background: $error 25%; }
    HealthTile.-unknown { border-left: tall $secondary; }
    HealthTile:focus { background: $boost; }
    """

    def __init__(self, check: Check, history: Sequence[float] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.history = list(history)

    def on_mount(self) -> None:
        self.show(self.check, self.history)

    def show(self, check: Check, history: Sequence[float]) -> None:
        changed_state = check.state != self.check.state
        self.check, self.history = check, list(history)
        if changed_state or not self.has_class(f"-{check.state.value}"):
            self.remove_class(*STATES)
            self.add_class(f"-{check.state.value}")
        self.update(self._text(), layout=False)

    def on_resize(self) -> None:
        self.update(self._text(), layout=False)

    def _text(self) -> Text:
        check = self.check
        width = max(self.size.width - 3, 8)
        style = {State.OK: "bold", State.UNKNOWN: "dim"}.get(check.state, "bold reverse")
        line = Text()
        line.append(f"{check.state.symbol} {check.state.word}", style=style)
        line.append(f" {check.name}", style="bold")
        line.truncate(width, overflow="ellipsis")
        value = Text(check.value)
        spark = sparkline(self.history, max(width - len(check.value) - 1, 0))
        if spark:
            value.append(" " + spark, style="dim")
        reason = Text(check.reason or " ", style="italic")
        reason.truncate(width, overflow="ellipsis")
        return Text("\n").join([line, value, reason])
