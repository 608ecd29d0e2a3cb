"""`check`: evaluate a condition (held `for` a while when given) and branch on it; UNKNOWN follows `on_fail`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from console.models import format_duration
from console.triage.conditions import Truth, evaluate
from console.triage.steps.base import Branching, Checking, Duration, Move, Run, Wait


class CheckStep(Branching):
    """Evaluate a condition (held `for` a while when given) and branch on it; UNKNOWN follows `on_fail`."""

    kind: Literal["check"]
    condition: str
    for_: Duration = Field(0.0, alias="for")

    def problems(self, checking: Checking) -> list[str]:
        return checking.condition(self.condition)

    def describe(self) -> str:
        return self.condition + (f" for {format_duration(self.for_)}" if self.for_ else "")

    def detail(self) -> str:
        return self.condition + (f" for {self.for_:g}s" if self.for_ else "")

    def run(self, run: Run) -> Move | None:
        if not self.for_:
            result = evaluate(self.condition, run.live)
            run.record(self, result.value.value, result.text)
            return None
        held = run.held(self, self.condition, self.for_)
        if held.value is Truth.PASS or not held.waiting:
            run.record(self, held.value.value, held.text)
            return None
        return Wait(held.text)
