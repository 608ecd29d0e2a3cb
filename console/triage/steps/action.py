"""`action`: propose an action with its params resolved; the caller runs it through the runner, the engine reads its
outcome from the journal and passes or fails on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from console.live import LiveState
from console.triage.resolve import LIVE_REFERENCES, ResolveError, Scalar, references, resolve_params
from console.triage.steps.base import Branching, Checking, Move, Propose, Run

RUNBOOK_ACTION = "runbook:"  # a runbook's steps: generated with the runbook, registered by the runner with it


@dataclass(frozen=True)
class Proposal:
    """What an action step proposes: the action and its params with every reference resolved (or why not)."""

    step: str
    action: str
    params: dict[str, Scalar]
    error: str | None = None


class ActionStep(Branching):
    """Propose an action; params are constants, `{capture}` or live references such as `{postgres.top_blocker.pid}`."""

    kind: Literal["action"]
    action: str
    params: dict[str, Scalar] = Field(default_factory=dict)

    def problems(self, checking: Checking) -> list[str]:
        found = []
        if self.action not in checking.actions and not self.action.startswith(RUNBOOK_ACTION):
            offered = ", ".join(sorted(checking.actions)) or "none"
            found.append(f"unknown action {self.action!r} (actions: {offered})")
        for key, value in self.params.items():
            try:
                refs = references(value)
            except ValueError as exc:
                found.append(f"params.{key}: {exc} (write {{{{ and }}}} for literal braces)")
                continue
            known = checking.captures | set(LIVE_REFERENCES)
            found += [f"params.{key}: unknown reference {{{r}}}" for r in refs if r not in known]
        return found

    def describe(self) -> str:
        return f"run {self.action}"

    def detail(self) -> str:
        return self.action + "".join(f" --{k} {v}" for k, v in self.params.items())

    def run(self, run: Run) -> Move | None:
        found = run.action_run(self.action)
        if found is None:
            return Propose(self.propose(run.state.captures, run.live))
        self.record_outcome(run, *found)
        return None

    def propose(self, captures: dict[str, Any], live: LiveState) -> Proposal:
        try:
            params = resolve_params(self.params, captures, live)
        except ResolveError as exc:
            return Proposal(self.id, self.action, {}, str(exc))
        return Proposal(self.id, self.action, params)

    def record_outcome(self, run: Run, request_seq: int, outcome: dict) -> None:
        """Pass when the action completed, else fail; its output's tail is kept for a `capture` step."""
        data = outcome.get("data") or {}
        status = str(data.get("status") or outcome["kind"].removeprefix("action."))
        evidence = f"{self.action}: {status}" + (f": {data['message']}" if data.get("message") else "")
        run.record(
            self,
            "pass" if status == "completed" else "fail",
            evidence,
            request_seq=request_seq,
            output_tail=data.get("output_tail") or [],
        )
