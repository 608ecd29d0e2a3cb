"""The PostgreSQL activity table: every session (idle ones too), marked rows, columns that fit the width."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import Any, ClassVar

from rich.text import Text
from textual import events

from console.models.postgres import PgSession, short_age
from console.redact import make_safe
from widgets.keyed_table import KeyedTable, TableRow
from widgets.outside import outside

# (key, label, width); width None is the one flexible column that takes what is left.
Column = tuple[str, str, int | None]
STATE_WORDS = {
    "idle in transaction": "idle in tx",
    "idle in transaction (aborted)": "idle in tx!",
    "fastpath function call": "fastpath",
}


def one_line(text: str, width: int) -> str:
    """The text on one line (whitespace collapsed, a line break or a tab too; any other control made visible by
    `make_safe`), cut to `width` with an ellipsis."""
    flat = make_safe(" ".join(text.split()))
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"


class LazyRow(tuple):
    """A TableRow built on first use (same attributes): 3,000 sessions, 45 on screen.

    A (key, item, table) tuple, made in C by `map` (no Python `__init__` for each of 3,000 rows a refresh); the row
    built from it is kept by the table until its next `show`.
    """

    __slots__ = ()
    key = property(itemgetter(0))

    @property
    def row(self) -> TableRow:
        key, item, table = self
        return table.built_row(key, item)

    @property
    def cells(self) -> tuple[str | Text, ...]:
        return self.row.cells

    @property
    def sort(self) -> tuple[Any, ...] | None:
        return self.row.sort

    @property
    def copy(self) -> str | None:
        return self.row.copy

    def haystack(self) -> str:
        return self.row.haystack()


class WidthAwareTable(KeyedTable):
    """A KeyedTable whose column set follows its width: WIDE at NARROW_BELOW columns and more, else NARROW.

    Subclasses give `cells(item)` and `sort_values(item)` as dicts keyed by column key, and `KEY_FIELD`;
    the flexible column's text is cut to `flex_width`.
    """

    WIDE: ClassVar[list[Column]]
    NARROW: ClassVar[list[Column]]
    NARROW_BELOW: ClassVar[int] = 120
    KEY_FIELD: ClassVar[str]  # the item attribute that keys its row (as text)

    def __init__(self, *, markable: bool = False, **kwargs: Any) -> None:
        super().__init__([(key, label) for key, label, _ in self.WIDE], markable=markable, **kwargs)
        self.flex_width = 40
        self.items: list[Any] = []
        self._built: dict[str, TableRow] = {}

    def show(self, items: Sequence[Any]) -> None:
        """Render these items (refreshed in place; cursor and marks stay on their keys)."""
        self.items = list(items)
        self._built = {}
        if self.sort_column is None and self._filter is None:
            # In the given order only the rows on screen are drawn: the others are built if asked for.
            self.set_rows(list(map(LazyRow, zip(self._keys_of(self.items), self.items, repeat(self)))))
        else:
            keys = [key for key, _ in self.column_spec]
            self.set_rows([self._row(item, keys) for item in self.items])

    def built_row(self, key: str, item: Any) -> TableRow:
        """The row of a LazyRow, built once per `show`."""
        row = self._built.get(key)
        if row is None:
            row = self._built[key] = self._row(item, [column for column, _ in self.column_spec])
        return row

    def _keys_of(self, items: Sequence[Any]) -> map[str]:
        """Each item's key: its KEY_FIELD as text (taken in C)."""
        return map(str, map(attrgetter(self.KEY_FIELD), items))

    def cells(self, item: Any) -> dict[str, str | Text]:
        raise NotImplementedError

    def sort_values(self, item: Any) -> dict[str, Any]:
        return {}

    def copy_text(self, item: Any) -> str | None:
        return None

    def set_filter(self, text: str) -> str | None:
        error = super().set_filter(text)
        if error is None and self._filter is not None:
            self.show(self.items)  # rows carry the text of hidden columns to search only while a filter is set
        return error

    def sort_by(self, column: int | None, reverse: bool = False) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self.show(self.items)  # rows carry sort values only while sorted

    def _row(self, item: Any, keys: Sequence[str]) -> TableRow:
        cells = self.cells(item)
        search = sort = None
        if self._filter is not None:
            search = " ".join(c.plain if isinstance(c, Text) else c for c in cells.values())
        if self.sort_column is not None:
            sorts = self.sort_values(item)
            sort = tuple([sorts.get(k, cells[k]) for k in keys])
        return TableRow(
            key=str(getattr(item, self.KEY_FIELD)),
            cells=tuple([cells[k] for k in keys]),
            sort=sort,
            copy=self.copy_text(item),
            search=search or "",
        )

    def on_resize(self, event: events.Resize) -> None:
        self.fit_width(event.size.width)

    def fit_width(self, width: int) -> None:
        """Choose the column set and the flexible column's width for this many cells."""
        if width <= 0:
            return
        columns = self.NARROW if width < self.NARROW_BELOW else self.WIDE
        fixed = sum(w or 0 for _, _, w in columns) + 2 * len(columns) + (3 if self.markable else 0) + 2
        flex = max(12, width - fixed)
        spec = [(key, label) for key, label, _ in columns]
        if spec == self.column_spec and flex == self.flex_width and self.columns[-1].fixed is not None:
            return
        keep = self.current_key
        sort_key = self.column_spec[self.sort_column][0] if self.sort_column is not None else None
        self.flex_width = flex
        self.set_columns([(key, label, w or flex) for key, label, w in columns])
        keys = [key for key, _ in spec]
        self.sort_column = keys.index(sort_key) if sort_key in keys else None
        self.show(self.items)
        if keep in self._shown:
            self.move_cursor(row=self._shown.index(keep), animate=False)


