"""`look`: show a source's pane (its tiles when it has none), optionally filtered, and wait for the operator."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

from console.sources.base import BY_NAME, look_problem
from console.triage.steps.base import Checking, Move, Proceeding, Run, Show


def _a_source(name: str) -> str:
    if name not in BY_NAME:
        raise ValueError(f"expected {', '.join(map(repr, BY_NAME))}, got {name!r}")
    return name


class LookStep(Proceeding):
    """Show a source's pane (its tiles when it has none), optionally filtered, and wait for the operator to go on.
    `pane` is the source's name in the registry; the filter is checked against its row by `triage check` (a run
    journaled before a grammar changed still replays)."""

    kind: Literal["look"]
    pane: Annotated[str, AfterValidator(_a_source)]
    filter: str = ""

    def problems(self, checking: Checking) -> list[str]:
        problem = look_problem(self.pane, self.filter) if self.filter else None
        return [f"filter {self.filter!r}: {problem}"] if problem else []

    def describe(self) -> str:
        return f"look at {self.pane}" + (f" ({self.filter})" if self.filter else "")

    def detail(self) -> str:
        return self.pane + (f" filtered {self.filter!r}" if self.filter else "")

    def run(self, run: Run) -> Move | None:
        return Show(self.pane, self.filter)

    def proceed(self, run: Run) -> None:
        run.record(self, "done", self.filter)
