"""`ask`: a question with choices (each may branch), or free text stored under `capture` for `{name}` references."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from console.triage.errors import TriageError
from console.triage.steps.base import Answer, Answerable, Checking, Move, Run


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    next: str | None = None


class AskStep(Answerable):
    """A question with choices, or free text (no choices) stored under `capture` for later `{name}` references."""

    kind: Literal["ask"]
    question: str
    choices: list[Choice] = Field(default_factory=list)
    capture: str | None = None
    stops_loops: ClassVar[bool] = True

    def problems(self, checking: Checking) -> list[str]:
        return []

    def describe(self) -> str:
        return self.question

    def detail(self) -> str:
        return self.question + (f" [{' / '.join(c.label for c in self.choices)}]" if self.choices else "")

    def run(self, run: Run) -> Move | None:
        return Answer(self.question, tuple(choice.label for choice in self.choices))

    def answer(self, run: Run, text: str) -> None:
        """A choice's label (case-insensitive) or, with no choices, free text."""
        text = text.strip()
        if self.choices:
            choice = next((c for c in self.choices if c.label.lower() == text.lower()), None)
            if choice is None:
                labels = ", ".join(c.label for c in self.choices)
                raise TriageError(f"{self.id}: {text!r} is not one of the choices ({labels})")
            run.record(self, "answered", "", answer=choice.label, target=choice.next)
            return
        if not text:
            raise TriageError(f"{self.id}: an answer is needed (or skip the step)")
        run.record(self, "answered", "", answer=text, captured={self.capture: text} if self.capture else {})

    def branches(self) -> list[tuple[str, str]]:
        return [(repr(c.label), c.next) for c in self.choices if c.next] + super().branches()

    def falls_through(self) -> bool:
        return self.next is None and not (self.choices and all(c.next for c in self.choices))

    def captures(self) -> set[str]:
        return {self.capture} if self.capture else set()
