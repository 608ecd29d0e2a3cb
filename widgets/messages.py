"""Requests any widget may post upwards; the app answers them in one place (preview, prompt, detail)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from textual.message import Message
from textual.widget import Widget


class ActionRequested(Message):
    """The operator asked for an action from a widget (e.g. terminate the marked backends)."""

    def __init__(self, action: str, params: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.action = action
        self.params = params or {}


@runtime_checkable
class Filterable(Protocol):
    """A widget a text filters (a table, a log view): None, or why the text is no filter."""

    def set_filter(self, text: str) -> str | None: ...


class FilterRequested(Message):
    """A filterable widget wants the filter prompt; the answer goes to `widget.set_filter(text)`."""

    def __init__(self, widget: Widget, current: str = "") -> None:
        super().__init__()
        self.widget = widget
        self.current = current

    @property
    def control(self) -> Widget:
        return self.widget


class DetailRequested(Message):
    """Show a full-screen detail view of one item (a query, a session, a journal entry)."""

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title = title
        self.lines = lines
