"""Cells to strips for KeyedTable: each row is drawn once into a Strip, cell by cell as Textual's DataTable does.

DataTable renders every visible cell through Rich (Padding, Styled, render_lines: ~0.2 ms a cell) and drops its
caches whenever any cell changes. Here a row's Strip is cached by the row's content, so a refresh redraws only the
rows whose text changed; drawing a cell is a truncate and a `Text.render`, with the same per-character styles
(padding 1 each side, cursor colour over the cell's own, header style) so snapshots look as they did.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.filter import LineFilter
from textual.strip import Strip

from console.redact import make_safe
from widgets.outside import outside

PADDING = 1
JOINER = Text("\n")


class Row(Protocol):
    """What a table reads of a row: a TableRow, or one built when first read (pg_activity_table.LazyRow)."""

    @property
    def key(self) -> str: ...

    @property
    def cells(self) -> tuple[str | Text, ...]: ...

    @property
    def sort(self) -> tuple[Any, ...] | None: ...

    @property
    def copy(self) -> str | None: ...

    def haystack(self) -> str: ...


@dataclass(frozen=True)
class TableRow:
    """One row: a stable key, the cells shown, optional sort values (one per column), and text to copy."""

    key: str
    cells: tuple[str | Text, ...]
    sort: tuple[Any, ...] | None = None
    copy: str | None = None
    search: str = field(default="", compare=False)

    def haystack(self) -> str:
        return self.search or " ".join(c.plain if isinstance(c, Text) else c for c in self.cells)


@dataclass
class ColumnSpec:
    """A column: key, label, a fixed width (None: fits its content, growing only) and the width it has now."""

    key: str
    label: Text
    fixed: int | None = None
    content: int = 0

    @property
    def width(self) -> int:
        """Cells of content (padding excluded)."""
        return self.fixed if self.fixed is not None else self.content


def as_text(cell: str | Text) -> Text:
    """A cell as Text: a str is outside text (`outside`: controls visible, never markup); a Text is shown as built."""
    return outside(cell, no_wrap=True, overflow="ellipsis", end="") if isinstance(cell, str) else cell


def signature(cell: str | Text) -> Hashable:
    """What a cell looks like, hashable (Text's own equality ignores its style)."""
    if isinstance(cell, str):
        return cell
    return (cell.plain, cell.style, tuple(cell.spans), cell.overflow)


def measure(cell: str | Text) -> int:
    """Widest line of a cell, in terminal cells."""
    plain = make_safe(cell) if isinstance(cell, str) else cell.plain
    if "\n" not in plain:
        return cell_len(plain)
    return max(cell_len(line) for line in plain.split("\n"))


def fit(cell: Text, width: int) -> Text:
    """The cell's first line, tabs expanded, cut to `width` with its overflow (as Rich does with no_wrap)."""
    text = cell
    if "\n" in text.plain:
        text = text.split(allow_blank=True)[0]
    if "\t" in text.plain:
        text = text.copy()
        text.expand_tabs(8)
    if text.cell_len > width:
        text = text.copy()
        text.rstrip_end(width)
        text.truncate(width, overflow=text.overflow or "fold")
    return text


def cell_segments(console: Console, cell: Text, width: int, pre: Style, post: Style) -> list[Segment]:
    """One padded cell: what `Styled(Padding(cell, (0, 1)), pre, post)` renders on one line."""
    text = fit(cell, width)
    pad = Segment(" " * PADDING)
    line = JOINER.join([text]) if text.style else text  # as Rich renders it: the text's style becomes a span
    parts = [pad, *line.render(console, end=""), Segment(" " * (width - text.cell_len)), pad]
    return list(Segment.simplify(Segment.apply_style([p for p in parts if p.text], pre, post or None)))


class Painter:
    """Draws rows for one set of styles and column widths, caching each cell's segments by (column, content, cursor):
    a row whose only change is one cell costs one cell render, and equal cells in other rows cost nothing.

    Given the app's line filters (with the background they need), it applies them cell by cell as it caches them,
    so a changed row is not filtered again as a whole line.
    """

    def __init__(
        self,
        console: Console,
        columns: Sequence[ColumnSpec],
        width: int,
        styles: tuple[Style, Style, Style],
        filters: Sequence[LineFilter],
        background: Color,
    ) -> None:
        self.console, self.columns = console, list(columns)
        self.filters, self.background = list(filters), background
        self.row_style, self.header_style, cursor = styles
        self.extend = max(0, width - table_width(columns))
        # No per-cell meta (clicks are placed by offset): cells of one style merge into one segment per run, and
        # every segment costs an SGR sequence and a reset on the wire (two-thirds of a full row's bytes before).
        self.pre = {
            (False, False): self.row_style,
            (False, True): self.row_style + cursor,
            (True, False): self.header_style,
        }
        self.post = {False: Style.null(), True: Style.from_color(color=cursor.color)}
        self.fill = {k: self.filtered([Segment(" " * self.extend, v)]) for k, v in self.pre.items()}
        self.blank_style = self.filtered([Segment(" ", self.row_style)])[0].style or self.row_style
        self.cells: dict[tuple, list[Segment]] = {}

    def filtered(self, segments: list[Segment]) -> list[Segment]:
        for line_filter in self.filters:
            segments = line_filter.apply(segments, self.background)
        return segments

    def row(
        self, cells: Sequence[str | Text], signatures: Sequence[Hashable], *, cursor: bool, header: bool = False
    ) -> Strip:
        """The whole row (every column, then the rest of the line in the row's style), before horizontal scrolling."""
        if len(self.cells) > 50_000:
            self.cells.clear()
        state = (header, cursor)
        pre, post = self.pre[state], self.post[cursor]
        segments: list[Segment] = []
        for index, (sig, column) in enumerate(zip(signatures, self.columns, strict=False)):
            key = (index, sig, state)
            drawn = self.cells.get(key)
            if drawn is None:
                drawn = cell_segments(self.console, as_text(cells[index]), column.width, pre, post)
                drawn = self.cells[key] = self.filtered(drawn)
            segments += drawn
        if self.extend:
            segments += self.fill[state]
        return Strip(Segment.simplify(segments), table_width(self.columns) + self.extend)

    def blank(self, width: int) -> Strip:
        """A line past the last row."""
        return Strip([Segment(" " * width, self.blank_style)], width)


def table_width(columns: Sequence[ColumnSpec]) -> int:
    return sum(c.width + 2 * PADDING for c in columns)


def column_edges(columns: Sequence[ColumnSpec]) -> list[int]:
    """Where each column starts on the line, then where the last one ends."""
    edges = [0]
    for column in columns:
        edges.append(edges[-1] + column.width + 2 * PADDING)
    return edges
