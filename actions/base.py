"""The shape every operator action has: typed params, a side-effect-free plan, an execute that re-checks."""

from __future__ import annotations

import asyncio
import logging
import signal
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from console.config import Config
from console.models import Outcome, Plan, ProgressEvent, Risk, utc_now
from console.redact import Redactor
from console.terminal import Terminal

if TYPE_CHECKING:
    from console.channels.outbox import Outbox

log = logging.getLogger(__name__)


class ParamError(ValueError):
    """A parameter is missing or malformed; str() is one line naming the parameter and what is expected."""


@dataclass
class ActionContext:
    """What an action may reach: the config, the redactor for anything it shows, the clock, the terminal it may
    lend a program that needs one (None when the console has none: no tty, a pipe, a test harness) and the outbox of
    the runner's journal (None without `[[channel]]`: one per process, the TUI's sender loop shares it)."""

    config: Config
    redactor: Redactor
    clock: Callable[[], datetime] = utc_now
    terminal: Terminal | None = None
    outbox: Outbox | None = None

    @property
    def environment(self) -> str:
        return self.config.console.environment


@dataclass
class Progress:
    """What a running action reports (counts, output lines, messages), the operator's cancel switch, and the end
    of a followed command (`end_follow`: the operator has seen enough; that run completes)."""

    listener: Callable[[ProgressEvent], None] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    total: int | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    sink: Callable[[str], None] | None = None  # the runner's output file: every line, not just the tail
    cancel_reason: str = "cancelled by the operator"
    stop_signal: int = signal.SIGTERM  # what a program lent the terminal gets on a cancel (the console's SIGHUP...)
    follow_ended: asyncio.Event = field(default_factory=asyncio.Event)
    lines: int = 0  # output lines reported so far

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n
        self._emit(ProgressEvent(counts=dict(self.counts), total=self.total))

    def set_total(self, total: int | None) -> None:
        self.total = total
        self._emit(ProgressEvent(counts=dict(self.counts), total=total))

    def line(self, text: str) -> None:
        self.lines += 1
        self.tail.append(text)
        if self.sink is not None:
            self.sink(text)
        self._emit(ProgressEvent(line=text))

    def message(self, text: str) -> None:
        self._emit(ProgressEvent(message=text))

    def cancel(self, reason: str = "cancelled by the operator", stop_signal: int = signal.SIGTERM) -> None:
        """Ask the running action to stop; the runner journals what was done so far, with `reason`. A program lent
        the terminal gets `stop_signal` (the SIGHUP or SIGTERM the console got)."""
        if not self.cancelled.is_set():
            self.cancel_reason, self.stop_signal = reason, stop_signal
        self.cancelled.set()

    def end_follow(self) -> None:
        """The operator closed a followed command's output (escape, ctrl+c): it is stopped and the run completes."""
        self.follow_ended.set()

    def _emit(self, event: ProgressEvent) -> None:
        if self.listener is None:
            return
        try:
            self.listener(event)
        except Exception:  # whoever watched went away (a closed pipe, a closed screen): the action goes on
            log.warning("progress listener failed; the action goes on without it", exc_info=True)
            self.listener = None


class Action(ABC):
    """One operator action. Subclasses set name, risk, description and Params: a built-in on its class, one made
    from the config (a command, a script, a runbook step) on each instance."""

    name: str
    risk: Risk
    description: str = ""
    label: str = ""  # how the palette names it when the name alone says little (a runbook step)
    Params: type[BaseModel]
    secret_params: frozenset[str] = frozenset()  # asked without echo, never shown or journaled in clear

    def param_help(self) -> dict[str, str]:
        """Parameter name -> description, for forms and --help."""
        return {name: f.description or "" for name, f in self.Params.model_fields.items()}

    def parse_params(self, raw: Mapping[str, Any]) -> BaseModel:
        """Validate raw (usually string) values into Params; raises ParamError with one clear line."""
        unknown = sorted(set(raw) - set(self.Params.model_fields))
        if unknown:
            known = ", ".join(f"--{n}" for n in self.Params.model_fields) or "none"
            raise ParamError(f"{self.name}: unknown parameter --{unknown[0]} (parameters: {known})")
        try:
            return self.Params.model_validate(dict(raw))
        except ValidationError as exc:
            error = exc.errors()[0]
            param = error["loc"][0] if error["loc"] else "?"
            if error["type"] == "missing":
                hint = self.param_help().get(str(param), "")
                raise ParamError(f"{self.name}: --{param} is required" + (f" ({hint})" if hint else "")) from None
            message = error["msg"].removeprefix("Value error, ")
            if param in self.secret_params:  # never echo a secret, not even a wrong one
                raise ParamError(f"{self.name}: --{param}: {message} (the value given is secret: not shown)") from None
            raise ParamError(f"{self.name}: --{param}: {message}, got {error.get('input')!r}") from None

    @abstractmethod
    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        """Read the world and say exactly what will be touched. No side effects."""

    @abstractmethod
    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        """Do it, re-checking each target against the plan, reporting progress via `progress`."""
