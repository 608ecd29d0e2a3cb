"""A table keyed by row id on Textual's line API: in-place refresh that redraws only changed rows, cursor by key,
filter, sort, marks, copy."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from operator import attrgetter
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from console.logfilter import FilterError, table_filter
from widgets.messages import FilterRequested
from widgets.table_strips import (
    ColumnSpec,
    Painter,
    Row,
    TableRow,
    as_text,
    column_edges,
    measure,
    signature,
    table_width,
)

__all__ = ["MARK", "KeyedTable", "TableRow"]

MARK = "●"
ROW_KEY = attrgetter("key")


class KeyedTable(ScrollView, can_focus=True):
    """Rows keyed by id, refreshed in place: the cursor stays on the same key, never freezes, never jumps.

    `/` asks for a filter (regex, `!` inverts), `s`/`S` sort by the next column / reverse, `space` marks,
    `y` copies the row's copy text with OSC 52, `enter` (or a click on the cursor row) posts DataTable.RowSelected.
    With `stick_to_top`, a cursor on the first row stays on the first row as rows arrive (newest-first lists).
    Each row is drawn once into a Strip cached by its content: a refresh redraws only the rows that changed.
    """

    HELP_PLACE = "any table"

    BINDINGS: ClassVar = [
        # Moving and selecting have no description, as DataTable's (the help screen lists described bindings).
        Binding("enter", "select_cursor", show=False),
        Binding("up", "cursor_up", show=False),
        Binding("down", "cursor_down", show=False),
        Binding("pageup", "page_up", show=False),
        Binding("pagedown", "page_down", show=False),
        Binding("home,ctrl+home", "first_row", show=False),
        Binding("end,ctrl+end", "last_row", show=False),
        Binding("slash", "filter", "Filter", id="table.filter"),
        Binding("s", "cycle_sort", "Sort", id="table.sort"),
        Binding("S", "reverse_sort", "Reverse", show=False, id="table.reverse"),
        Binding("space", "toggle_mark", "Mark", id="table.mark"),
        Binding("y", "copy_row", "Copy", id="table.copy"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"datatable--cursor", "datatable--header"}
    DEFAULT_CSS = """
    KeyedTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .datatable--cursor { background: $block-cursor-background; color: $block-cursor-foreground;
                                     text-style: $block-cursor-text-style; }
            & > .datatable--header { background-tint: $foreground 5%; }
        }
        & > .datatable--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .datatable--header { background: ansi_bright_blue; color: ansi_default; }
        & > .datatable--cursor { background: $block-cursor-blurred-background; color: $block-cursor-blurred-foreground;
                                 text-style: $block-cursor-blurred-text-style; }
    }
    """

    RowSelected = DataTable.RowSelected  # posted as DataTable's, so `@on(DataTable.RowSelected, "#id")` still works

    class MarksChanged(Message):
        """The set of marked keys changed."""

        def __init__(self, table: KeyedTable, marked: list[str]) -> None:
            super().__init__()
            self.table = table
            self.marked = marked

        @property
        def control(self) -> KeyedTable:
            return self.table

    def __init__(
        self, columns: Sequence[tuple[str, str]], *, markable: bool = False, stick_to_top: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.column_spec = list(columns)
        self.markable = markable
        self.stick_to_top = stick_to_top
        self.filter_text = ""
        self._filter: re.Pattern[str] | None = None
        self._invert = False
        self.sort_column: int | None = None
        self.sort_reverse = False
        self.marked: set[str] = set()
        self.cursor_row = 0
        self._rows: list[Row] = []
        self._keys: list[str] = []
        self._by_key: dict[str, Row] = {}
        self._shown: list[str] = []
        self._signatures: list[tuple | None] = []
        self._strips: dict[tuple, Strip] = {}
        self._strip_context: tuple = ()
        self._painter: Painter | None = None
        self.columns: list[ColumnSpec] = []
        self.set_columns([(key, label, None) for key, label in self.column_spec])

    def set_columns(self, columns: Sequence[tuple[str, str, int | None]]) -> None:
        """Replace the columns: (key, label, fixed width or None to fit the content); the mark column comes first."""
        self.column_spec = [(key, label) for key, label, _ in columns]
        specs = [ColumnSpec("_mark", Text(" "), 1)] if self.markable else []
        specs += [ColumnSpec(key, Text(label), width) for key, label, width in columns]
        for spec in specs:
            spec.content = spec.label.cell_len
        self.columns = specs
        self._shown, self._signatures = [], []
        self._strips.clear()

    @property
    def row_count(self) -> int:
        return len(self._shown)

    @property
    def current_key(self) -> str | None:
        if not self._shown or not self.is_valid_row_index(self.cursor_row):
            return None
        return self._shown[self.cursor_row]

    @property
    def rows_by_key(self) -> dict[str, Row]:
        return self._by_key

    def is_valid_row_index(self, index: int) -> bool:
        return 0 <= index < len(self._shown)

    def get_row(self, key: str) -> list[Text]:
        """The cells shown for a row key (as Text, with the mark column first when markable)."""
        return [as_text(cell) for cell in self._cells_of(self._by_key[key])]

    def get_row_at(self, index: int) -> list[Text]:
        return self.get_row(self._shown[index])

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show these rows (filtered and sorted), redrawing only the rows whose cells changed."""
        self._rows = list(rows)
        self._keys = list(map(ROW_KEY, self._rows))  # in C: 3,000 rows a refresh
        self._by_key = dict(zip(self._keys, self._rows, strict=True))
        if self.marked - self._by_key.keys():
            self.marked &= self._by_key.keys()
            self.post_message(self.MarksChanged(self, sorted(self.marked)))
        self._show_rows()

    def set_filter(self, text: str) -> str | None:
        """Apply a regex filter (`!` prefix inverts, empty clears). Returns an error text if it is not a regex."""
        try:
            compiled, invert = table_filter(text)
        except FilterError as exc:
            return str(exc)
        self.filter_text, self._filter, self._invert = text.strip(), compiled, invert
        self._show_rows()
        return None

    def sort_by(self, column: int | None, reverse: bool = False) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self._show_rows()

    def _visible(self) -> list[Row]:
        rows = self._rows
        if self._filter is not None:
            rows = [r for r in rows if bool(self._filter.search(r.haystack())) != self._invert]
        if self.sort_column is not None:
            index = self.sort_column

            def sort_key(row: Row) -> tuple:
                value = row.sort[index] if row.sort else row.cells[index]
                value = value.plain if isinstance(value, Text) else value
                return (value is None, value if value is not None else 0)

            rows = sorted(rows, key=sort_key, reverse=self.sort_reverse)
        return rows

    def _show_rows(self) -> None:
        visible = self._visible()
        keys: list[str] = self._keys if visible is self._rows else list(map(ROW_KEY, visible))
        # Only rows on screen need their signature now (render_line makes the others' when they scroll in),
        # unless a column fits its content, which needs every changed row measured.
        auto = any(c.fixed is None for c in self.columns)
        top = int(self.scroll_y)
        window = range(top, min(len(visible), top + self.size.height + 1))
        if auto or not self.is_mounted:
            signatures: list[tuple | None] = [self._signature(r) for r in visible]
        else:
            signatures = [None] * len(visible)
            for i in window:
                signatures[i] = self._signature(visible[i])
        # A newest-first list whose cursor is on the first row keeps following the newest row.
        keep = None if self.stick_to_top and self.cursor_row == 0 else self.current_key
        same_rows = keys == self._shown
        widths = [c.width for c in self.columns]
        if not same_rows:  # a new row set: columns fit it (a fixed-width column keeps its width)
            for column in self.columns:
                column.content = column.label.cell_len
        if auto:
            self._grow_columns(visible, signatures, full=not same_rows)
        resized = [c.width for c in self.columns] != widths
        old = self._signatures
        changed = [i for i in window if i >= len(old) or signatures[i] != old[i]]
        self._shown, self._signatures = keys, signatures
        cursor = self.cursor_row
        if not same_rows and keep is not None and keep in keys:
            self.cursor_row = keys.index(keep)
        elif not same_rows:
            self.cursor_row = max(0, min(cursor, len(keys) - 1))
        self._update_virtual_size()
        if not self.is_mounted:
            return
        if resized:
            self.refresh()
        else:  # rows compared by position: rows that moved repaint where they differ from what was there
            self._refresh_cells(changed, old, signatures)
            if self.cursor_row != cursor:
                self.refresh_lines(1 + cursor)
                self.refresh_lines(1 + self.cursor_row)
            if len(keys) < len(old):
                self.refresh_lines(1 + len(keys), len(old) - len(keys))
        if not same_rows:
            self._scroll_to_cursor()
        if len(self._strips) > 4 * len(keys) + 64:
            self._strips.clear()

    def _refresh_cells(self, changed: Sequence[int], old: Sequence[tuple | None], new: Sequence[tuple | None]) -> None:
        """Repaint each changed row from its first to its last changed cell, not the whole line: a refresh where
        only an age column moved repaints that column alone (one refresh call for them all)."""
        edges = column_edges(self.columns)
        scroll_x, scroll_y = self.scroll_offset
        full = max(self.virtual_size.width, self.size.width)
        regions = []
        for index in changed:
            before, after = old[index] if index < len(old) else None, new[index]
            if before is None or after is None or len(before) != len(after):
                left, right = scroll_x, scroll_x + full
            else:
                cells = [i for i, (was, now) in enumerate(zip(before, after, strict=True)) if was != now]
                left, right = edges[cells[0]], edges[cells[-1] + 1]
            regions.append(Region(left - scroll_x, 1 + index - scroll_y, right - left, 1))
        if regions:
            self.refresh(*regions)

    def _signature(self, row: Row) -> tuple[Hashable, ...]:
        """One hashable per cell shown (the mark column first when markable)."""
        return tuple([signature(c) for c in self._cells_of(row)])

    def _grow_columns(self, rows: Sequence[Row], signatures: Sequence[tuple | None], full: bool) -> None:
        """Widen columns to fit new cells (never narrower: re-measuring to shrink costs a pass over every row)."""
        offset = 1 if self.markable else 0
        known = {} if full else dict(zip(self._shown, self._signatures, strict=False))
        for row, sig in zip(rows, signatures, strict=True):
            if known.get(row.key) == sig:
                continue
            for column, cell in zip(self.columns[offset:], row.cells, strict=False):
                width = measure(cell)
                if width > column.content:
                    column.content = width

    def _cells_of(self, row: Row) -> tuple[str | Text, ...]:
        return (MARK if row.key in self.marked else " ", *row.cells) if self.markable else row.cells

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(table_width(self.columns), len(self._shown) + 1)

    def render_lines(self, crop: Region) -> list[Strip]:
        # Cached strips hold styles: they are dropped when the width, the style, focus or a column width changes.
        # Rows come finished (styled, the full width, cached), so when the table has no border, padding or tint
        # its lines skip Textual's styles cache, which would copy each changed line through those steps and then
        # filter it whole: here the painter applies the app's line filters cell by cell, cached with the cell.
        bare = self._bare()
        filters = tuple(self.get_line_filters()) if bare else ()
        background = self.background_colors[1]
        widths = tuple(c.width for c in self.columns)
        base = self.rich_style
        state = self.get_pseudo_class_state()
        context = (self.size.width, base, state, widths, self.scroll_offset.x, filters, background)
        if context != self._strip_context or self._painter is None:
            self._strips.clear()
            self._strip_context = context
            header = self.get_component_styles("datatable--header").rich_style
            styles = (base, header, self.get_component_rich_style("datatable--cursor"))
            self._painter = Painter(self.app.console, self.columns, self.size.width, styles, filters, background)
        if not bare:
            return super().render_lines(crop)
        width, (scroll_x, scroll_y) = self.size.width, self.scroll_offset
        strips = [self._line(y, width, scroll_x, scroll_y) for y in crop.line_range]
        left, right = crop.column_span
        if (left, right) != (0, width):
            strips = [strip.crop(left, right) for strip in strips]
        return strips

    def _bare(self) -> bool:
        """No border, padding, outline, tint, hatch, opacity or title: nothing for the styles cache to draw."""
        styles = self.styles
        return (
            not any(styles.gutter)
            and not any(edge for edge, _ in styles.outline)
            and not styles.tint.a
            and not styles.has_rule("hatch")
            and self.opacity == 1.0
            and styles.text_opacity == 1.0
            and self._border_title is None
            and self._border_subtitle is None
        )

    def render_line(self, y: int) -> Strip:
        """Line 0 is the header; the others are rows, scrolled; each row's Strip comes from the cache if unchanged."""
        return self._line(y, self.size.width, *self.scroll_offset)

    def _line(self, y: int, width: int, scroll_x: int, scroll_y: int) -> Strip:
        painter = self._paint()
        if y == 0:
            strip = self._strips.get(("header",))
            if strip is None:
                labels = [c.label for c in self.columns]
                row = painter.row(labels, [signature(t) for t in labels], cursor=False, header=True)
                strip = self._strips[("header",)] = self._finish(row, width, scroll_x)
            return strip
        index = y - 1 + scroll_y
        if not self.is_valid_row_index(index):
            return painter.blank(width)
        key = self._shown[index]
        cursor = index == self.cursor_row
        sig = self._signatures[index]
        if sig is None:
            sig = self._signatures[index] = self._signature(self._by_key[key])
        strip = self._strips.get((key, sig, cursor))
        if strip is None:
            row = painter.row(self._cells_of(self._by_key[key]), sig, cursor=cursor)
            strip = self._strips[(key, sig, cursor)] = self._finish(row, width, scroll_x)
        return strip

    def _finish(self, strip: Strip, width: int, scroll_x: int) -> Strip:
        """Scrolled horizontally and fitted to the width (cached: the context holds the scroll and the width)."""
        if scroll_x == 0 and strip.cell_length == width:
            return strip  # rows come simplified
        return strip.crop(scroll_x, scroll_x + width).adjust_cell_length(width, self._paint().blank_style).simplify()

    def _paint(self) -> Painter:
        if self._painter is None:  # render_line called outside render_lines (tests)
            self.render_lines(self.size.region)
        assert self._painter is not None
        return self._painter

    def notify_style_update(self) -> None:
        self._strips.clear()
        self._painter = None
        super().notify_style_update()

    def on_resize(self, _: events.Resize) -> None:
        self._update_virtual_size()

    def move_cursor(self, *, row: int | None = None, column: int | None = None, animate: bool = False) -> None:
        """Put the cursor on row `row` (clamped) and scroll it into view (`column` is accepted and ignored)."""
        if row is None or not self._shown:
            return
        row = max(0, min(row, len(self._shown) - 1))
        if row != self.cursor_row:
            old, self.cursor_row = self.cursor_row, row
            self.refresh_lines(1 + old)
            self.refresh_lines(1 + row)
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        rows = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, force=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, force=True)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + self._page())

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=len(self._shown) - 1)

    def action_select_cursor(self) -> None:
        key = self.current_key
        if key is not None:
            # DataTable's own message, so screens handle a selection in either table alike; it is typed for a DataTable
            self.post_message(DataTable.RowSelected(self, self.cursor_row, RowKey(key)))  # type: ignore[arg-type]

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        index = -1 if offset is None or offset.y < 1 else offset.y - 1 + int(self.scroll_y)
        if not self.is_valid_row_index(index):
            return
        event.stop()
        if index == self.cursor_row:
            self.action_select_cursor()
        else:
            self.move_cursor(row=index)

    def action_filter(self) -> None:
        self.post_message(FilterRequested(self, self.filter_text))

    def action_cycle_sort(self) -> None:
        nxt = 0 if self.sort_column is None else self.sort_column + 1
        self.sort_by(nxt if nxt < len(self.column_spec) else None, self.sort_reverse)
        label = self.column_spec[self.sort_column][1] if self.sort_column is not None else "default order"
        self.notify(f"sorted by {label}", timeout=1.5)

    def action_reverse_sort(self) -> None:
        self.sort_by(self.sort_column if self.sort_column is not None else 0, not self.sort_reverse)

    def action_toggle_mark(self) -> None:
        key = self.current_key
        if not self.markable or key is None:
            return
        self.marked ^= {key}
        self._show_rows()
        self.post_message(self.MarksChanged(self, sorted(self.marked)))
        if self.cursor_row < len(self._shown) - 1:
            self.move_cursor(row=self.cursor_row + 1)

    def action_copy_row(self) -> None:
        key = self.current_key
        if key is None:
            return
        row = self._by_key[key]
        text = row.copy if row.copy is not None else "\t".join(c.plain if isinstance(c, Text) else c for c in row.cells)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {len(text)} characters", timeout=1.5)
