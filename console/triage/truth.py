"""Conditions compiled to closures that return only their value (PASS / FAIL / UNKNOWN), for what runs on every
refresh: suggestions and sustained checks. `conditions.evaluate` gives the same value with evidence in words,
for what is shown; the two agree (tests/test_triage_conditions.py checks every case against both)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from console.live import LiveState
from console.models import Check, State
from console.triage import change_conditions
from console.triage.change_conditions import ChangeTest
from console.triage.conditions import (
    OPS,
    STATES,
    Compare,
    Expr,
    IncidentTest,
    Not,
    Quantified,
    StateTest,
    Truth,
    labelled,
    parse,
)
from console.triage.incident_conditions import judge
from console.triage.tokens import convert

Judge = Callable[[LiveState], Truth]
PASS, FAIL, UNKNOWN = Truth.PASS, Truth.FAIL, Truth.UNKNOWN
_NO_NUMBER = (State.DOWN, State.UNKNOWN)
_FLIP = {PASS: FAIL, FAIL: PASS, UNKNOWN: UNKNOWN}


def truth(condition: Expr | str, live: LiveState) -> Truth:
    """The value of a condition (text or tree) against the live state."""
    return (compiled(condition) if isinstance(condition, str) else _compile(condition))(live)


@lru_cache(maxsize=4096)
def compiled(text: str) -> Judge:
    """The closure for a condition's text, made once (ConditionError when it does not parse)."""
    return _compile(parse(text))


def _compile(expr: Expr) -> Judge:
    if isinstance(expr, Compare | StateTest) and expr.labels:
        return _labelled(expr)
    if isinstance(expr, Compare):
        return _compare(f"{expr.source}:{expr.name}", OPS[expr.op], expr.number, expr.unit)
    if isinstance(expr, StateTest):
        return _state(f"{expr.source}:{expr.name}", STATES[expr.state], expr.negate)
    if isinstance(expr, Quantified):
        return _quantified(expr)
    if isinstance(expr, IncidentTest):
        return lambda live: _of_judgement(judge(expr, live.incident, live.clock.now())[0])
    if isinstance(expr, ChangeTest):
        return lambda live: _of_judgement(change_conditions.judge(expr, live)[0])
    if isinstance(expr, Not):
        inner = _compile(expr.operand)
        return lambda live: _FLIP[inner(live)]
    operands = [_compile(operand) for operand in expr.operands]
    return _logic(operands, decisive=FAIL if expr.op == "and" else PASS)


def _of_judgement(holds: bool | None) -> Truth:
    return UNKNOWN if holds is None else PASS if holds else FAIL


def _compare(key: str, op: Callable[[float, float], bool], number: float, unit: str) -> Judge:
    def compare(live: LiveState) -> Truth:
        reading = live.readings.get(key)
        if reading is None:
            return UNKNOWN
        return _number(reading.check, op, number, unit)

    return compare


def _number(check: Check, op: Callable[[float, float], bool], number: float, unit: str) -> Truth:
    """A check's number against a threshold written in `unit`, converted to the check's (UNKNOWN when it cannot)."""
    if check.number is None or check.state in _NO_NUMBER:
        return UNKNOWN
    threshold = convert(number, unit, check.unit)
    return UNKNOWN if threshold is None else PASS if op(check.number, threshold) else FAIL


def _state(key: str, wanted: frozenset[State], negate: bool) -> Judge:
    def judge(live: LiveState) -> Truth:
        reading = live.readings.get(key)
        if reading is None:
            return UNKNOWN
        return _of_state(reading.check.state, wanted, negate)

    return judge


def _labelled(expr: Compare | StateTest) -> Judge:
    """A test over a check its labels narrow (`alerts.firing{severity="critical"} > 0`), read when judged."""
    read = labelled(expr.source, expr.name, expr.labels)
    if isinstance(expr, Compare):
        op, number, unit = OPS[expr.op], expr.number, expr.unit

        def compare(live: LiveState) -> Truth:
            check = read(live)
            return UNKNOWN if check is None else _number(check, op, number, unit)

        return compare
    wanted, negate = STATES[expr.state], expr.negate

    def state(live: LiveState) -> Truth:
        check = read(live)
        return UNKNOWN if check is None else _of_state(check.state, wanted, negate)

    return state


def _of_state(actual: State, wanted: frozenset[State], negate: bool) -> Truth:
    if actual is State.UNKNOWN and State.UNKNOWN not in wanted:
        return UNKNOWN
    return PASS if (actual in wanted) != negate else FAIL


def _quantified(expr: Quantified) -> Judge:
    wanted, negate, source = STATES[expr.state], expr.negate, expr.source
    decisive = PASS if expr.quantifier == "any" else FAIL
    otherwise = _FLIP[decisive]

    def judge(live: LiveState) -> Truth:
        counts = live.state_counts(source)
        if not counts:
            return UNKNOWN
        values = {_of_state(state, wanted, negate) for state in counts}
        return decisive if decisive in values else UNKNOWN if UNKNOWN in values else otherwise

    return judge


def _logic(operands: list[Judge], decisive: Truth) -> Judge:
    otherwise = _FLIP[decisive]

    def judge(live: LiveState) -> Truth:
        unknown = False
        for operand in operands:
            value = operand(live)
            if value is decisive:
                return decisive
            unknown = unknown or value is UNKNOWN
        return UNKNOWN if unknown else otherwise

    return judge
