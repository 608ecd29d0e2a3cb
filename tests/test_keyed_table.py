"""KeyedTable: in-place refresh that keeps the cursor on its row, filter, sort, marks, copy, stick-to-top."""

from __future__ import annotations

import re
import sys
import time

from textual.app import App, ComposeResult

from benchmarks.ptyrun import ANSI, PtyProcess
from tests.helpers import ROOT
from widgets import table_strips
from widgets.keyed_table import KeyedTable, TableRow
from widgets.messages import FilterRequested


def rows(keys: list[int], verb: str = "select") -> list[TableRow]:
    return [TableRow(str(k), (str(k), f"{verb} {k}"), sort=(k, f"{verb} {k}"), copy=f"{verb} {k};") for k in keys]


class Host(App):
    def __init__(self, **table_options) -> None:
        super().__init__()
        self.table_options = table_options
        self.filter_requests: list[FilterRequested] = []

    def compose(self) -> ComposeResult:
        yield KeyedTable([("pid", "PID"), ("query", "Query")], **self.table_options)

    def on_filter_requested(self, message: FilterRequested) -> None:
        self.filter_requests.append(message)


async def test_cursor_stays_on_its_key_across_refreshes() -> None:
    app = Host(markable=True)
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_rows(rows([1, 2, 3, 4]))
        table.focus()
        await pilot.press("down", "down")
        assert table.current_key == "3"
        table.set_rows(rows([9, 8, 1, 2, 3, 4], verb="update"))  # two new rows above, cells changed
        await pilot.pause()
        assert table.current_key == "3"
        assert str(table.get_row("3")[2]) == "update 3"
        table.set_rows(rows([1, 2, 4]))  # the row under the cursor went away: the cursor stays in place
        await pilot.pause()
        assert table.current_key == "4"


async def test_filter_regex_invert_and_bad_pattern() -> None:
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_rows(rows([1, 2, 3, 12]))
        assert table.set_filter("^1") is None
        await pilot.pause()
        assert [r.key for r in table._visible()] == ["1", "12"]
        assert table.set_filter("!select 1") is None
        assert [r.key for r in table._visible()] == ["2", "3"]
        error = table.set_filter("(")
        assert error is not None and error.startswith("not a valid regular expression")
        assert table.filter_text == "!select 1", "a bad pattern leaves the filter as it was"
        table.focus()
        await pilot.press("slash")
        await pilot.pause()
        assert app.filter_requests and app.filter_requests[0].current == "!select 1"


async def test_sort_marks_and_copy() -> None:
    app = Host(markable=True)
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_rows(rows([3, 1, 2]))
        table.focus()
        await pilot.press("s")  # by the first column
        assert [r.key for r in table._visible()] == ["1", "2", "3"]
        await pilot.press("S")
        assert [r.key for r in table._visible()] == ["3", "2", "1"]
        await pilot.press("space", "space")
        assert table.marked == {"3", "2"}
        table.set_rows(rows([1, 2]))  # a marked row that disappears is unmarked
        assert table.marked == {"2"}
        await pilot.press("home", "y")
        assert app.clipboard in ("select 1;", "select 2;")


async def test_stick_to_top_follows_the_newest_row() -> None:
    app = Host(stick_to_top=True)
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_rows(rows([2, 1]))
        await pilot.pause()
        table.set_rows(rows([4, 3, 2, 1]))
        await pilot.pause()
        assert table.current_key == "4"
        table.focus()
        await pilot.press("down")
        table.set_rows(rows([5, 4, 3, 2, 1]))
        await pilot.pause()
        assert table.current_key == "3", "moved away from the top: the cursor stays on its row"


async def test_cells_are_plain_text_never_markup() -> None:
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        hostile = "SELECT '[/oops]' AS a, '[bold red]x[/]' AS b"
        table.set_rows([TableRow("1", ("1", hostile))])
        await pilot.pause()
        shown = "".join(segment.text for segment in table.render_line(1))
        assert "[/oops]" in shown and "[bold red]x[/]" in shown[: shown.index("[/oops]") + 80]


