"""Conditions over the live state, evaluated three-valued (PASS / FAIL / UNKNOWN, Kleene logic) with the evidence in
words; `problems` says what `triage check` finds wrong with one. The language itself (its grammar, parser and syntax
tree) is `console.triage.grammar`; its tokens `console.triage.tokens`; `incident.*` tests
`console.triage.incident_conditions`.

A check that is missing, unknown, or down (for a comparison) never passes: the result is UNKNOWN. A comparison reads
the check's number in its unit (a threshold is converted to it; one that does not convert is UNKNOWN). Evidence says
what holds (`0.2% (ok) <= 1%` when `> 1%` failed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property, lru_cache
from itertools import islice

from console.live import LiveState
from console.models import Check, State
from console.models.alerts import Matcher
from console.sources.base import BY_SECTION, resolve
from console.triage import change_conditions, incident_conditions
from console.triage.change_conditions import ChangeTest
from console.triage.grammar import (
    STATES,
    Compare,
    Expr,
    Logic,
    Not,
    Quantified,
    StateTest,
    names,
    parse,
    tests,
)
from console.triage.incident_conditions import IncidentTest, judge
from console.triage.tokens import OPS, ConditionError, convert

__all__ = [
    "OPS",
    "STATES",
    "Compare",
    "ConditionError",
    "Expr",
    "IncidentTest",
    "Logic",
    "Not",
    "Quantified",
    "Result",
    "StateTest",
    "Truth",
    "evaluate",
    "labelled",
    "names",
    "parse",
    "problems",
    "tests",
]

EVIDENCE_SHOWN = 5  # checks named in the evidence of an `any` / `all`


@lru_cache(maxsize=256)
def labelled(source: str, name: str, labels: tuple[Matcher, ...]) -> Callable[[LiveState], Check | None]:
    """How a test with labels reads its check: the section row's `labelled` function over the section's model
    (None when the row has none: `problems` says so before a playbook runs)."""
    reference = BY_SECTION[source].conditions.labelled
    if reference is None:
        return lambda live: None
    check_of = resolve(reference)
    return lambda live: check_of(live.model(source), name, labels)


def problems(
    text: str,
    known: dict[str, set[str]],
    units: Mapping[str, Mapping[str, str]] | None = None,
    levels: Sequence[str] = (),
) -> list[str]:
    """What is wrong with a condition for a config whose sections offer the `known` check names (per section),
    whose checks' numbers are in `units` (per section, per check) and whose severity scheme has `levels`."""
    try:
        expr = parse(text)
    except ConditionError as exc:
        return [f"bad condition {text!r}: {exc}"]
    found: list[str] = []
    for test in tests(expr):
        if isinstance(test, IncidentTest):
            found += incident_conditions.problems(test, levels)
            continue
        if isinstance(test, ChangeTest):
            found += change_conditions.problems(test)
            continue
        if isinstance(test, Quantified) or test.source not in known:
            continue
        written = BY_SECTION[test.source].conditions.name
        unit = (units or {}).get(test.source, {}).get(test.name, "")
        if test.name not in known[test.source]:
            found.append(f"unknown check {written}.{test.name!r} (known: {', '.join(sorted(known[test.source]))})")
        elif test.labels and BY_SECTION[test.source].conditions.labelled is None:
            found.append(f"{written}.{test.name} takes no labels")
        elif isinstance(test, Compare) and convert(test.number, test.unit, unit) is None:
            found.append(
                f"{written}.{test.name} is a number in {unit or 'no unit'}: {test.number:g}{test.unit} does not "
                "convert to it"
            )
    return found


# -- evaluation -----------------------------------------------------------------------------------


