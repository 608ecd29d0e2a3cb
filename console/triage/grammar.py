"""The condition language's grammar: a recursive-descent parser (no eval) over `tokens`, and its syntax tree.

Grammar (keywords are case-insensitive; names with spaces are quoted):

    expr     := or
    or       := and ("or" and)*
    and      := unary ("and" unary)*
    unary    := "not" unary | "(" expr ")" | quant | test
    quant    := ("any" | "all") SOURCE "is" ["not"] STATE
    test     := SOURCE "." NAME [LABELS] (OP NUMBER [UNIT] | "is" ["not"] STATE) | incident
    incident := "incident" "." FIELD [OP (NUMBER UNIT | NAME)]     (console.triage.incident_conditions)
    suspect  := "changes" "." "suspect" "." FIELD ("==" | "!=") NAME   (console.triage.change_conditions)
    LABELS   := "{" matcher ("," matcher)* "}"      matcher := label ("=" | "!=" | "=~" | "!~") '"value"'
    STATE    := ok | warn | crit | down | unknown | unhealthy (warn, crit or down)
    OP       := > >= < <= == !=          UNIT := % | ms | s | m | h (converted to the unit of the check's number)

SOURCE is a section's name in the source registry (`console.sources.base.REGISTRY`: health, metric, logs, postgres,
redis, alerts); the tree holds the section it reads (`alerts` reads `alertmanager`). A comparison reads the check's
number in its unit (`health.api > 2s` is 2000 against its milliseconds; `logs.NAME` is the error rate per minute; a
unit that does not convert, `5%` against milliseconds, is UNKNOWN and a `triage check` problem). LABELS narrow a
check to what they match where its row says how (`alerts.firing{severity="critical"} > 0`). A check that is
missing, unknown, or down (for a comparison) never passes: the result is UNKNOWN. `not`, `and` and `or` follow
Kleene's three-valued logic. Evidence says what holds (`0.2% (ok) <= 1%` when `> 1%` failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from console.changes.model import FEED
from console.models import State
from console.models.alerts import Matcher, parse_matchers
from console.sources.base import BY_NAME
from console.triage import change_conditions, incident_conditions
from console.triage.change_conditions import ChangeTest
from console.triage.incident_conditions import IncidentTest
from console.triage.tokens import ConditionError, Token, tokenize

STATES = {s.value: frozenset({s}) for s in State} | {"unhealthy": frozenset({State.WARN, State.CRIT, State.DOWN})}
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


Expr = Compare | StateTest | Quantified | IncidentTest | ChangeTest | Not | Logic


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
            raise self.fail(f"expected a source ({', '.join(BY_NAME)}) or incident, found {_show(token)}")
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
        if self.token.kind == "name" and written.lower() == incident_conditions.NAME:
            return self.incident()
        source = self.source()
        self.expect(".", f"a dot and a check name after {written}")
        token = self.token
        if token.kind not in ("name", "string"):
            raise self.fail(f"expected a check name after {written}., found {_show(token)}")
        self.pos += 1
        if source == FEED and token.text.lower() == change_conditions.SUBJECT and self.token.text == ".":
            return self.suspect()
        labels = self.labels()
        if self.token.kind == "op":
            op = self.token.text
            self.pos += 1
            number = self.token
            if number.kind != "number":
                raise self.fail(f"expected a number after {op}, found {_show(number)}")
            self.pos += 1
            digits = number.text.rstrip("%msh")
            return Compare(source, token.text, op, float(digits), number.text[len(digits) :], labels)
        if self.token.kind == "name" and self.token.text.lower() == "is":
            negate, state = self.state_test()
            return StateTest(source, token.text, negate, state, labels)
        raise self.fail(f"expected a comparison or is after {written}.{token.text}, found {_show(self.token)}")

    def incident(self) -> IncidentTest:
        """`incident.FIELD [OP VALUE]` (console.triage.incident_conditions says what each field takes)."""
        self.pos += 1
        self.expect(".", "a dot and a field after incident")
        field = self.token
        if field.kind != "name":
            raise self.fail(f"expected a field after incident. ({', '.join(incident_conditions.FIELDS)})")
        self.pos += 1
        op, number, unit, word = "", None, "", None
        if self.token.kind == "op":
            op = self.token.text
            self.pos += 1
            value = self.token
            if value.kind == "number":
                digits = value.text.rstrip("%msh")
                number, unit = float(digits), value.text[len(digits) :]
            elif value.kind in ("name", "string"):
                word = value.text
            else:
                raise self.fail(f"expected a value after {op}, found {_show(value)}")
            self.pos += 1
        try:
            return incident_conditions.make(field.text.lower(), op, number, unit, word)
        except ValueError as exc:
            raise self.fail(str(exc), field) from None

    def suspect(self) -> ChangeTest:
        """`changes.suspect.FIELD OP NAME` (console.triage.change_conditions)."""
        self.pos += 1
        field = self.token
        if field.kind != "name":
            raise self.fail(f"expected a field after changes.suspect. ({', '.join(change_conditions.FIELDS)})")
        self.pos += 1
        op, word = "", None
        if self.token.kind == "op":
            op = self.token.text
            self.pos += 1
            if self.token.kind in ("name", "string"):
                word = self.token.text
                self.pos += 1
        try:
            return change_conditions.make(field.text.lower(), op, word)
        except ValueError as exc:
            raise self.fail(str(exc), field) from None

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


def tests(expr: Expr) -> list[Compare | StateTest | Quantified | IncidentTest | ChangeTest]:
    """Every test of the condition, in order."""
    if isinstance(expr, Compare | StateTest | Quantified | IncidentTest | ChangeTest):
        return [expr]
    if isinstance(expr, Not):
        return tests(expr.operand)
    return [test for operand in expr.operands for test in tests(operand)]


def names(expr: Expr) -> list[tuple[str, str | None]]:
    """Every (section, check name) the condition reads, in order; name None for `any`/`all` over a whole section."""
    return [
        (test.source, None if isinstance(test, Quantified) else test.name)
        for test in tests(expr)
        if not isinstance(test, IncidentTest | ChangeTest)
    ]