async def test_a_refresh_redraws_only_the_cells_that_changed(monkeypatch) -> None:
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_rows(rows(list(range(1, 11))))
        await pilot.pause()
        drawn: list[str] = []
        draw = table_strips.cell_segments

        def counted(console, cell, *rest):
            drawn.append(cell.plain)
            return draw(console, cell, *rest)

        monkeypatch.setattr(table_strips, "cell_segments", counted)
        changed = rows(list(range(1, 11)))
        changed[4] = TableRow("5", ("5", "update 5"))
        table.set_rows(changed)
        await pilot.pause()
        assert drawn == ["update 5"]
        assert "update 5" in "".join(segment.text for segment in table.render_line(5))


CHANGING = """
from textual.binding import Binding

from tests.test_keyed_table import Host, rows
from widgets.keyed_table import KeyedTable, TableRow


class Changing(Host):
    BINDINGS = [Binding("1", "change", priority=True), Binding("2", "swap", priority=True)]

    def on_mount(self):
        self.query_one(KeyedTable).set_rows(rows(list(range(1, 11))))

    def action_change(self):  # the query cell of row 5 changes
        self.changed = rows(list(range(1, 11)))
        self.changed[4] = TableRow("5", ("5", "update 5"))
        self.query_one(KeyedTable).set_rows(self.changed)

    def action_swap(self):  # rows 3 and 4 trade places
        swapped = rows([1, 2, 4, 3, 5, 6, 7, 8, 9, 10])
        swapped[4] = self.changed[4]
        self.query_one(KeyedTable).set_rows(swapped)


Changing().run()
"""
MOVE = re.compile(rb"\x1b\[(\d+);\d+H")


def quiet(process: PtyProcess) -> int:
    """Once the program has written nothing for 0.3 s (its frames are complete): how much it wrote."""
    written = -1
    while written != process.mark():
        written = process.mark()
        time.sleep(0.3)  # a sleep by design: quiet means nothing written during this window
    return written


def lines_written(process: PtyProcess, key: bytes, needle: bytes) -> dict[int, str]:
    """The terminal lines (1-based) the program wrote text on after `key`, with that text."""
    mark = quiet(process)
    process.send(key)
    assert process.arrived(needle, mark, 10) is not None, bytes(process.output[mark:])
    parts = MOVE.split(bytes(process.output[mark : quiet(process)]))
    texts = {int(row): ANSI.sub(b"", text).decode() for row, text in zip(parts[1::2], parts[2::2], strict=True)}
    return {row: text.rstrip("\r\n") for row, text in texts.items() if text.strip()}


def test_a_changed_cell_writes_its_row_and_moved_rows_only_theirs_to_the_terminal() -> None:
    """What the terminal receives after a refresh: the changed row's line, then the two moved rows' lines, and no
    other line of the table. (The table asks Textual to repaint the changed cell only; Textual writes that cell's
    whole line on the wire, so the cell is not observable from outside: the row is.)"""
    process = PtyProcess([sys.executable, "-c", CHANGING], columns=60, rows=16, env={"PYTHONPATH": str(ROOT)})
    try:
        assert process.wait_for(b"select 10", timeout=20) is not None
        assert lines_written(process, b"1", b"update 5") == {6: " 5    update 5  "}  # line 1 is the header
        assert lines_written(process, b"2", b"select 3") == {4: " 4    select 4  ", 5: " 3    select 3  "}
    finally:
        process.stop(b"\x11")  # ctrl+q


async def test_a_row_of_one_style_is_one_segment_on_the_wire() -> None:
    """Every segment costs an SGR sequence and a reset in the terminal: cells of one style merge into one."""
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(KeyedTable)
        table.set_rows(rows([1, 2, 3]))
        await pilot.pause()
        plain = table.render_line(3)  # a row off the cursor: every cell in the row's style
        assert [segment.text for segment in plain] == [" 3    select 3" + " " * 46]
        cursor = table.render_line(1)  # the cursor row: the same, in the cursor's style
        assert len(list(cursor)) == 1
