"""`pick`: the operator picks a value for later `{name}` references from what a step showed: a line of the last
action's output (`output`, a regex: its first group, else the match, is the value) or a row of a source's live model
(`feed` and `json`, a JMESPath to a list; `field` takes each row's value). With nothing to pick it fails (`on_fail`:
ask for it instead, and then "none of these" is a choice too); picked, it goes to `on_pass` or on.

    [[playbook.steps]]                     [[playbook.steps]]
    kind = "pick"                          kind = "pick"
    name = "pod"                           name = "pid"
    output = '^(\\S+)\\s+\\d+/\\d+'           feed = "postgres"
                                           json = "sessions[?length(blocked_by) > `0`]"
                                           field = "pid"
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from console.models.numbers import compile_path
from console.triage.errors import TriageError
from console.triage.steps.base import Answer, Answerable, Branching, Checking, Move, Run, check_origin

MAX_CHOICES = 500
OTHER = "none of these: type it instead"  # offered when on_fail leads to a question that asks for it
LABEL_CHARS = 160
_HEADER = re.compile(r"^[A-Z][A-Z0-9_() \t-]*$|^[-+=| \t]+$")  # a table's heading line, or its rule


class PickStep(Branching, Answerable):
    """Pick `name` from the last action's output lines (`output`, a regex) or the rows of a live model (`feed`,
    `json`, `field`); the operator chooses one of them, never types it."""

    kind: Literal["pick"]
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    question: str = ""
    output: str | None = None
    json_path: str | None = Field(None, alias="json")
    feed: str | None = None
    field: str | None = None
    stops_loops: ClassVar[bool] = True

    @model_validator(mode="after")
    def _one_origin(self) -> PickStep:
        check_origin(self.output, self.json_path, self.feed, path="a path to a list", feed_example="postgres")
        return self

    def problems(self, checking: Checking) -> list[str]:
        if self.json_path is None:
            return []
        try:
            compile_path(self.json_path, "json")
        except ValueError as exc:
            return [str(exc)]
        return []

    def describe(self) -> str:
        return self.question or f"pick {self.name}"

    def detail(self) -> str:
        where = f"output /{self.output}/" if self.output is not None else f"{self.feed} {self.json_path}"
        return f"{self.name} from {where}" + (f" ({self.field})" if self.field else "")

    def run(self, run: Run) -> Move | None:
        found = self.candidates(run)
        if not found:
            run.record(self, "fail", f"nothing to pick {self.name} from in {self._where()}")
            return None
        other = (OTHER,) if self.on_fail else ()
        return Answer(self.question or f"Pick {self.name} ({self._where()})", (*found, *other))

    def answer(self, run: Run, text: str) -> None:
        if text == OTHER and self.on_fail:
            run.record(self, "answered", "none picked: asked instead", answer=text, target=self.on_fail)
            return
        found = self.candidates(run)
        if text not in found:
            raise TriageError(f"{self.id}: {text[:80]!r} is no longer there to pick; pick again")
        value = found[text]
        run.record(
            self, "answered", f"{self.name} = {value}", answer=text, target=self.on_pass, captured={self.name: value}
        )

    def candidates(self, run: Run) -> dict[str, Any]:
        """What may be picked now, by its label (unique, at most MAX_CHOICES)."""
        rows = self._from_output(run.state.last_output) if self.output is not None else self._from_feed(run)
        found: dict[str, Any] = {}
        for label, value in rows:
            label = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
            unique, n = label, 1
            while unique in found:
                n += 1
                unique = f"{label} (#{n})"
            found[unique] = value
            if len(found) >= MAX_CHOICES:
                break
        return found

    def captures(self) -> set[str]:
        return {self.name}

    def _where(self) -> str:
        return "the last action's output" if self.output is not None else f"{self.feed} {self.json_path}"

    def _from_output(self, lines: list[str]) -> list[tuple[str, Any]]:
        pattern = re.compile(self.output or "")
        rows = []
        for line in lines:
            if not line.strip() or _HEADER.match(line.strip()):
                continue
            if found := pattern.search(line):
                rows.append((line.strip(), found.group(1) if found.groups() else found.group(0)))
        return rows

    def _from_feed(self, run: Run) -> list[tuple[str, Any]]:
        model = run.live.model(self.feed or "")
        if not isinstance(model, BaseModel):
            return []
        try:
            found = compile_path(self.json_path or "", "json").search(json.loads(model.model_dump_json()))
        except ValueError:
            return []
        rows = []
        for row in found if isinstance(found, list) else []:
            value = row.get(self.field) if isinstance(row, dict) and self.field else row
            if value is not None and not isinstance(value, dict | list):
                rows.append((_label(row, value, self.field), value))
        return rows


def _label(row: Any, value: Any, field: str | None) -> str:
    """A row as one line: its value first, then its other filled scalar fields."""
    if not isinstance(row, dict):
        return str(value)
    rest = [f"{k}={v}" for k, v in row.items() if k != field and v not in (None, "") and not isinstance(v, dict | list)]
    return " ".join([str(value), *rest])
