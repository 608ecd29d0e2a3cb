"""What every step kind is made of: the base model (id, title, next) with the four things a kind must say, the moves
a step waits on, what a step may use of the engine while it runs, and what `triage check` knows when it asks.

A kind is a pydantic model (its parse) with `problems` (what `triage check` says about it), `describe` and `detail`
(its words on the triage screen and in `triage show`) and `run` (what the engine does with it). The base is
abstract: a kind that misses one of them cannot be made, so a playbook naming it fails to load.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from console.clock import Clock
from console.live import LiveState
from console.timeparse import parse_duration
from console.triage import conditions
from console.triage.sustained import Held

if TYPE_CHECKING:
    from console.triage.run import RunState
    from console.triage.steps.action import Proposal

END = "done"  # the target that ends the run
# Durations are written as text ("5m") and dumped as milliseconds text, so a journaled definition reads back.
Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(lambda s: f"{s * 1000:.0f}ms")]


# -- what a step waits on -------------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    """Time: a condition that has not held long enough, or not yet within `within` seconds of the step's start."""

    evidence: str
    within: float | None = None
    waits_for: ClassVar[str] = "time"


INLINE_CHOICES = 5  # a question with at most this many choices is answered on the triage screen itself


@dataclass(frozen=True)
class Answer:
    """The operator's answer: one of `choices`, or free text when there are none. A few choices are answered where
    they are shown (`inline`: one key), more in a list that filters as one types."""

    question: str
    choices: tuple[str, ...] = ()
    waits_for: ClassVar[str] = "operator"

    @property
    def inline(self) -> bool:
        return 0 < len(self.choices) <= INLINE_CHOICES

    @property
    def hint(self) -> str:
        if self.inline:
            return "↑ ↓ choose · enter: answer"
        return "enter: pick the answer (type to filter)" if self.choices else "enter: answer"


@dataclass(frozen=True)
class Show:
    """The operator looks at a source's pane (its name in the registry), filtered, then goes on."""

    pane: str
    filter: str = ""
    waits_for: ClassVar[str] = "operator"
    hint: ClassVar[str] = "enter: show it on the dashboard"


@dataclass(frozen=True)
class Propose:
    """The outcome of an action the caller runs through the runner (the engine never runs one)."""

    proposal: Proposal
    waits_for: ClassVar[str] = "outcome"
    hint: ClassVar[str] = "enter: preview and confirm (nothing runs before that)"


@dataclass(frozen=True)
class PostUpdate:
    """The operator posts a status update (`note` prefilled), the incident first moved to `status` when given."""

    status: str | None = None
    note: str = ""
    waits_for: ClassVar[str] = "operator"
    hint: ClassVar[str] = "enter: write and post the update (ctrl+s posts it; the run goes on once it is posted)"


Move = Wait | Answer | Show | Propose | PostUpdate


# -- what a step may use --------------------------------------------------------------------------


class Run(Protocol):
    """What a step may use of the engine while it runs: the live state, the clock, the run as the journal tells it,
    and the ways to journal a result."""

    live: LiveState
    clock: Clock

    @property
    def state(self) -> RunState: ...

    def record(
        self,
        step: StepKind,
        result: str,
        evidence: str,
        *,
        answer: str | None = None,
        target: str | None = None,
        outcome: str = "completed",
        **extra: Any,
    ) -> None:
        """Journal the step's result and move to `target` (else its branch for the result, else the next step)."""

    def held(self, step: StepKind, condition: str, for_s: float) -> Held:
        """The condition's verdict, held `for_s` seconds since the step was entered."""

    def action_run(self, action: str) -> tuple[int, dict] | None:
        """The first run of `action` requested since the step began, with its outcome: (request seq, outcome)."""

    def update_posted(self) -> int | None:
        """The journal seq of the first status update posted in the run's incident since the step began."""


@dataclass(frozen=True)
class Checking:
    """What `triage check` knows when it asks a step about itself: the check names of each configured section, the
    actions a playbook may name, the names the playbook captures (for `{name}` references), the unit of each
    check's number and the configured severity scheme's levels."""

    known: dict[str, set[str]]
    actions: Set[str]
    captures: Set[str]
    units: dict[str, dict[str, str]] = field(default_factory=dict)
    levels: tuple[str, ...] = ()

    def condition(self, text: str) -> list[str]:
        """What is wrong with a condition a step gives, as `triage check` says it."""
        return [f"condition: {p}" for p in conditions.problems(text, self.known, self.units, self.levels)]


# -- the base -------------------------------------------------------------------------------------


class StepKind(BaseModel, ABC):
    """A step: `id` (default `step-N`), `title`, `next`; each kind adds its own fields and says the four things."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = ""
    title: str = ""
    next: str | None = None

    kind: str
    stops_loops: ClassVar[bool] = False  # a loop through it can end by the operator or the clock

    @abstractmethod
    def problems(self, checking: Checking) -> list[str]:
        """What `triage check` says about the step beyond its place in the playbook (one phrase each)."""

    @abstractmethod
    def describe(self) -> str:
        """The step in words on the triage screen (its checklist line when it has no title)."""

    @abstractmethod
    def detail(self) -> str:
        """Everything the step says, for `triage show`."""

    @abstractmethod
    def run(self, run: Run) -> Move | None:
        """Take the step if nothing needs waiting for (journaled through `run.record`: None), else what it waits on."""

    def branches(self) -> list[tuple[str, str]]:
        """Its explicit branches as (label, target), as `triage show` words them."""
        return [("then", self.next)] if self.next else []

    def targets(self) -> list[str]:
        return [target for _, target in self.branches()]

    def falls_through(self) -> bool:
        """Whether the next step in the list may follow (no branch covers every way out)."""
        return self.next is None

    def successors(self, following: str) -> set[str]:
        """The steps it can lead to, `following` being the next in the list."""
        return set(self.targets()) | ({following} if self.falls_through() else set())

    def captures(self) -> set[str]:
        """The names it stores for later `{name}` references."""
        return set()


class Branching(StepKind, ABC):
    """A step that passes or fails and branches on it."""

    on_pass: str | None = None
    on_fail: str | None = None

    def branches(self) -> list[tuple[str, str]]:
        found = [(label, target) for label, target in (("pass", self.on_pass), ("fail", self.on_fail)) if target]
        return found + super().branches()

    def falls_through(self) -> bool:
        return self.next is None and not (self.on_pass and self.on_fail)


class Answerable(StepKind, ABC):
    """A step the operator answers."""

    @abstractmethod
    def answer(self, run: Run, text: str) -> None:
        """Journal the answer (TriageError when it is not one)."""


class Proceeding(StepKind, ABC):
    """A step the operator does outside the run (looks at a pane), then says so and goes on."""

    @abstractmethod
    def proceed(self, run: Run) -> None:
        """Journal that the operator went on."""


def check_origin(output: str | None, json_path: str | None, feed: str | None, *, path: str, feed_example: str) -> None:
    """capture's and pick's rule for where a value comes from: exactly one of `output` (a regex over the last action's
    output) or `json` (`path`, in the live model of `feed`); raises ValueError in the config's words."""
    if (output is None) == (json_path is None):
        raise ValueError(f"give exactly one of output (a regex) or json ({path})")
    if json_path is not None and not feed:
        raise ValueError(f'json needs feed, e.g. feed = "{feed_example}"')
    if output is not None:
        try:
            re.compile(output)
        except re.error as exc:
            raise ValueError(f"output is not a regular expression: {exc}") from None
