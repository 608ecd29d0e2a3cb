"""The triage engine: walks one playbook run against the live state and journals every transition (kinds in
`console.triage.run`). Its state is always the journal's: every call replays it first, so two engines on one journal
agree and a restarted one resumes at the same step.

Each step kind says what the engine does with it (`console.triage.steps`: `run` takes the step or says what it waits
on); the engine gives it what it may use (the `Run` protocol: the live state, the clock, the run, `record`). The
engine never runs actions. An action step yields a `Proposal` (the action and its resolved params); the caller runs
it through the runner, then the engine records the outcome from the journal (`record_action(request_seq)`, or
`poll()` finds the first run of that action since the step began).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from console.clock import Clock
from console.incident.updates import posted
from console.journal import Journal
from console.journal.cursor import JournalCursor
from console.journal.horizon import at_seq, horizon
from console.live import LiveState
from console.triage.errors import TriageError
from console.triage.playbook import END, Playbook
from console.triage.run import BACK, FINISHED, SKIPPED, STARTED, STEP, RunState, feed, open_run, replay
from console.triage.steps import STEP_KINDS, Answerable, Branching, Move, Proceeding, Propose, Step, StepKind, Wait
from console.triage.steps.action import ActionStep, Proposal
from console.triage.sustained import Held, Sustained

K = TypeVar("K", bound=StepKind)
MAX_AUTOMATIC = 200  # steps one poll may take on its own (validation already rejects loops with no ask or verify)
OUTCOMES = ("action.completed", "action.failed", "action.cancelled")


@dataclass(frozen=True)
class StepView:
    """What to show for the current step: the step (None when finished), what it waits on, or the run's outcome."""

    step: Step | None
    move: Move | None = None
    outcome: str | None = None

    @property
    def waiting_for(self) -> str:
        """operator | time | outcome | nothing (finished)."""
        return self.move.waits_for if self.move is not None else "nothing"

    @property
    def evidence(self) -> str:
        if isinstance(self.move, Wait):
            return self.move.evidence
        return (self.proposal.error or "") if self.proposal is not None else ""

    @property
    def proposal(self) -> Proposal | None:
        return self.move.proposal if isinstance(self.move, Propose) else None


