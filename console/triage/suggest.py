"""Which playbooks fit what the console sees now: those whose `when` holds, worst first, with evidence in words."""

from __future__ import annotations

from dataclasses import dataclass

from console.live import LiveState
from console.models import Check, State, format_duration
from console.models.severity import SCHEMES
from console.triage.conditions import EVIDENCE_SHOWN, ConditionError, Truth, names, parse
from console.triage.playbook import Playbook
from console.triage.truth import truth

# Without a severity in the playbook: the worst state of the checks it reads picks a level (rank in the scheme).
_LEVEL_RANK = {State.DOWN: 1, State.CRIT: 1, State.WARN: 2}


@dataclass(frozen=True)
class Suggestion:
    """A playbook that fits, why (`evidence`: "metric error rate CRIT 4.7% for 3m 00s; health api DOWN"), how bad
    (`state`, the worst of the checks its condition reads) and the severity to declare."""

    playbook: Playbook
    evidence: str
    state: State
    severity: str


def _phrase(check: Check, live: LiveState) -> str:
    text = f"{check.source} {check.name} {check.state.word}"
    if check.value:
        text += f" {check.value}"
    reading = live.reading(check.source, check.name)
    if reading is not None:
        held = (live.clock.now() - reading.since).total_seconds()
        if held >= 1:
            text += f" for {format_duration(held)}"
    return text


def _checks(playbook: Playbook, live: LiveState) -> list[Check]:
    found: list[Check] = []
    for source, name in names(parse(playbook.when)):
        if name is None:
            found += live.checks(source)
        elif (check := live.check(source, name)) is not None:
            found.append(check)
    return list({c.key: c for c in found}.values())


def suggest(playbooks: list[Playbook], live: LiveState, scheme: str = "sev") -> list[Suggestion]:
    """Every playbook whose `when` passes now, worst first (then by name); bad conditions are never suggested."""
    levels = SCHEMES.get(scheme, SCHEMES["sev"]).levels
    found: list[Suggestion] = []
    for book in playbooks:
        try:
            if truth(book.when, live) is not Truth.PASS:
                continue
        except ConditionError:
            continue
        checks = _checks(book, live)
        unhealthy = [c for c in checks if c.state is not State.OK] or checks
        state = State.worst([c.state for c in checks]) if checks else State.UNKNOWN
        severity = book.severity or levels[min(_LEVEL_RANK.get(state, 3), len(levels) - 1)].name
        worst_first = sorted(unhealthy, key=lambda c: -c.state.rank)
        evidence = "; ".join(_phrase(c, live) for c in worst_first[:EVIDENCE_SHOWN])
        if len(worst_first) > EVIDENCE_SHOWN:
            evidence += f"; and {len(worst_first) - EVIDENCE_SHOWN} more"
        found.append(Suggestion(book, evidence, state, severity))
    return sorted(found, key=lambda s: (-s.state.rank, s.playbook.name))
