"""Which playbooks fit what the console sees now: those whose `when` holds, the best fit first, with evidence and the
reason for the rank in words.

The fit, in order: a playbook whose run in this incident fell short (abandoned, or its verify failed: `run.setbacks`)
goes below every other; then the more severe the level it suggests, the higher; then the more failing checks it says
it fixes (`fixes`); then the more failing checks its `when` names one by one (a named check is more specific than
`any health is down`), then section-wide; then the worst state; then the name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from console.live import LiveState
from console.models import Check, State, format_duration
from console.models.severity import SCHEMES
from console.sources.base import BY_SECTION
from console.triage.conditions import EVIDENCE_SHOWN, ConditionError, Truth, names, parse
from console.triage.playbook import Playbook
from console.triage.truth import truth

# Without a severity in the playbook: the worst state of the checks it reads picks a level (rank in the scheme).
_LEVEL_RANK = {State.DOWN: 1, State.CRIT: 1, State.WARN: 2}
_FAILING = (State.WARN, State.CRIT, State.DOWN)


@dataclass(frozen=True)
class Suggestion:
    """A playbook that fits, why (`evidence`: "metric error rate CRIT 4.7% for 3m 00s; health api DOWN"), how bad
    (`state`, the worst of the checks its condition reads), the severity to declare, the failing checks it fixes,
    why it ranks where it does (`fit`, in words) and the setback that sent it down, if any."""

    playbook: Playbook
    evidence: str
    state: State
    severity: str
    fixes: tuple[str, ...] = ()
    fit: str = ""
    setback: str | None = None
    named_failing: int = 0
    wide_failing: int = 0
    level: int = 99

    @property
    def key(self) -> tuple:
        """Sorts the best fit first."""
        return (
            self.setback is not None,
            self.level,
            -len(self.fixes),
            -self.named_failing,
            -self.wide_failing,
            -self.state.rank,
            self.playbook.name,
        )


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


def _checks(playbook: Playbook, live: LiveState) -> tuple[list[Check], list[Check]]:
    """The checks its `when` reads: (named one by one, read section-wide by `any` / `all`), each once."""
    named: dict[str, Check] = {}
    wide: dict[str, Check] = {}
    for source, name in names(parse(playbook.when)):
        if name is None:
            wide.update({c.key: c for c in live.checks(source)})
        elif (check := live.check(source, name)) is not None:
            named[check.key] = check
    return list(named.values()), [c for key, c in wide.items() if key not in named]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _fit_words(s: Suggestion) -> str:
    """Why it ranks where it does, the reasons in the order they weigh."""
    if s.setback is not None:
        return f"ranked below the others: {s.setback}"
    words = [f"suggests {s.severity}"]
    if s.fixes:
        words.append(f"fixes {', '.join(s.fixes)}")
    failing = s.named_failing + s.wide_failing
    if failing:
        words.append(f"its condition reads {_plural(failing, 'failing check')}")
    return "; ".join(words)


def suggest(
    playbooks: list[Playbook], live: LiveState, scheme: str = "sev", setbacks: Mapping[str, str] | None = None
) -> list[Suggestion]:
    """Every playbook whose `when` passes now, the best fit first (see the module); bad conditions are never
    suggested. `setbacks` names the playbooks whose run in this incident fell short (`run.setbacks`)."""
    levels = SCHEMES.get(scheme, SCHEMES["sev"])
    found: list[Suggestion] = []
    for book in playbooks:
        try:
            if truth(book.when, live) is not Truth.PASS:
                continue
        except ConditionError:
            continue
        named, wide = _checks(book, live)
        checks = named + wide
        unhealthy = [c for c in checks if c.state is not State.OK] or checks
        state = State.worst([c.state for c in checks]) if checks else State.UNKNOWN
        severity = book.severity or levels.levels[min(_LEVEL_RANK.get(state, 3), len(levels.levels) - 1)].name
        level = levels.parse(severity)
        worst_first = sorted(unhealthy, key=lambda c: -c.state.rank)
        evidence = "; ".join(_phrase(c, live) for c in worst_first[:EVIDENCE_SHOWN])
        if len(worst_first) > EVIDENCE_SHOWN:
            evidence += f"; and {len(worst_first) - EVIDENCE_SHOWN} more"
        fixes = tuple(
            f"{BY_SECTION[section].conditions.name}.{name}"
            for section, name in book.fixed_checks()
            if (check := live.check(section, name)) is not None and check.state in _FAILING
        )
        suggestion = Suggestion(
            book,
            evidence,
            state,
            severity,
            fixes=fixes,
            setback=(setbacks or {}).get(book.name),
            named_failing=sum(c.state in _FAILING for c in named),
            wide_failing=sum(c.state in _FAILING for c in wide),
            level=level.rank if level is not None else len(levels.levels),
        )
        found.append(replace(suggestion, fit=_fit_words(suggestion)))
    return sorted(found, key=lambda s: s.key)
