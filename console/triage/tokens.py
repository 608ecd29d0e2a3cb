"""The tokens of a condition (`console.triage.conditions` parses them): names, quoted names, numbers with units,
operators, parentheses and `{...}` labels; `ConditionError` with the line and column of anything else."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from console.models.numbers import unit_of

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
MAX_LENGTH = 4000
# The units a number may be written in (longest first where one starts another), as `console.models.numbers` names
# them: a threshold is converted to the unit of the check it is compared with.
UNITS = {"ms": "ms", "s": "s", "m": "min", "h": "h", "%": "%"}


class ConditionError(ValueError):
    """A condition that cannot be parsed; str() is one line with the line and column of the problem."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line, self.column, self.reason = line, column, message


@dataclass(frozen=True)
class Token:
    kind: str  # name, string, number, op, punct, end
    text: str
    line: int
    column: int


def tokenize(text: str) -> list[Token]:
    """Tokens of a condition; ConditionError on anything the grammar has no place for."""
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"condition is longer than {MAX_LENGTH} characters", 1, 1)
    tokens: list[Token] = []
    i, line, start_of_line = 0, 1, 0
    while i < len(text):
        char, column = text[i], i - start_of_line + 1
        if char == "\n":
            i, line, start_of_line = i + 1, line + 1, i + 1
        elif char in " \t\r":
            i += 1
        elif char in "().":
            tokens.append(Token("punct", char, line, column))
            i += 1
        elif char == "{":
            end = _closing_brace(text, i)
            if end < 0:
                raise ConditionError("unterminated labels (close them with })", line, column)
            tokens.append(Token("labels", text[i + 1 : end], line, column))
            i = end + 1
        elif char in "<>=!":
            op = text[i : i + 2] if text[i : i + 2] in OPS else char
            if op not in OPS:
                raise ConditionError(f"unknown operator {op!r} (use > >= < <= == !=)", line, column)
            tokens.append(Token("op", op, line, column))
            i += len(op)
        elif char == '"':
            end = i + 1
            while end < len(text) and text[end] not in '"\n':
                end += 1
            if end >= len(text) or text[end] != '"':
                raise ConditionError('unterminated quoted name (close it with ")', line, column)
            if end == i + 1:
                raise ConditionError("empty quoted name", line, column)
            tokens.append(Token("string", text[i + 1 : end], line, column))
            i = end + 1
        elif char.isascii() and char.isdigit():
            end = i
            while end < len(text) and ((text[end].isascii() and text[end].isdigit()) or text[end] == "."):
                end += 1
            number = text[i:end]
            if number.count(".") > 1 or number.endswith("."):
                raise ConditionError(f"malformed number {number!r}", line, column)
            unit = next((u for u in UNITS if text.startswith(u, end)), "")
            after = end + len(unit)
            if after < len(text) and (text[after].isalnum() or text[after] == "_"):
                raise ConditionError(f"unknown unit after {number} (use {', '.join(UNITS)})", line, column)
            tokens.append(Token("number", number + unit, line, column))
            i = after
        elif char.isascii() and (char.isalpha() or char == "_"):
            end = i
            while end < len(text) and text[end].isascii() and (text[end].isalnum() or text[end] in "_-"):
                end += 1
            tokens.append(Token("name", text[i:end], line, column))
            i = end
        else:
            raise ConditionError(f"unexpected character {char!r} (quote names that are not plain words)", line, column)
    tokens.append(Token("end", "", line, len(text) - start_of_line + 1))
    return tokens


@lru_cache(maxsize=1024)
def convert(number: float, written: str, unit: str) -> float | None:
    """`number` written in `written` (a key of UNITS, or none) as a number in the check's `unit`: `90s` against
    milliseconds is 90000, `500ms` against seconds 0.5; None when they do not convert (`5%` against ms, `2s`
    against a count). A number written without a unit is taken in the check's unit."""
    if not written or UNITS[written] == unit:
        return number
    have, want = unit_of(UNITS[written]), unit_of(unit)
    if have is None or want is None or have[0] != want[0]:
        return None
    return number * have[1] / want[1]


def _closing_brace(text: str, start: int) -> int:
    """The index of the `}` that closes the labels opened at `start` (quoted values may hold one), or -1."""
    quoted = False
    i = start + 1
    while i < len(text) and text[i] != "\n":
        if quoted and text[i] == "\\":
            i += 1
        elif text[i] == '"':
            quoted = not quoted
        elif text[i] == "}" and not quoted:
            return i
        i += 1
    return -1
