"""A triage run's journal kinds and its state, rebuilt only by replaying the journal (`replay`), so a restarted
console, or a second one on the same journal, resumes at the same step.

Journal kinds (every one after `triage.started` carries the run's id, the seq of its `triage.started`, in `corr`):

- `triage.started`   playbook (name), title, digest (sha256 of the definition), definition (the playbook as data:
  the run keeps this version even if the file changes), incident (id or null; also the entry's `incident`).
- `triage.step`      step (id), kind, result (pass | fail | unknown | answered | done), evidence, answer, duration_ms,
  next (the step entered next, or "done"); for actions also request_seq and output_tail; captured {name: value}.
- `triage.skipped`   step, reason, next.
- `triage.back`      step (the one left), to (the one returned to).
- `triage.finished`  outcome (completed | abandoned | the outcome text of a `done` step), reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from console.timeparse import parse_timestamp
from console.triage.playbook import END, Playbook

STARTED = "triage.started"
STEP = "triage.step"
SKIPPED = "triage.skipped"
BACK = "triage.back"
FINISHED = "triage.finished"
RESULTS = ("pass", "fail", "unknown", "answered", "done")


@dataclass(frozen=True)
class Transition:
    """One journaled move: a step's result (or `skipped` / `back`), its evidence and where it led."""

    seq: int
    at: datetime
    step: str
    result: str
    evidence: str = ""
    answer: str | None = None
    next: str = END


@dataclass
class RunState:
    """One run of a playbook as the journal tells it."""

    run: int
    playbook: Playbook
    digest: str
    incident: str | None
    started_at: datetime
    current: str
    entered_at: datetime
    entered_seq: int
    path: list[str] = field(default_factory=list)
    captures: dict[str, Any] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    last_output: list[str] = field(default_factory=list)
    outcome: str | None = None

    @property
    def finished(self) -> bool:
        return self.outcome is not None or self.current == END


def _data(entry: dict) -> dict:
    data = entry.get("data")
    return data if isinstance(data, dict) else {}


def _at(entry: dict) -> datetime:
    return parse_timestamp(entry.get("ts")) or datetime.now(UTC)


def _on_started(runs: dict[int, RunState], entry: dict, data: dict) -> None:
    try:
        playbook = Playbook.model_validate({**data.get("definition", {}), "origin": "journal"})
    except (ValidationError, TypeError):
        return  # a run whose definition cannot be read back cannot be resumed
    first = playbook.steps[0].id
    at = _at(entry)
    runs[entry["seq"]] = RunState(
        run=entry["seq"],
        playbook=playbook,
        digest=str(data.get("digest", "")),
        incident=data.get("incident"),
        started_at=at,
        current=first,
        entered_at=at,
        entered_seq=entry["seq"],
        path=[first],
    )


def _move(state: RunState, entry: dict, data: dict, result: str, evidence: str) -> None:
    target = str(data.get("next") or END)
    state.transitions.append(
        Transition(entry["seq"], _at(entry), str(data.get("step", "")), result, evidence, data.get("answer"), target)
    )
    state.current, state.entered_at, state.entered_seq = target, _at(entry), entry["seq"]
    state.path.append(target)


def _on_step(state: RunState, entry: dict, data: dict) -> None:
    result = str(data.get("result", "unknown"))
    _move(state, entry, data, result if result in RESULTS else "unknown", str(data.get("evidence", "")))
    if isinstance(data.get("captured"), dict):
        state.captures.update(data["captured"])
    if isinstance(data.get("output_tail"), list):
        state.last_output = [str(line) for line in data["output_tail"]]


def _on_skipped(state: RunState, entry: dict, data: dict) -> None:
    _move(state, entry, data, "skipped", str(data.get("reason", "")))


def _on_back(state: RunState, entry: dict, data: dict) -> None:
    if len(state.path) < 2:
        return
    state.path.pop()
    state.current, state.entered_at, state.entered_seq = state.path[-1], _at(entry), entry["seq"]
    state.transitions.append(
        Transition(entry["seq"], _at(entry), str(data.get("step", "")), "back", "", None, state.current)
    )


def _on_finished(state: RunState, entry: dict, data: dict) -> None:
    state.outcome = str(data.get("outcome") or "completed")


_HANDLERS: dict[str, Callable[[RunState, dict, dict], None]] = {
    STEP: _on_step,
    SKIPPED: _on_skipped,
    BACK: _on_back,
    FINISHED: _on_finished,
}


def replay(entries: Iterable[dict]) -> dict[int, RunState]:
    """Every triage run in these entries (oldest first), by run id (the seq of its `triage.started`)."""
    runs: dict[int, RunState] = {}
    for entry in entries:
        feed(runs, entry)
    return runs


def feed(runs: dict[int, RunState], entry: dict) -> None:
    """Apply one entry (the next in the journal) to the runs replayed so far."""
    kind = entry.get("kind")
    if kind == STARTED and isinstance(entry.get("seq"), int):
        _on_started(runs, entry, _data(entry))
    elif kind in _HANDLERS and isinstance(corr := entry.get("corr"), int):  # the run's id, as the journal has it
        state = runs.get(corr)
        if state is not None and state.outcome is None:
            _HANDLERS[kind](state, entry, _data(entry))


def setback(state: RunState) -> str | None:
    """Why a run says its playbook did not fix the incident, in words: abandoned, or its verify failed (else None)."""
    if state.outcome == "abandoned":
        return "its run in this incident was abandoned"
    failed = next(
        (
            t.step
            for t in state.transitions
            if t.result == "fail" and (step := state.playbook.step(t.step)) is not None and step.kind == "verify"
        ),
        None,
    )
    return f"its verify ({failed}) failed in this incident" if failed else None


def mitigated(state: RunState) -> bool:
    """Whether the run ended with one of its verifies passed (its playbook fixed what it checks)."""
    return state.outcome not in (None, "abandoned") and any(
        t.result == "pass" and (step := state.playbook.step(t.step)) is not None and step.kind == "verify"
        for t in state.transitions
    )


def setbacks(runs: dict[int, RunState], incident: str | None) -> dict[str, str]:
    """The playbooks whose latest run in `incident` fell short (`setback`), by name; none outside an incident."""
    found: dict[str, str] = {}
    for _, state in sorted(runs.items()):
        if incident is not None and state.incident == incident:
            reason = setback(state)
            if reason is None:
                found.pop(state.playbook.name, None)
            else:
                found[state.playbook.name] = reason
    return found


def open_run(runs: dict[int, RunState]) -> RunState | None:
    """The latest run not yet finished, or None."""
    return next((state for _, state in sorted(runs.items(), reverse=True) if state.outcome is None), None)
