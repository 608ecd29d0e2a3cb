"""One health or metric tile: state word and symbol, value, sparkline, reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import messages
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from console.models import Check, State
from widgets.outside import outside

BLOCKS = "▁▂▃▄▅▆▇█"
STATES = ("-ok", "-warn", "-crit", "-down", "-unknown")
LINES = 3


def sparkline(values: Sequence[float], width: int) -> str:
    """The last `width` values as block characters scaled between their min and max."""
    values = [v for v in values[-width:] if v is not None] if width > 0 else []
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(BLOCKS[min(len(BLOCKS) - 1, int((v - low) / span * (len(BLOCKS) - 1)))] for v in values)


class HealthTile(Widget):
    """A target at a glance; colour follows the state but the word and symbol always say it too.

    Drawn with the line API: an update repaints only the lines whose text changed (usually just the value and
    sparkline), which keeps an idle dashboard's terminal output small.
    """

    DEFAULT_CSS = """
    HealthTile { height: 3; padding: 0 1; background: $surface; border-left: tall $panel; }
    HealthTile.-ok { border-left: tall $success; }
    HealthTile.-warn { border-left: tall $warning; background: $warning 10%; }
    HealthTile.-crit { border-left: tall $error; background: $error 15%; }
    HealthTile.-down { border-left: tall $error; background: $error 25%; }
    HealthTile.-unknown { border-left: tall $secondary; }
    """

    def __init__(self, check: Check, history: Sequence[float] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.history = list(history)
        self._lines: list[Text] = [Text()] * LINES
        self._inputs: list[tuple[Any, ...] | None] = [None] * LINES  # what each line was made from
        self._strips: dict[int, tuple[tuple[int, Style], Strip]] = {}  # y: ((width, style), strip)
        self.add_class(f"-{check.state.value}")

    def show(self, check: Check, history: Sequence[float]) -> None:
        if check.state != self.check.state:
            self.remove_class(*STATES)
            self.add_class(f"-{check.state.value}")
        self.check, self.history = check, list(history)
        self._repaint(changed_only=True)

    def on_resize(self) -> None:
        self._repaint(changed_only=False)

    def _repaint(self, *, changed_only: bool) -> None:
        """Remake the lines whose inputs changed (a poll usually moves only the value and the sparkline: the title
        and the reason are not made again) and repaint those whose text changed."""
        check, width = self.check, max(self.size.width, 8)
        inputs = ((check.state, check.name, width), (check.value, tuple(self.history), width), (check.reason, width))
        dirty = []
        for y, (made_from, make) in enumerate(zip(inputs, (self._title, self._value, self._reason), strict=True)):
            if changed_only and made_from == self._inputs[y]:
                continue
            line = make(width)
            if not changed_only or line != self._lines[y]:
                self._strips.pop(y, None)
                dirty.append(Region(0, y, self.size.width, 1))
            self._lines[y], self._inputs[y] = line, made_from
        if dirty:
            self._repaint_lines(dirty)

    def _repaint_lines(self, regions: list[Region]) -> None:
        """Have these lines drawn in the next frame. Textual's `refresh(region)` wakes the tile's own message loop,
        whose idle pass posts the screen an Update (and it drops the tile's style and size caches): ten wake-ups a
        poll for ten probes, ~12 % of an idle dashboard's CPU (benchmarks/idle.py). Marking the lines dirty and
        posting that Update here is what the idle pass does (Textual 8.2.8, pinned: `Widget._set_dirty`,
        `Widget._check_refresh`); a tile not yet on a screen refreshes as usual."""
        if not (self.is_mounted and self.is_attached):
            self.refresh(*regions)
            return
        self._set_dirty(*regions)
        self.screen.post_message(messages.Update(self))

    def render_line(self, y: int) -> Strip:
        """A line's strip, kept until its text, the width or the style changes: a frame that repaints one tile's
        value line asks for the others' lines too (an idle dashboard's CPU went mostly to redrawing unchanged
        text)."""
        style = self.visual_style.rich_style  # cached by Textual until the styles change (rich_style is not)
        width = self.size.width
        key = (width, style)
        if (kept := self._strips.get(y)) is not None and kept[0] == key:
            return kept[1]
        if y >= LINES:
            return Strip.blank(width, style)
        segments = list(self._lines[y].render(self.app.console))
        strip = Strip([s for s in segments if s.text != "\n"]).crop(0, width)
        strip = strip.apply_style(style).extend_cell_length(width, style)
        self._strips[y] = (key, strip)
        return strip

    def _title(self, width: int) -> Text:
        state = self.check.state
        title = Text()
        title.append(
            f"{state.symbol} {state.word}", style={State.OK: "bold", State.UNKNOWN: "dim"}.get(state, "bold reverse")
        )
        title.append_text(outside(f" {self.check.name}", "bold"))
        title.truncate(width, overflow="ellipsis")
        return title

    def _value(self, width: int) -> Text:
        value = outside(self.check.value)
        spark = sparkline(self.history, width - value.cell_len - 1)
        if spark:
            value.append(" " + spark, style="dim")
        value.truncate(width)
        return value

    def _reason(self, width: int) -> Text:
        reason = outside(self.check.reason, "italic")
        reason.truncate(width, overflow="ellipsis")
        return reason
