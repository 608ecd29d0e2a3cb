"""`verify`: wait up to `within` for a condition to have held `for` a while; pass or fail and branch."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from console.models import format_duration
from console.triage.conditions import Truth
from console.triage.steps.base import Branching, Checking, Duration, Move, Run, Wait


class VerifyStep(Branching):
    """Wait up to `within` for a condition to have held `for` a while; pass or fail and branch."""

    kind: Literal["verify"]
    condition: str
    within: Duration = 300.0
    for_: Duration = Field(0.0, alias="for")
    stops_loops: ClassVar[bool] = True

    def problems(self, checking: Checking) -> list[str]:
        return checking.condition(self.condition)

    def describe(self) -> str:
        return self.condition + (f" for {format_duration(self.for_)}" if self.for_ else "")

    def detail(self) -> str:
        return f"{self.condition} within {self.within:g}s" + (f" for {self.for_:g}s" if self.for_ else "")

    def run(self, run: Run) -> Move | None:
        held = run.held(self, self.condition, self.for_)
        elapsed = (run.clock.now() - run.state.entered_at).total_seconds()
        if held.value is Truth.PASS:
            run.record(self, "pass", held.text)
        elif elapsed >= self.within:
            wanted = f" for {format_duration(self.for_)}" if self.for_ else ""
            run.record(self, "fail", f"{held.text}; did not hold{wanted} within {format_duration(self.within)}")
        else:
            return Wait(held.text, self.within)
        return None
