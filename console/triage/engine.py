"""The triage engine: walks one playbook run against the live state and journals every transition (kinds in
`console.triage.run`). Its state is always the journal's: every call replays it first, so two engines on one journal
agree and a restarted one resumes at the same step.

The engine never runs actions. An action step yields a `Proposal` (the action and its resolved params); the caller
runs it through the runner, then the engine records the outcome from the journal (`record_action(request_seq)`, or
`poll()` finds the first run of that action since the step began).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from console.clock import Clock
from console.journal import Journal
from console.journal.cursor import JournalCursor
from console.journal.horizon import at_seq, horizon
from console.live import LiveState
from console.models import format_duration
from console.models.health import number_at
from console.triage.conditions import Truth, evaluate
from console.triage.errors import TriageError
from console.triage.playbook import END, Playbook
from console.triage.resolve import ResolveError, Scalar, resolve_params
from console.triage.run import BACK, FINISHED, SKIPPED, STARTED, STEP, RunState, feed, open_run, replay
from console.triage.sustained import Sustained

MAX_AUTOMATIC = 200  # steps one poll may take on its own (validation already rejects loops with no ask or verify)
OUTCOMES = ("action.completed", "action.failed", "action.cancelled")


@dataclass(frozen=True)
class Proposal:
    """What an action step proposes: the action and its params with every reference resolved (or why not)."""

    step: str
    action: str
    params: dict[str, Scalar]
    error: str | None = None


@dataclass(frozen=True)
class StepView:
    """What to show for the current step: the step (None when finished), what the engine waits for, evidence."""

    step: Any
    waiting_for: str  # operator | time | outcome | nothing (finished)
    evidence: str = ""
    proposal: Proposal | None = None
    outcome: str | None = None


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
    def current(self) -> Any | None:
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
        step = self._at("action")
        try:
            params = resolve_params(step.params, self.state.captures, self.live)
        except ResolveError as exc:
            return Proposal(step.id, step.action, {}, str(exc))
        return Proposal(step.id, step.action, params)

    def view(self) -> StepView:
        step = self.current
        if step is None:
            return StepView(None, "nothing", outcome=self.state.outcome or "completed")
        if step.kind == "action":
            proposal = self.proposal()
            return StepView(step, "outcome", proposal.error or "", proposal)
        return StepView(step, "time" if step.kind in ("check", "verify") else "operator")

    # -- moving -----------------------------------------------------------------------------------

    def poll(self) -> StepView:
        """Take every step that needs no operator (checks, captures, verifies that are decided, action outcomes)."""
        for _ in range(MAX_AUTOMATIC):
            step = self._synced_step()
            if step is None:
                return self.view()
            waiting = self._automatic(step)
            if waiting is not None:
                return waiting
        return self.view()

    def answer(self, answer: str, *, step: str | None = None) -> None:
        """Answer the current `ask` step: a choice's label (case-insensitive) or, with no choices, free text."""
        current = self._at("ask", step)
        answer = answer.strip()
        if current.choices:
            choice = next((c for c in current.choices if c.label.lower() == answer.lower()), None)
            if choice is None:
                labels = ", ".join(c.label for c in current.choices)
                raise TriageError(f"{current.id}: {answer!r} is not one of the choices ({labels})")
            self._record(current, "answered", "", answer=choice.label, target=choice.next)
            return
        if not answer:
            raise TriageError(f"{current.id}: an answer is needed (or skip the step)")
        captured = {current.capture: answer} if current.capture else {}
        self._record(current, "answered", "", answer=answer, captured=captured)

    def proceed(self, *, step: str | None = None) -> None:
        """The operator has looked (`look`) or posted the update (`update`): go on."""
        current = self._at(("look", "update"), step)
        self._record(current, "done", current.filter if current.kind == "look" else "")

    def skip(self, reason: str, *, step: str | None = None) -> None:
        """Leave the current step without a result and go to the next in the list (or its `next`)."""
        current = self._at(None, step)
        target = current.next or self.playbook.following(current.id)
        self._write(SKIPPED, {"step": current.id, "reason": reason, "next": target})
        self._finish_if_end(target, "completed")

    def back(self, *, step: str | None = None) -> None:
        """Return to the step before the current one (a step answered or decided there is taken again)."""
        current = self._at(None, step)
        if len(self.state.path) < 2:
            raise TriageError(f"{current.id}: this is the first step")
        self._write(BACK, {"step": current.id, "to": self.state.path[-2]})

    def record_action(self, request_seq: int, *, step: str | None = None) -> None:
        """Record the outcome of the run of the current action step whose `action.requested` has this seq."""
        current = self._at("action", step)
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
        self._record_outcome(current, request_seq, outcome)

    def abandon(self, reason: str = "") -> None:
        """End the run where it is."""
        self.sync()
        if self.state.finished:
            raise TriageError("the run has already finished")
        self._write(FINISHED, {"outcome": "abandoned", "reason": reason})

    # -- internals --------------------------------------------------------------------------------

    def _synced_step(self) -> Any | None:
        self.sync()
        return self.current

    def _at(self, kinds: str | tuple[str, ...] | None, expected: str | None = None) -> Any:
        step = self._synced_step()
        if step is None:
            raise TriageError(f"the run has finished ({self.state.outcome or 'completed'})")
        if expected is not None and step.id != expected:
            raise TriageError(f"step {expected} is no longer current (the run is at {step.id})")
        wanted = (kinds,) if isinstance(kinds, str) else kinds
        if wanted is not None and step.kind not in wanted:
            raise TriageError(f"step {step.id} is a {step.kind} step, not {' or '.join(wanted)}")
        return step

    def _automatic(self, step: Any) -> StepView | None:
        """Decide the step if it can be decided now (and return None), else what it waits for."""
        if step.kind == "done":
            self._record(step, "done", step.outcome, target=END, outcome=step.outcome)
        elif step.kind == "capture":
            self._capture(step)
        elif step.kind == "check" and not step.for_:
            result = evaluate(step.condition, self.live)
            self._record(step, result.value.value, result.text)
        elif step.kind in ("check", "verify"):
            held = self._tracker(step).poll(self.live)
            deadline = step.within if step.kind == "verify" else None
            elapsed = (self.clock.now() - self.state.entered_at).total_seconds()
            if held.value is Truth.PASS:
                self._record(step, "pass", held.text)
            elif step.kind == "check" and not held.waiting:
                self._record(step, held.value.value, held.text)
            elif deadline is not None and elapsed >= deadline:
                wanted = f" for {format_duration(step.for_)}" if step.for_ else ""
                self._record(step, "fail", f"{held.text}; did not hold{wanted} within {format_duration(deadline)}")
            else:
                return StepView(step, "time", held.text)
        elif step.kind == "action":
            found = self._action_run(step)
            if found is None:
                return self.view()
            self._record_outcome(step, *found)
        else:
            return self.view()
        return None

    def _tracker(self, step: Any) -> Sustained:
        key = (self.state.entered_seq, step.id)
        if key not in self._trackers:
            self._trackers = {key: Sustained(step.condition, step.for_, self.clock)}
        return self._trackers[key]

    def _capture(self, step: Any) -> None:
        value: Any = None
        if step.output is not None:
            found = next((m for line in self.state.last_output if (m := re.search(step.output, line))), None)
            value = (found.group(1) if found.groups() else found.group(0)) if found else None
            where = "the last action's output"
        else:
            model = self.live.model(step.feed)
            document = json.loads(model.model_dump_json()) if hasattr(model, "model_dump_json") else None
            value = number_at(document, step.json_path) if document is not None else None
            where = f"{step.feed} {step.json_path}"
        if value is None:
            self._record(step, "fail", f"nothing to capture from {where}")
        else:
            self._record(step, "pass", f"{step.name} = {value} (from {where})", captured={step.name: value})

    def _action_run(self, step: Any) -> tuple[int, dict] | None:
        """The first run of the step's action requested since the step began, with its outcome."""
        entries = [e for e in self._since_start if e["seq"] > self.state.entered_seq]
        for entry in entries:
            if entry.get("kind") == "action.requested" and entry.get("data", {}).get("action") == step.action:
                outcome = next(
                    (e for e in entries if e.get("corr") == entry["seq"] and e.get("kind") in OUTCOMES), None
                )
                return None if outcome is None else (entry["seq"], outcome)
        return None

    def _record_outcome(self, step: Any, request_seq: int, outcome: dict) -> None:
        data = outcome.get("data") or {}
        status = str(data.get("status") or outcome["kind"].removeprefix("action."))
        evidence = f"{step.action}: {status}" + (f": {data['message']}" if data.get("message") else "")
        self._record(
            step,
            "pass" if status == "completed" else "fail",
            evidence,
            request_seq=request_seq,
            output_tail=data.get("output_tail") or [],
        )

    def _record(
        self,
        step: Any,
        result: str,
        evidence: str,
        *,
        answer: str | None = None,
        target: str | None = None,
        outcome: str = "completed",
        **extra: Any,
    ) -> None:
        if target is None:
            branch = getattr(step, "on_pass" if result == "pass" else "on_fail", None) if result != "answered" else None
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

    def _finish_if_end(self, target: str, outcome: str) -> None:
        if target == END:
            self._write(FINISHED, {"outcome": outcome})

    def _write(self, kind: str, data: dict[str, Any]) -> None:
        self.journal.append(kind, data, incident=self.state.incident, corr=self.run)
        self.sync()
