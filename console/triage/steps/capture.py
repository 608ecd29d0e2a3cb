"""`capture`: store a value as `name`, from the last action's output (a regex group) or a live model (a JSON path)."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from console.models.health import number_at
from console.triage.steps.base import Checking, Move, Run, StepKind, check_origin


class CaptureStep(StepKind):
    """Store a value as `name`: a regex group (`output`) of the last action's output, or a `json` path into the live
    model of `feed` (e.g. feed = "metric:error rate", json = "value")."""

    kind: Literal["capture"]
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    output: str | None = None
    json_path: str | None = Field(None, alias="json")
    feed: str | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> CaptureStep:
        check_origin(self.output, self.json_path, self.feed, path="a path", feed_example="health:api")
        return self

    def problems(self, checking: Checking) -> list[str]:
        return []

    def describe(self) -> str:
        return f"capture {self.name}"

    def detail(self) -> str:
        return f"{self.name} from " + (f"output /{self.output}/" if self.output else f"{self.feed} {self.json_path}")

    def run(self, run: Run) -> Move | None:
        value: Any = None
        if self.output is not None:
            found = next((m for line in run.state.last_output if (m := re.search(self.output, line))), None)
            value = (found.group(1) if found.groups() else found.group(0)) if found else None
            where = "the last action's output"
        else:
            model = run.live.model(self.feed or "")
            document = json.loads(model.model_dump_json()) if isinstance(model, BaseModel) else None
            value = number_at(document, self.json_path or "") if document is not None else None
            where = f"{self.feed} {self.json_path}"
        if value is None:
            run.record(self, "fail", f"nothing to capture from {where}")
        else:
            run.record(self, "pass", f"{self.name} = {value} (from {where})", captured={self.name: value})
        return None

    def captures(self) -> set[str]:
        return {self.name}
