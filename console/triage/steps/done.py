"""`done`: end the run with an outcome."""

from __future__ import annotations

from typing import Literal

from console.triage.steps.base import END, Checking, Move, Run, StepKind


class DoneStep(StepKind):
    """End the run with an outcome."""

    kind: Literal["done"]
    outcome: str = "completed"

    def problems(self, checking: Checking) -> list[str]:
        return []

    def describe(self) -> str:
        return f"done ({self.outcome})"

    def detail(self) -> str:
        return self.outcome

    def run(self, run: Run) -> Move | None:
        run.record(self, "done", self.outcome, target=END, outcome=self.outcome)
        return None

    def successors(self, following: str) -> set[str]:
        return set()
