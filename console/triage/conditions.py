"""Conditions over the live state: a tokenizer, a recursive-descent parser (no eval) and a three-valued evaluator.

Grammar (keywords are case-insensitive; names with spaces are quoted):

    expr     := or
    or       := and ("or" and)*
    and      := unary ("and" unary)*
    unary    := "not" unary | "(" expr ")" | quant | test
    quant    := ("any" | "all") SOURCE "is" ["not"] STATE
    test     := SOURCE "." NAME [LABELS] (OP NUMBER [UNIT] | "is" ["not"] STATE)
    LABELS   := "{" matcher ("," matcher)* "}"      matcher := label ("=" | "!=" | "=~" | "!~") '"value"'
    STATE    := ok | warn | crit | down | unknown | unhealthy (warn, crit or down)
    OP       := > >= < <= == !=          UNIT := % | ms | s (s is turned into ms, the unit of latencies)

SOURCE is a section's name in the source registry (`console.sources.base.REGISTRY`: health, metric, logs, postgres,
redis, alerts); the tree holds the section it reads (`alerts` reads `alertmanager`). A comparison reads the check's
number (`logs.NAME` is the error rate per minute). LABELS narrow a check to what they match where its row says how
(`alerts.firing{severity="critical"} > 0`). A check that is missing, unknown, or down (for a comparison) never passes:
the result is UNKNOWN. `not`, `and` and `or` follow Kleene's three-valued logic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property, lru_cache
from itertools import islice

from console.live import LiveState
from console.models import Check, State
from console.models.alerts import Matcher, parse_matchers
from console.sources.base import BY_NAME, BY_SECTION, resolve
from console.triage.tokens import OPS, ConditionError, Token, tokenize

STATES = {s.value: frozenset({s}) for s in State} | {"unhealthy": frozenset({State.WARN, State.CRIT, State.DOWN})}
UNIT_FACTOR = {"%": 1.0, "ms": 1.0, "s": 1000.0}
EVIDENCE_SHOWN = 5  # checks named in the evidence of an `any` / `all`
KEYWORDS = {"and", "or", "not", "is", "any", "all"}
MAX_DEPTH = 40


# -- syntax tree ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    source: str  # the registry section the check belongs to
    name: str
    op: str
    number: float
    unit: str
    labels: tuple[Matcher, ...] = ()


@dataclass(frozen=True)
class StateTest:
    source: str
    name: str
    negate: bool
    state: str
    labels: tuple[Matcher, ...] = ()


@dataclass(frozen=True)
class Quantified:
    quantifier: str  # any | all
    source: str
    negate: bool
    state: str


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class Logic:
    op: str  # and | or
    operands: tuple[Expr, ...]


Expr = Compare | StateTest | Quantified | Not | Logic


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def fail(self, message: str, token: Token | None = None) -> ConditionError:
        token = token or self.token
        return ConditionError(message, token.line, token.column)

    def keyword(self, *words: str) -> str | None:
        if self.token.kind == "name" and self.token.text.lower() in words:
            self.pos += 1
            return self.tokens[self.pos - 1].text.lower()
        return None

    def expect(self, text: str, what: str) -> None:
        if self.token.text != text or self.token.kind not in ("punct", "op"):
            raise self.fail(f"expected {what}, found {_show(self.token)}")
        self.pos += 1

    def parse(self) -> Expr:
        if self.token.kind == "end":
            raise self.fail("empty condition")
        expr = self.logic("or")
        if self.token.kind != "end":
            raise self.fail(f"expected and, or or the end, found {_show(self.token)}")
        return expr

    def logic(self, op: str) -> Expr:
        sub = (lambda: self.logic("and")) if op == "or" else self.unary
        operands = [sub()]
        while self.keyword(op):
            operands.append(sub())
        return operands[0] if len(operands) == 1 else Logic(op, tuple(operands))

    def unary(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} deep")
        try:
            if self.keyword("not"):
                return Not(self.unary())
            if self.token.text == "(" and self.token.kind == "punct":
                self.pos += 1
                expr = self.logic("or")
                self.expect(")", "a closing parenthesis")
                return expr
            if quantifier := self.keyword("any", "all"):
                source = self.source()
                negate, state = self.state_test()
                return Quantified(quantifier, source, negate, state)
            return self.test()
        finally:
            self.depth -= 1

    def source(self) -> str:
        """The section a source name reads."""
        token = self.token
        kind = BY_NAME.get(token.text.lower()) if token.kind == "name" else None
        if kind is None:
            raise self.fail(f"expected a source ({', '.join(BY_NAME)}), found {_show(token)}")
        self.pos += 1
        return kind.section

    def state_test(self) -> tuple[bool, str]:
        if not self.keyword("is"):
            raise self.fail(f"expected is, found {_show(self.token)}")
        negate = bool(self.keyword("not"))
        state = self.keyword(*STATES)
        if state is None:
            raise self.fail(f"expected a state ({', '.join(STATES)}), found {_show(self.token)}")
        return negate, state

    def test(self) -> Expr:
        written = self.token.text
        source = self.source()
        self.expect(".", f"a dot and a check name after {written}")
        token = self.token
        if token.kind not in ("name", "string"):
            raise self.fail(f"expected a check name after {written}., found {_show(token)}")
        self.pos += 1
        labels = self.labels()
        if self.token.kind == "op":
            op = self.token.text
            self.pos += 1
            number = self.token
            if number.kind != "number":
                raise self.fail(f"expected a number after {op}, found {_show(number)}")
            self.pos += 1
            digits = number.text.rstrip("%ms")
            return Compare(source, token.text, op, float(digits), number.text[len(digits) :], labels)
        if self.token.kind == "name" and self.token.text.lower() == "is":
            negate, state = self.state_test()
            return StateTest(source, token.text, negate, state, labels)
        raise self.fail(f"expected a comparison or is after {written}.{token.text}, found {_show(self.token)}")

    def labels(self) -> tuple[Matcher, ...]:
        token = self.token
        if token.kind != "labels":
            return ()
        self.pos += 1
        try:
            found = parse_matchers(token.text)
        except ValueError as exc:
            raise self.fail(f"labels: {exc}", token) from None
        if not found:
            raise self.fail('empty labels (write {name="value"} or leave the braces out)', token)
        return tuple(found)


def _show(token: Token) -> str:
    return "the end" if token.kind == "end" else repr(token.text)


@lru_cache(maxsize=4096)
def parse(text: str) -> Expr:
    """The syntax tree of a condition; ConditionError (with line and column) when it is not one. Trees are
    immutable, so each text is parsed once (playbooks are evaluated on every refresh)."""
    return _Parser(text).parse()


def tests(expr: Expr) -> list[Compare | StateTest | Quantified]:
    """Every test of the condition, in order."""
    if isinstance(expr, Compare | StateTest | Quantified):
        return [expr]
    if isinstance(expr, Not):
        return tests(expr.operand)
    return [test for operand in expr.operands for test in tests(operand)]


def names(expr: Expr) -> list[tuple[str, str | None]]:
    """Every (section, check name) the condition reads, in order; name None for `any`/`all` over a whole section."""
    return [(test.source, None if isinstance(test, Quantified) else test.name) for test in tests(expr)]


@lru_cache(maxsize=256)
def labelled(source: str, name: str, labels: tuple[Matcher, ...]) -> Callable[[LiveState], Check | None]:
    """How a test with labels reads its check: the section row's `labelled` function over the section's model
    (None when the row has none: `problems` says so before a playbook runs)."""
    reference = BY_SECTION[source].conditions.labelled
    if reference is None:
        return lambda live: None
    check_of = resolve(reference)
    return lambda live: check_of(live.model(source), name, labels)


def problems(text: str, known: dict[str, set[str]]) -> list[str]:
    """What is wrong with a condition for a config whose sections offer the `known` check names (per section)."""
    try:
        expr = parse(text)
    except ConditionError as exc:
        return [f"bad condition {text!r}: {exc}"]
    found: list[str] = []
    for test in tests(expr):
        if isinstance(test, Quantified) or test.source not in known:
            continue
        written = BY_SECTION[test.source].conditions.name
        if test.name not in known[test.source]:
            found.append(f"unknown check {written}.{test.name!r} (known: {', '.join(sorted(known[test.source]))})")
        elif test.labels and BY_SECTION[test.source].conditions.labelled is None:
            found.append(f"{written}.{test.name} takes no labels")
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
    threshold = expr.number * UNIT_FACTOR.get(expr.unit, 1.0)
    shown = f"{expr.number:g}{expr.unit}"
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
    if isinstance(expr, Not):
        inner = evaluate(expr.operand, live)
        flipped = {Truth.PASS: Truth.FAIL, Truth.FAIL: Truth.PASS}.get(inner.value, Truth.UNKNOWN)
        return Result(flipped, lambda: inner.evidence)  # the evidence says what holds, whichever way it was asked
    return _combine(expr.op, [evaluate(operand, live) for operand in expr.operands])
