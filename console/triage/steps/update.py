"""`update`: a status update posted (the caller opens the composer, `note` prefilled), the incident first moved to
`status` when given. The step is done only once an update is posted (`console.incident.updates.posted`)."""

from __future__ import annotations

from typing import Literal

from console.triage.steps.base import Checking, Move, PostUpdate, Run, StepKind


class UpdateStep(StepKind):
    """Post a status update (the caller opens the composer with `note` prefilled), first moving the incident to
    `status` when given (e.g. "mitigated"); the run goes on once an update is posted. A run outside an incident
    has no one to update: the step says so and goes on."""

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
        if run.state.incident is None:
            run.record(self, "done", "no incident: no status update to post")
            return None
        seq = run.update_posted()
        if seq is None:
            return PostUpdate(self.status, self.note)
        run.record(self, "done", f"status update posted (journal seq {seq})", update_seq=seq)
        return None
