"""The registry of triage step kinds (check, look, ask, action, verify, capture, pick, update, done): one module per
kind, each a pydantic model that parses itself, says what `triage check` finds wrong with it (`problems`), words
itself (`describe` for the screen, `detail` for `triage show`) and runs (`run`: what the engine does with it).
Adding a kind is its module and one line here (`Step`).
"""

from __future__ import annotations

from typing import Annotated, get_args

from pydantic import Field

from console.triage.steps.action import ActionStep
from console.triage.steps.ask import AskStep, Choice
from console.triage.steps.base import (
    END,
    Answer,
    Answerable,
    Branching,
    Checking,
    Move,
    PostUpdate,
    Proceeding,
    Propose,
    Run,
    Show,
    StepKind,
    Wait,
)
from console.triage.steps.capture import CaptureStep
from console.triage.steps.check import CheckStep
from console.triage.steps.done import DoneStep
from console.triage.steps.look import LookStep
from console.triage.steps.pick import PickStep
from console.triage.steps.update import UpdateStep
from console.triage.steps.verify import VerifyStep

Step = Annotated[
    CheckStep | LookStep | AskStep | ActionStep | VerifyStep | CaptureStep | PickStep | UpdateStep | DoneStep,
    Field(discriminator="kind"),
]
STEP_KINDS: dict[str, type[StepKind]] = {
    get_args(cls.model_fields["kind"].annotation)[0]: cls for cls in get_args(get_args(Step)[0])
}
KINDS = tuple(STEP_KINDS)

__all__ = [
    "END",
    "KINDS",
    "STEP_KINDS",
    "ActionStep",
    "Answer",
    "Answerable",
    "AskStep",
    "Branching",
    "CaptureStep",
    "CheckStep",
    "Checking",
    "Choice",
    "DoneStep",
    "LookStep",
    "Move",
    "PickStep",
    "PostUpdate",
    "Proceeding",
    "Propose",
    "Run",
    "Show",
    "Step",
    "StepKind",
    "UpdateStep",
    "VerifyStep",
    "Wait",
]
