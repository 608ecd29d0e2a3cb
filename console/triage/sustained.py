"""A condition with a `for` duration: PASS only once it has held that long, by the clock (tests use ManualClock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from console.clock import Clock
from console.live import LiveState
from console.models import format_duration
from console.triage.conditions import Expr, Result, Truth, evaluate, parse


@dataclass(frozen=True)
class Held:
    """A sustained condition's verdict: PASS once it has held `for` long enough; `waiting` while it holds but not
    yet long enough (value is then UNKNOWN)."""

    value: Truth
    result: Result
    since: datetime | None
    held_s: float
    waiting: bool

    @property
    def text(self) -> str:
        if self.since is None:
            return self.result.text
        return f"{self.result.text} (held {format_duration(self.held_s)})"


class Sustained:
    """A condition with a `for` duration: remembers since when it has held (reset by any FAIL or UNKNOWN)."""

    def __init__(self, condition: Expr | str, for_s: float, clock: Clock) -> None:
        self.expr = parse(condition) if isinstance(condition, str) else condition
        self.for_s = for_s
        self.clock = clock
        self.since: datetime | None = None

    def poll(self, live: LiveState) -> Held:
        result = evaluate(self.expr, live)
        now = self.clock.now()
        if result.value is not Truth.PASS:
            self.since = None
            return Held(result.value, result, None, 0.0, False)
        if self.since is None:
            self.since = now
        held = (now - self.since).total_seconds()
        done = held >= self.for_s
        return Held(Truth.PASS if done else Truth.UNKNOWN, result, self.since, held, not done)
