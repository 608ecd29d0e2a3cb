"""`update`: the status update template (the caller opens it), the incident first moved to `status` when given."""

from __future__ import annotations

from typing import Literal

from console.triage.steps.base import Checking, Move, PostUpdate, Proceeding, Run


class UpdateStep(Proceeding):
    """Open the status update template (the caller does), first moving the incident to `status` when given
    (e.g. "mitigated"); the operator continues when posted."""

    kind: Literal["update"]
    note: str = ""
    status: Literal["investigating", "identified", "mitigated", "resolved"] | None = None

    def problems(self, checking: Checking) -> list[str]:
        return []

    def describe(self) -> str:
        return "post a status update"

    def detail(self) -> str:
        return self.note or "the status update template"

    def run(self, run: Run) -> Move | None:
        return PostUpdate(self.status)

    def proceed(self, run: Run) -> None:
        run.record(self, "done", "")
