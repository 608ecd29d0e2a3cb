"""The live state: the latest model and checks of every feed, when each was seen, and a short history.

Feeds write to it (`update`); the dashboard, the wall, `status`, the observer and triage read it or subscribe to
it. It never imports Textual and does no I/O, so anything headless can hold one and poll into it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.clock import Clock
from console.models import Check, State
from console.models.incident import IncidentFacts
from console.sustain import Sustain

HISTORY = 60


@dataclass(frozen=True)
class CheckChange:
    """A check whose state differs from the one seen before (`before` is None the first time it is seen)."""

    check: Check
    before: State | None


@dataclass
class Reading:
    """One check as last seen, with when it was seen, since when it has been in this state, and its history."""

    check: Check
    seen_at: datetime
    since: datetime
    history: deque[float | None] = field(default_factory=lambda: deque(maxlen=HISTORY))


Listener = Callable[[list[Any], list[CheckChange]], object]  # what it returns is not read


class LiveState:
    """Latest model per feed key and latest reading per check key (`source:name`), in the order first seen."""

    def __init__(self, clock: Clock | None = None, sustain: Sustain | None = None) -> None:
        self.clock = clock or Clock()
        self.sustain = sustain or Sustain()  # raw check states -> the states everyone sees (`for`, `clear_for`)
        self.models: dict[str, Any] = {}
        self.readings: dict[str, Reading] = {}
        self._by_source: dict[str, dict[str, Reading]] = {}  # `any health is down` reads one source, not all
        self._counts: dict[str, dict[State, int]] = {}  # per source, made on demand, dropped on every update
        self._listeners: list[Listener] = []
        self.incident: IncidentFacts | None = None  # the open incident, for `incident.*` conditions (None: none open)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(models, changes)` after every update; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def update(self, models: Iterable[Any]) -> list[CheckChange]:
        """Take a batch of models (each with `checks()`), remember them, tell the listeners what changed."""
        now = self.clock.now()
        models = list(models)
        self._counts.clear()
        changes: list[CheckChange] = []
        for index, model in enumerate(models):
            raw = model.checks()
            judged = [self._see(check, now, changes) for check in raw]
            if hasattr(model, "check"):  # a tile (health, metric) shows the held state
                if judged[0] is not raw[0]:
                    model = model.model_copy(update={"state": judged[0].state, "reason": judged[0].reason})
            elif "held" in getattr(type(model), "model_fields", ()):
                model = self._held_snapshot(model, raw)
            models[index] = model
            self.models[feed_key(model)] = model
        for listener in list(self._listeners):
            listener(models, changes)
        return changes

    def _see(self, check: Check, now: datetime, changes: list[CheckChange]) -> Check:
        reading = self.readings.get(check.key)
        check = self.sustain.judge(check, reading.check.state if reading else None, now)
        if reading is None:
            reading = self.readings[check.key] = Reading(check, now, now)
            self._by_source.setdefault(check.source, {})[check.key] = reading
            reading.history.append(check.number)
            changes.append(CheckChange(check, None))
            return check
        before = reading.check.state
        reading.check, reading.seen_at = check, now
        reading.history.append(check.number)
        if before is not check.state:
            reading.since = now
            changes.append(CheckChange(check, before))
        return check

    def _held_snapshot(self, model: Any, raw: list[Check]) -> Any:
        """A server snapshot (PostgreSQL, Redis) as everyone sees it while a change is held back by `for`: its state
        is the worst shown state of its source, `held` names what is pending, and while a DOWN is held back the pane
        keeps the last reading that was not DOWN."""
        pending = [f"{c.name} {self.sustain.pending[c.key]}" for c in raw if c.key in self.sustain.pending]
        if not pending:
            return model
        states = [r.check.state for r in self._by_source[raw[0].source].values() if r.check.state is not State.UNKNOWN]
        base = model
        if model.state is State.DOWN:
            before = self.models.get(feed_key(model))
            base = before if before is not None and before.state is not State.DOWN else model
        shown = State.worst(states) if states else State.OK
        return base.model_copy(update={"state": shown, "held": " · ".join(pending)})

    def checks(self, source: str | None = None) -> list[Check]:
        """Every latest check (of one source when given), in the order first seen."""
        readings = self.readings if source is None else self._by_source.get(source, {})
        return [r.check for r in readings.values()]

    def state_counts(self, source: str) -> dict[State, int]:
        """How many checks of a source are in each state (what `any` / `all` conditions need)."""
        counts = self._counts.get(source)
        if counts is None:
            counts = self._counts[source] = {}
            for reading in self._by_source.get(source, {}).values():
                counts[reading.check.state] = counts.get(reading.check.state, 0) + 1
        return counts

    def check(self, source: str, name: str) -> Check | None:
        reading = self.readings.get(f"{source}:{name}")
        return reading.check if reading else None

    def reading(self, source: str, name: str) -> Reading | None:
        return self.readings.get(f"{source}:{name}")

    def model(self, key: str) -> Any | None:
        """The latest model of a feed: `health:api`, `metric:error rate`, `postgres`, `redis`, `logs:app`."""
        return self.models.get(key)

    def worst(self) -> State:
        checks = self.checks()
        return State.worst([c.state for c in checks]) if checks else State.UNKNOWN


def feed_key(model: Any) -> str:
    """The feed a model belongs to: its `feed_key` attribute when it has one, else the source of its first check."""
    key = getattr(model, "feed_key", None)
    if key:
        return key
    checks = model.checks()
    return checks[0].source if checks else type(model).__name__
