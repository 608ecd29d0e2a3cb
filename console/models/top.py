"""`kind = "top"` metrics: the first rows of a JSON array (errors by category, slow endpoints) as a small table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from console.models import Check, State
from console.models.numbers import compile_path, magnitude, parse_json_or_lines


class TopSnapshot(BaseModel):
    """One poll of a `top` metric: `rows` of cell texts under `columns`, the first `limit` of `total` after sorting."""

    name: str
    state: State
    reason: str = ""
    columns: list[str]
    rows: list[list[str]] = Field(default_factory=list)
    total: int = 0
    taken_at: datetime
    previous: State | None = None

    @property
    def history(self) -> list[float]:
        """A list has no sparkline."""
        return []

    @property
    def check(self) -> Check:
        value = f"{len(self.rows)} of {self.total}" if self.state is not State.DOWN else ""
        return Check(source="metric", name=self.name, state=self.state, value=value, reason=self.reason)

    @property
    def feed_key(self) -> str:
        return f"metric:{self.name}"

    def checks(self) -> list[Check]:
        return [self.check]


def judge_top(
    data: bytes, path: str | None, columns: list[str], sort: str | None, limit: int
) -> tuple[State, str, list[list[str]], int]:
    """A body or stdout as a top list: ok with its rows, or unknown with why there is no list."""
    document = parse_json_or_lines(data.decode("utf-8", "replace"))
    if document is None:
        return State.UNKNOWN, "not JSON", [], 0
    rows, total, problem = top_rows(document, path, columns, sort, limit)
    return (State.UNKNOWN if problem else State.OK), problem, rows, total


def top_rows(
    document: Any, path: str | None, columns: list[str], sort: str | None, limit: int
) -> tuple[list[list[str]], int, str]:
    """The first `limit` items of the array at `path` (sorted by `sort`, largest first) as cell texts, the item
    count, and a reason when there is no array. A column is a field name or a JMESPath expression on an item."""
    items = document if path is None else compile_path(path).search(document)
    if not isinstance(items, list):
        return [], 0, f"no list {f'at {path}' if path else 'in the body'}"
    if sort is not None:
        expression = compile_path(sort)
        items = sorted(items, key=lambda item: _sort_key(expression.search(item)), reverse=True)
    cells = [compile_path(column) for column in columns]
    rows = [[_cell(cell.search(item)) for cell in cells] for item in items[:limit]]
    return rows, len(items), ""


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers (also "42ms") first by size, then text; missing values last."""
    number = magnitude(value)
    if number is not None:
        return (2, number, "")
    return (0, 0.0, "") if value is None else (1, 0.0, str(value))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return value if isinstance(value, str) else str(value)
