"""Outside text on screen: what did not come from the console's own code (a server's answer, a journal entry, a
file, the config, another operator) is shown as typed, never obeyed.

`outside(text)` is the one way a widget or screen turns such a string into screen text: a Rich `Text` whose
control characters are made visible by `console.redact.make_safe` (ESC as `\\x1b`, C1, DEL, the bidi controls as
`\\u202e`; a newline too, unless `lines`), and which is never parsed as markup (`[bold red]` or `[link=…]` in a note
shows as typed). Rich and Textual strip only a few control characters themselves, and a `str` handed to `Static`,
`OptionList`, `Tree` or a border title is read as markup.

`outside_markup(text)` is the same rule for the few Textual APIs that take only a markup string (the palette's help).

`ControlNet` is the last line: a line filter on every line the app paints, it shows any control character that
still reaches it the same way (cropped to the line's width) and counts it. Inputs and text areas (Textual's own,
prefilled with a value from outside) rely on it; a widget of ours never should (`tests/test_escape_pty.py`).
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import StyleType
from rich.text import Text
from textual.color import Color
from textual.filter import LineFilter
from textual.markup import escape

from console.redact import is_safe, make_safe


def outside(text: str, style: StyleType = "", *, lines: bool = False, **options: Any) -> Text:
    """`text` from outside as screen text: controls visible (a newline too, unless `lines`), no markup."""
    return Text(make_safe(text, newlines=lines), style=style, **options)


def outside_markup(text: str) -> str:
    """`text` from outside for an API that parses markup: controls visible, brackets escaped."""
    return escape(make_safe(text))


class ControlNet(LineFilter):
    """Shows a control character that reached a painted line as `make_safe` does, keeping the line's width."""

    def __init__(self) -> None:
        super().__init__()
        self.caught = 0  # lines that held a control (only Textual's inputs should: see the module docstring)

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if all(is_safe(segment.text) for segment in segments):
            return segments
        self.caught += 1
        width = Segment.get_line_length(segments)
        shown = [Segment(make_safe(text), style, control) for text, style, control in segments]
        return Segment.adjust_line_length(shown, width)