class Truth(StrEnum):
    """Three-valued result of a condition."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Result:
    """A condition's value and the evidence for it in words, one phrase per check that decided it.

    The words are made only when asked for (`evidence`, `text`): most results of a refresh are never shown, and
    formatting them was most of the cost of evaluating a playbook."""

    value: Truth
    explain: Callable[[], tuple[str, ...]] = field(default=tuple, repr=False, compare=False)

    @cached_property
    def evidence(self) -> tuple[str, ...]:
        return self.explain()

    @property
    def text(self) -> str:
        return "; ".join(self.evidence)


def _truth(flag: bool) -> Truth:
    return Truth.PASS if flag else Truth.FAIL


def _label(check: Check) -> str:
    return f"{check.source} {check.name} {check.value or '-'} ({check.state.value})"


# A comparison that fails is worded as what holds instead: `0.2% (ok) <= 1%`, never `0.2% (ok) > 1%`.
_OPPOSITE = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}


def _missing(source: str, name: str) -> Result:
    return Result(Truth.UNKNOWN, lambda: (f"{source} {name}: no reading",))


def _read(expr: Compare | StateTest, live: LiveState) -> Check | None:
    return labelled(expr.source, expr.name, expr.labels)(live) if expr.labels else live.check(expr.source, expr.name)


def _compare(expr: Compare, live: LiveState) -> Result:
    check = _read(expr, live)
    if check is None:
        return _missing(expr.source, expr.name)
    if check.state in (State.DOWN, State.UNKNOWN) or check.number is None:
        return Result(Truth.UNKNOWN, lambda: (f"{_label(check)}: no number to compare",))
    shown = f"{expr.number:g}{expr.unit}"
    threshold = convert(expr.number, expr.unit, check.unit)
    if threshold is None:
        unit = check.unit or "a count"
        return Result(Truth.UNKNOWN, lambda: (f"{_label(check)}: {shown} does not convert to {unit}",))
    value = _truth(OPS[expr.op](check.number, threshold))
    op = expr.op if value is Truth.PASS else _OPPOSITE[expr.op]
    return Result(value, lambda: (f"{_label(check)} {op} {shown}",))


def _state_truth(actual: State, negate: bool, state: str) -> Truth:
    wanted = STATES[state]
    if actual is State.UNKNOWN and State.UNKNOWN not in wanted:
        return Truth.UNKNOWN
    return _truth((actual in wanted) != negate)


def _state_words(check: Check, negate: bool, state: str, value: Truth) -> str:
    """What holds, in words: a test that failed says the opposite of what it asked (`29% (ok) is not unhealthy`)."""
    if value is Truth.UNKNOWN:
        return f"{_label(check)}: state unknown, cannot say it is {'not ' if negate else ''}{state}"
    return f"{_label(check)} is {'not ' if negate == (value is Truth.PASS) else ''}{state}"


def _state_of(check: Check, negate: bool, state: str) -> Result:
    value = _state_truth(check.state, negate, state)
    return Result(value, lambda: (_state_words(check, negate, state, value),))


def _state(expr: StateTest, live: LiveState) -> Result:
    check = _read(expr, live)
    return _missing(expr.source, expr.name) if check is None else _state_of(check, expr.negate, expr.state)


def _quantified(expr: Quantified, live: LiveState) -> Result:
    counts = live.state_counts(expr.source)  # decided from at most five states, not from every check
    if not counts:
        return Result(Truth.UNKNOWN, lambda: (f"no {expr.source} checks",))
    truths = {state: _state_truth(state, expr.negate, expr.state) for state in counts}
    decisive = Truth.PASS if expr.quantifier == "any" else Truth.FAIL
    otherwise = Truth.FAIL if decisive is Truth.PASS else Truth.PASS
    value = next((v for v in (decisive, Truth.UNKNOWN) if v in truths.values()), otherwise)
    deciding = {state for state, truth in truths.items() if truth is value}

    def explain() -> tuple[str, ...]:
        """A few of the checks that decided it, and how many more."""
        named = islice((c for c in live.checks(expr.source) if c.state in deciding), EVIDENCE_SHOWN)
        evidence = [_state_words(c, expr.negate, expr.state, value) for c in named]
        more = sum(counts[state] for state in deciding) - len(evidence)
        return (*evidence, f"and {more} more {expr.source} checks") if more > 0 else tuple(evidence)

    return Result(value, explain)


def _combine(op: str, results: list[Result]) -> Result:
    """Kleene and/or; the evidence kept is that of the operands that decided the value."""
    decisive = Truth.FAIL if op == "and" else Truth.PASS
    for value in (decisive, Truth.UNKNOWN):
        deciding = [r for r in results if r.value is value]
        if deciding:
            return Result(value, _evidence_of(deciding))
    other = Truth.PASS if op == "and" else Truth.FAIL
    return Result(other, _evidence_of(results))


def _evidence_of(results: Sequence[Result]) -> Callable[[], tuple[str, ...]]:
    """The evidence of `results`, made when asked for."""
    return lambda: tuple(e for r in results for e in r.evidence)


def evaluate(expr: Expr | str, live: LiveState) -> Result:
    """The value of a condition against the live state, with its evidence."""
    if isinstance(expr, str):
        expr = parse(expr)
    if isinstance(expr, Compare):
        return _compare(expr, live)
    if isinstance(expr, StateTest):
        return _state(expr, live)
    if isinstance(expr, Quantified):
        return _quantified(expr, live)
    if isinstance(expr, IncidentTest):
        holds, words = judge(expr, live.incident, live.clock.now())
        return Result(Truth.UNKNOWN if holds is None else _truth(holds), lambda: (words,))
    if isinstance(expr, ChangeTest):
        holds, words = change_conditions.judge(expr, live)
        return Result(Truth.UNKNOWN if holds is None else _truth(holds), lambda: (words,))
    if isinstance(expr, Not):
        inner = evaluate(expr.operand, live)
        flipped = {Truth.PASS: Truth.FAIL, Truth.FAIL: Truth.PASS}.get(inner.value, Truth.UNKNOWN)
        return Result(flipped, lambda: inner.evidence)  # the evidence says what holds, whichever way it was asked
    return _combine(expr.op, [evaluate(operand, live) for operand in expr.operands])
