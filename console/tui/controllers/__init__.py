"""A controller per feature (actions, incident, triage, share). Each is given a narrow Protocol of the app, never the
app class: `TextualApp` below, plus the console's own parts it needs (the dashboard, another controller)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from textual.await_complete import AwaitComplete
    from textual.message_pump import Callback
    from textual.notifications import SeverityLevel
    from textual.screen import Screen
    from textual.timer import Timer, TimerCallback
    from textual.widget import AwaitMount
    from textual.worker import Worker

ResultT = TypeVar("ResultT")


class TextualApp(Protocol):
    """What the controllers use of a Textual app: screens, workers, timers and toasts (Textual's own signatures,
    cut to the arguments the controllers give)."""

    @property
    def screen(self) -> Screen[object]: ...

    @property
    def screen_stack(self) -> list[Screen[Any]]: ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...

    def push_screen(
        self, screen: Screen[ResultT], callback: Callable[[ResultT | None], None] | None = None
    ) -> AwaitMount: ...

    def pop_screen(self) -> AwaitComplete: ...

    def run_worker(
        self,
        work: Callable[[], Coroutine[Any, Any, ResultT]] | Coroutine[Any, Any, ResultT],
        *,
        name: str | None = "",
        group: str = "default",
        exit_on_error: bool = True,
        exclusive: bool = False,
    ) -> Worker[ResultT]: ...

    def set_interval(self, interval: float, callback: TimerCallback | None = None, *, pause: bool = False) -> Timer: ...

    def call_after_refresh(self, callback: Callback, *args: Any) -> bool: ...

    def call_later(self, callback: Callback, *args: Any) -> bool: ...


def showing(app: TextualApp) -> Screen[object] | None:
    """The screen on top, or None once the app is closing: Textual empties the stack before it stops the timers, and
    a timer's callback that reads `app.screen` then raises ScreenStackError (a CI run failed so after the demo's
    rollback). Controllers that run on a timer or after an await ask this, never `app.screen`."""
    stack = app.screen_stack
    return stack[-1] if stack else None
