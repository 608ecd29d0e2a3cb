"""Log filter expressions, a table's filter, and the merged, time-ordered view of several sources (pure: no Textual,
no I/O).

An expression is whitespace-separated field terms plus free text:

    timeout                       regex on the whole line (case-insensitive)
    !healthcheck                  a leading `!` inverts the whole expression
    level=error                   the parsed level, for every line (warning/WARN/err are normalised)
    outcome=exception             a JSON field (dotted paths: event.request.method=POST); on a text line,
                                  the literal `outcome=exception` anywhere in it (logfmt)
    trace=abc123  source!=worker  the trace id, the source name; `!=` negates one term
    level=error "db timeout"      terms and text combine with AND; quote values with spaces
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from console.models.logs import LogLine, field_value, normalize_level

_TERM = re.compile(r'(?:^|(?<=\s))([A-Za-z_@][\w.@-]*)(!?=)("[^"]*"|\S+)(?=\s|$)')
_TRACE_KEYS = frozenset({"trace", "trace_id", "trace-id", "traceid"})
_ORDER = attrgetter("order")


class FilterError(ValueError):
    """The expression cannot be used; str() says why in words."""


@dataclass(frozen=True, slots=True)
class FieldTerm:
    """`key=value` (or `key!=value`): compared case-insensitively as text."""

    key: str
    value: str
    negate: bool = False

    def matches(self, line: LogLine) -> bool:
        return self._equal(line) != self.negate

    def _equal(self, line: LogLine) -> bool:
        key = self.key.lower()
        if key == "level":
            return line.level == (normalize_level(self.value) or self.value.lower())
        if key in _TRACE_KEYS:
            return line.trace_id is not None and line.trace_id.lower() == self.value.lower()
        if key == "source":
            return line.source.lower() == self.value.lower()
        if line.fields is not None:
            found = field_value(line.fields, self.key)
            return found is not None and _as_text(found).lower() == self.value.lower()
        return f"{self.key}={self.value}".lower() in line.text.lower()


@dataclass(frozen=True, slots=True)
class LogFilter:
    """A compiled expression: `matches(line)` for filtering, `spans(text)` for highlighting the text part."""

    text: str
    pattern: re.Pattern[str] | None = None
    terms: tuple[FieldTerm, ...] = ()
    invert: bool = False

    def matches(self, line: LogLine) -> bool:
        hit = all(term.matches(line) for term in self.terms) and (
            self.pattern is None or self.pattern.search(line.text) is not None
        )
        return hit != self.invert

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the free-text part matches in `text` (empty when inverted or there is no free text)."""
        if self.pattern is None or self.invert:
            return []
        return [m.span() for m in self.pattern.finditer(text) if m.end() > m.start()]


def compile_filter(text: str) -> LogFilter | None:
    """Compile an expression; None for an empty one. Raises FilterError with a readable reason."""
    text = text.strip()
    invert = text.startswith("!")
    body = text[1:].strip() if invert else text
    terms = tuple(FieldTerm(key, value.strip('"'), op == "!=") for key, op, value in _TERM.findall(body))
    rest = _TERM.sub("", body).strip()
    if len(rest) >= 2 and rest[0] == rest[-1] == '"':
        rest = re.escape(rest[1:-1])
    if not terms and not rest:
        if invert:
            raise FilterError("`!` needs something to invert, e.g. !healthcheck")
        return None
    try:
        pattern = re.compile(rest, re.IGNORECASE) if rest else None
    except re.error as exc:
        raise FilterError(f"not a valid regular expression: {exc}") from None
    return LogFilter(text=text, pattern=pattern, terms=terms, invert=invert)


def table_filter(text: str) -> tuple[re.Pattern[str] | None, bool]:
    """A table's filter: a regular expression (case-insensitive), a leading `!` inverts; (None, False) for an empty
    one. Raises FilterError with a readable reason."""
    text = text.strip()
    invert = text.startswith("!")
    pattern = text[1:] if invert else text
    try:
        return (re.compile(pattern, re.IGNORECASE) if pattern else None), invert
    except re.error as exc:
        raise FilterError(f"not a valid regular expression: {exc}") from None


def trace_filter(trace_id: str) -> LogFilter:
    """The filter trace-id follow applies: every line carrying this trace id, from any source."""
    return LogFilter(text=f"trace={trace_id}", terms=(FieldTerm("trace", trace_id),))


def merge_by_time(*streams: Iterable[LogLine]) -> list[LogLine]:
    """Lines of several sources in time order (their `order` key).

    The sort is stable: equal keys keep the order of the streams and, within a stream, arrival order, so a
    line without a time of its own (a stack-trace line, which inherits the key of the line before it) stays
    right after that line.
    """
    lines = [line for stream in streams for line in stream]
    lines.sort(key=_ORDER)
    return lines


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
