"""A DataTable keyed by row id: in-place refresh that keeps the cursor on its row, filter, sort, marks, copy."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from widgets.messages import FilterRequested

MARK = "●"


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


class KeyedTable(DataTable):
    """Rows keyed by id, refreshed in place: the cursor stays on the same key, never freezes, never jumps.

    `/` asks for a filter (regex, `!` inverts), `s`/`S` sort by the next column / reverse, `space` marks,
    `y` copies the row's copy text with OSC 52, `enter` posts RowSelected as DataTable does.
    With `stick_to_top`, a cursor on the first row stays on the first row as rows arrive (newest-first lists).
    """

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="table.filter"),
        Binding("s", "cycle_sort", "Sort", id="table.sort"),
        Binding("S", "reverse_sort", "Reverse", show=False, id="table.reverse"),
        Binding("space", "toggle_mark", "Mark", id="table.mark"),
        Binding("y", "copy_row", "Copy", id="table.copy"),
    ]

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
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.column_spec = list(columns)
        self.markable = markable
        self.stick_to_top = stick_to_top
        self.filter_text = ""
        self._filter: re.Pattern[str] | None = None
        self._invert = False
        self.sort_column: int | None = None
        self.sort_reverse = False
        self.marked: set[str] = set()
        self._rows: list[TableRow] = []
        self._shown: list[str] = []
        self._cells: dict[str, tuple] = {}

    def on_mount(self) -> None:
        if self.markable:
            self.add_column(" ", key="_mark", width=1)
        for key, label in self.column_spec:
            self.add_column(label, key=key)

    @property
    def current_key(self) -> str | None:
        if not self._shown or not self.is_valid_row_index(self.cursor_row):
            return None
        return self._shown[self.cursor_row]

    @property
    def rows_by_key(self) -> dict[str, TableRow]:
        return {r.key: r for r in self._rows}

    def set_rows(self, rows: Sequence[TableRow]) -> None:
        """Show these rows (filtered and sorted), updating cells in place where the row set is unchanged."""
        self._rows = list(rows)
        present = {r.key for r in self._rows}
        if self.marked - present:
            self.marked &= present
            self.post_message(self.MarksChanged(self, sorted(self.marked)))
        self._render_rows()

    def set_filter(self, text: str) -> str | None:
        """Apply a regex filter (`!` prefix inverts, empty clears). Returns an error text if it is not a regex."""
        text = text.strip()
        invert = text.startswith("!")
        pattern = text[1:] if invert else text
        try:
            compiled = re.compile(pattern, re.IGNORECASE) if pattern else None
        except re.error as exc:
            return f"not a valid regular expression: {exc}"
        self.filter_text, self._filter, self._invert = text, compiled, invert
        self._render_rows()
        return None

    def sort_by(self, column: int | None, reverse: bool = False) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self._render_rows()

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
        self._render_rows()
        self.post_message(self.MarksChanged(self, sorted(self.marked)))
        if self.cursor_row < len(self._shown) - 1:
            self.move_cursor(row=self.cursor_row + 1)

    def action_copy_row(self) -> None:
        key = self.current_key
        if key is None:
            return
        row = self.rows_by_key[key]
        text = row.copy if row.copy is not None else "\t".join(c.plain if isinstance(c, Text) else c for c in row.cells)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {len(text)} characters", timeout=1.5)

    def _visible(self) -> list[TableRow]:
        rows = self._rows
        if self._filter is not None:
            rows = [r for r in rows if bool(self._filter.search(r.haystack())) != self._invert]
        if self.sort_column is not None:
            index = self.sort_column

            def sort_key(row: TableRow) -> tuple:
                value = row.sort[index] if row.sort else row.cells[index]
                value = value.plain if isinstance(value, Text) else value
                return (value is None, value if value is not None else 0)

            rows = sorted(rows, key=sort_key, reverse=self.sort_reverse)
        return rows

    def _render_rows(self) -> None:
        if not self.is_mounted:
            return
        visible = self._visible()
        keys = [r.key for r in visible]
        # A newest-first list whose cursor is on the first row keeps following the newest row.
        keep = None if self.stick_to_top and self.cursor_row == 0 else self.current_key
        if keys == self._shown:
            for row in visible:
                cells = self._row_cells(row)
                old = self._cells.get(row.key)
                if old != cells:
                    columns = (["_mark"] if self.markable else []) + [k for k, _ in self.column_spec]
                    for column, new, before in zip(columns, cells, old or (None,) * len(cells), strict=False):
                        if new != before:
                            # Columns grow to fit; re-measuring a column to shrink it costs a pass over every row.
                            self.update_cell(row.key, column, new, update_width=_width(new) > _width(before))
                    self._cells[row.key] = cells
            return
        index = self.cursor_row
        self.clear(columns=False)
        self._cells = {}
        for row in visible:
            cells = self._row_cells(row)
            self.add_row(*cells, key=row.key)
            self._cells[row.key] = cells
        self._shown = keys
        if keep in keys:
            self.move_cursor(row=keys.index(keep), animate=False)
        elif keys:
            self.move_cursor(row=min(index, len(keys) - 1), animate=False)

    def _row_cells(self, row: TableRow) -> tuple:
        """Cells as Text: DataTable would parse a str as Rich markup, and cell values (queries, notes) are data."""
        cells = tuple(_plain(cell) for cell in row.cells)
        if not self.markable:
            return cells
        return (MARK if row.key in self.marked else " ", *cells)


def _plain(cell: str | Text) -> Text:
    return Text(cell, no_wrap=True, overflow="ellipsis", end="") if isinstance(cell, str) else cell


def _width(cell: str | Text | None) -> int:
    if cell is None:
        return 0
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)