class PgActivityTable(WidthAwareTable):
    """pid, user, database, application, client, state, wait event, duration, query; markable by pid.

    The console's own sessions are shown (application "this console") but never offered as targets.
    """

    WIDE = [
        ("pid", "PID", 7),
        ("user", "User", 10),
        ("database", "DB", 10),
        ("application", "Application", 14),
        ("client", "Client", 15),
        ("state", "State", 11),
        ("wait", "Wait", 22),
        ("duration", "Time", 7),
        ("query", "Query", None),
    ]
    NARROW = [
        ("pid", "PID", 7),
        ("user", "User", 8),
        ("application", "App", 12),
        ("state", "State", 10),
        ("duration", "Time", 6),
        ("query", "Query", None),
    ]

    KEY_FIELD = "pid"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markable=True, **kwargs)

    @property
    def sessions(self) -> dict[str, PgSession]:
        return {str(s.pid): s for s in self.items}

    def current_session(self) -> PgSession | None:
        key = self.current_key
        return self.sessions.get(key) if key is not None else None

    def targets(self) -> list[PgSession]:
        """The marked sessions, else the one under the cursor (whether or not they may be acted on)."""
        sessions = self.sessions
        if self.marked:
            return [sessions[k] for k in sorted(self.marked, key=int) if k in sessions]
        current = self.current_session()
        return [current] if current is not None else []

    def cells(self, item: PgSession) -> dict[str, str | Text]:
        state = STATE_WORDS.get(item.state or "", item.state or ("hidden" if item.hidden else ""))
        if item.waiting:
            state = "waiting"
        style = "dim" if item.own or not item.is_client else ""
        if item.waiting or (item.state or "").startswith("idle in transaction"):
            style = "bold"
        query = "<insufficient privilege>" if item.hidden else item.query or f"({item.backend_type})"
        wait = item.wait_text + (f" ← {','.join(map(str, item.blocked_by))}" if item.blocked_by else "")
        pid = str(item.pid)  # a Text only when styled: most rows are plain, and a str is cheaper to build and compare
        return {
            "pid": Text(pid, style=style) if style else pid,
            "user": item.user or "",
            "database": item.database or "",
            "application": "this console" if item.own else item.application,
            "client": item.client if item.is_client else "",
            "state": outside(state, style) if style else state,
            "wait": wait,
            "duration": short_age(item.duration_seconds),
            "query": one_line(query, self.flex_width),
        }

    def sort_values(self, item: PgSession) -> dict[str, Any]:
        return {"pid": item.pid, "duration": item.duration_seconds or 0.0, "query": item.query}

    def copy_text(self, item: PgSession) -> str:
        return item.query