class TriageEngine:
    """One run of a playbook. Start one with `start`, pick one up with `resume`."""

    def __init__(self, journal: Journal, live: LiveState, clock: Clock, run: int) -> None:
        self.journal, self.live, self.clock, self.run = journal, live, clock, run
        self._trackers: dict[tuple[int, str], Sustained] = {}
        self._cursor = JournalCursor(journal, at_seq(run))  # the run's entries, from its start
        self._runs: dict[int, RunState] = {}
        self._since_start: list[dict] = []  # entries from the run's start on (action requests and outcomes)
        self.state = self.sync()

    @classmethod
    def start(
        cls, playbook: Playbook, journal: Journal, live: LiveState, clock: Clock, *, incident: str | None = None
    ) -> TriageEngine:
        """Journal `triage.started` (the definition goes with it: the run keeps this version) and begin."""
        data = {
            "playbook": playbook.name,
            "title": playbook.title,
            "digest": playbook.digest,
            "definition": playbook.definition(),
            "incident": incident,
        }
        entry = journal.append(STARTED, data, incident=incident)
        return cls(journal, live, clock, entry["seq"])

    @classmethod
    def resume(cls, journal: Journal, live: LiveState, clock: Clock, run: int | None = None) -> TriageEngine | None:
        """The run `run`, else the latest unfinished one (the horizon keeps it); None when there is none."""
        if run is None:
            unfinished = horizon(journal).summary.runs
            if not unfinished:
                return None
            entries, _ = JournalCursor(journal, at_seq(min(unfinished))).read()
            state = open_run(replay(entries))
            if state is None:
                return None
            run = state.run
        try:
            return cls(journal, live, clock, run)
        except TriageError:  # no such run
            return None

    # -- reading ----------------------------------------------------------------------------------

    def sync(self) -> RunState:
        """Apply what was appended to the journal since the last sync (another console may have moved the run on)."""
        entries, restarted = self._cursor.read()
        if restarted:
            self._runs, self._since_start = {}, []
        for entry in entries:
            feed(self._runs, entry)
        self._since_start.extend(e for e in entries if isinstance(e.get("seq"), int) and e["seq"] >= self.run)
        state = self._runs.get(self.run)
        if state is None:
            raise TriageError(f"no triage run {self.run} in {self.journal.path}")
        self.state = state
        return state

    @property
    def playbook(self) -> Playbook:
        return self.state.playbook

    @property
    def current(self) -> Step | None:
        """The step the run is at, or None once finished."""
        return None if self.state.finished else self.playbook.step(self.state.current)

    def changed(self, latest: Playbook | None) -> str | None:
        """A notice when the playbook's definition now differs from the one this run started with."""
        if latest is None or latest.digest == self.state.digest:
            return None
        return (
            f"playbook {self.playbook.name} changed since this run started; the run keeps the version it started with"
        )

    def proposal(self) -> Proposal:
        """The current action step's proposal; TriageError when the current step is not an action."""
        return self._at(ActionStep).propose(self.state.captures, self.live)

    def view(self) -> StepView:
        """The run's outcome once finished (`poll` says what a current step waits on)."""
        step = self.current
        if step is None:
            return StepView(None, outcome=self.state.outcome or "completed")
        return StepView(step, Wait(f"{MAX_AUTOMATIC} steps were taken in one poll; the next poll goes on"))

    # -- moving -----------------------------------------------------------------------------------

    def poll(self) -> StepView:
        """Take every step that needs no operator (checks, captures, verifies that are decided, action outcomes)."""
        for _ in range(MAX_AUTOMATIC):
            step = self._synced_step()
            if step is None:
                return self.view()
            move = step.run(self)
            if move is not None:
                return StepView(step, move)
        return self.view()

    def answer(self, answer: str, *, step: str | None = None) -> None:
        """Answer the current step (an `ask`: a choice's label, case-insensitive, or free text with no choices)."""
        current = self._current(step)
        if not isinstance(current, Answerable):
            raise self._not_a(current, Answerable)
        current.answer(self, answer)

    def proceed(self, *, step: str | None = None) -> None:
        """The operator has looked (`look`): go on."""
        current = self._current(step)
        if not isinstance(current, Proceeding):
            raise self._not_a(current, Proceeding)
        current.proceed(self)

    def skip(self, reason: str, *, step: str | None = None) -> None:
        """Leave the current step without a result and go to the next in the list (or its `next`)."""
        current = self._current(step)
        target = current.next or self.playbook.following(current.id)
        self._write(SKIPPED, {"step": current.id, "reason": reason, "next": target})
        self._finish_if_end(target, "completed")

    def back(self, *, step: str | None = None) -> None:
        """Return to the step before the current one (a step answered or decided there is taken again)."""
        current = self._current(step)
        if len(self.state.path) < 2:
            raise TriageError(f"{current.id}: this is the first step")
        self._write(BACK, {"step": current.id, "to": self.state.path[-2]})

    def record_action(self, request_seq: int, *, step: str | None = None) -> None:
        """Record the outcome of the run of the current action step whose `action.requested` has this seq."""
        current = self._at(ActionStep, step)
        self.sync()
        entries = self._since_start
        request = next(
            (e for e in entries if e.get("seq") == request_seq and e.get("kind") == "action.requested"), None
        )
        if request is None or request.get("data", {}).get("action") != current.action:
            raise TriageError(f"{current.id}: journal seq {request_seq} is not a request of {current.action}")
        outcome = next((e for e in entries if e.get("corr") == request_seq and e.get("kind") in OUTCOMES), None)
        if outcome is None:
            raise TriageError(f"{current.id}: {current.action} (seq {request_seq}) has no outcome yet")
        current.record_outcome(self, request_seq, outcome)

    def abandon(self, reason: str = "") -> None:
        """End the run where it is."""
        self.sync()
        if self.state.finished:
            raise TriageError("the run has already finished")
        self._write(FINISHED, {"outcome": "abandoned", "reason": reason})

    # -- what a step may use (console.triage.steps.Run) ---------------------------------------------

    def held(self, step: StepKind, condition: str, for_s: float) -> Held:
        """The condition's verdict, held `for_s` since the step was entered (one tracker: the current step's)."""
        key = (self.state.entered_seq, step.id)
        if key not in self._trackers:
            self._trackers = {key: Sustained(condition, for_s, self.clock)}
        return self._trackers[key].poll(self.live)

    def action_run(self, action: str) -> tuple[int, dict] | None:
        """The first run of `action` requested since the step began, with its outcome."""
        entries = [e for e in self._since_start if e["seq"] > self.state.entered_seq]
        for entry in entries:
            if entry.get("kind") == "action.requested" and entry.get("data", {}).get("action") == action:
                outcome = next(
                    (e for e in entries if e.get("corr") == entry["seq"] and e.get("kind") in OUTCOMES), None
                )
                return None if outcome is None else (entry["seq"], outcome)
        return None

    def update_posted(self) -> int | None:
        """The seq of the first status update posted in the run's incident since the step began."""
        return next(
            (
                e["seq"]
                for e in self._since_start
                if e["seq"] > self.state.entered_seq and e.get("incident") == self.state.incident and posted(e)
            ),
            None,
        )

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
        """Journal `triage.step` (the journal's format: docs in console.triage.run) and finish at END."""
        if target is None:
            branch = None
            if isinstance(step, Branching) and result != "answered":
                branch = step.on_pass if result == "pass" else step.on_fail
            target = branch or step.next or self.playbook.following(step.id)
        elapsed = self.clock.now() - self.state.entered_at
        data = {
            "step": step.id,
            "kind": step.kind,
            "result": result,
            "evidence": evidence,
            "answer": answer,
            "duration_ms": max(0, int(elapsed.total_seconds() * 1000)),
            "next": target,
            **extra,
        }
        self._write(STEP, data)
        self._finish_if_end(target, outcome)

    # -- internals --------------------------------------------------------------------------------

    def _synced_step(self) -> Step | None:
        self.sync()
        return self.current

    def _at(self, kind: type[K], expected: str | None = None) -> K:
        """The current step, which must be a `kind` (a concrete one) and `expected`, when given."""
        step = self._current(expected)
        if not isinstance(step, kind):
            raise self._not_a(step, kind)
        return step

    def _current(self, expected: str | None = None) -> StepKind:
        """The current step (which must be `expected`, when given)."""
        step = self._synced_step()
        if step is None:
            raise TriageError(f"the run has finished ({self.state.outcome or 'completed'})")
        if expected is not None and step.id != expected:
            raise TriageError(f"step {expected} is no longer current (the run is at {step.id})")
        return step

    @staticmethod
    def _not_a(step: StepKind, kind: type) -> TriageError:
        """Why `step` cannot take what was asked of it: it is not one of the kinds that do."""
        wanted = " or ".join(name for name, cls in STEP_KINDS.items() if issubclass(cls, kind))
        return TriageError(f"step {step.id} is a {step.kind} step, not {wanted}")

    def _finish_if_end(self, target: str, outcome: str) -> None:
        if target == END:
            self._write(FINISHED, {"outcome": outcome})

    def _write(self, kind: str, data: dict[str, Any]) -> None:
        self.journal.append(kind, data, incident=self.state.incident, corr=self.run)
        self.sync()
