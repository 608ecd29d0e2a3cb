"""What the post-mortem says about guided triage: the playbook runs of an incident, step by step, the first
mitigating action, and a line for each `triage.*` journal entry in the timeline.

A run belongs to the incident when its `triage.started` does (`console.incident.replay` decides: the incident's
id, or no incident and inside its window); its steps are those of its entries that belong too.
"""

from __future__ import annotations

from typing import Any

from console.incident.state import IncidentState
from console.models import Risk
from console.timeparse import iso, parse_timestamp
from console.triage.run import FINISHED, replay

MITIGATING = (Risk.WRITE.value, Risk.DESTRUCTIVE.value)


def triage_runs(state: IncidentState) -> list[dict[str, Any]]:
    """Every playbook run of the incident, oldest first, with its steps, skips and returns."""
    finished = {e.get("corr"): e for e in state.entries if e.get("kind") == FINISHED}
    runs = []
    for run in replay(state.entries).values():
        end = finished.get(run.run)
        steps = [
            {
                "seq": t.seq,
                "at": iso(t.at),
                "step": t.step,
                "kind": getattr(run.playbook.step(t.step), "kind", None),
                "result": t.result,
                "evidence": "" if t.result == "skipped" else t.evidence,
                "answer": t.answer,
                "reason": t.evidence if t.result == "skipped" else None,
                "next": t.next,
            }
            for t in run.transitions
        ]
        runs.append(
            {
                "run": run.run,
                "playbook": run.playbook.name,
                "title": run.playbook.title,
                "incident": run.incident,
                "started_at": iso(run.started_at),
                "finished_at": _stamp(end),
                "outcome": run.outcome,
                "reason": str((end or {}).get("data", {}).get("reason") or ""),
                "steps": steps,
            }
        )
    return runs


def first_mitigating_action(state: IncidentState) -> tuple[float | None, int | None]:
    """Seconds from the declaration to the first completed write or destructive action, and its outcome's seq."""
    done = sorted(
        (a.outcome_seq, a)
        for a in state.actions.values()
        if a.status == "completed" and a.risk in MITIGATING and a.outcome_seq is not None
    )
    if not done:
        return None, None
    seq = done[0][0]
    entry = next((e for e in state.entries if e.get("seq") == seq), None)
    at = parse_timestamp(entry.get("ts")) if entry else None
    if at is None:
        return None, None
    return max(0.0, (at - state.declared_at).total_seconds()), seq


def _stamp(entry: dict | None) -> str | None:
    at = parse_timestamp(entry.get("ts")) if entry else None
    return iso(at) if at else None
