"""Log models: one parsed line, and the per-source statistics with the error-spike threshold."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console.models import Check, State

ERROR_LEVELS = frozenset({"error", "fatal"})
LEVELS = ("fatal", "error", "warn", "info", "debug")
CRIT_FACTOR = 2.0
_LEVEL_WORDS = {
    "fatal": "fatal",
    "critical": "fatal",
    "crit": "fatal",
    "emerg": "fatal",
    "emergency": "fatal",
    "alert": "fatal",
    "panic": "fatal",
    "error": "error",
    "err": "error",
    "exception": "error",
    "warn": "warn",
    "warning": "warn",
    "info": "info",
    "information": "info",
    "notice": "info",
    "log": "info",
    "debug": "debug",
    "trace": "debug",
    "verbose": "debug",
}
_TRACE = re.compile(
    r"(?i)\b(?:x-)?trace[-_]?id[\"']?\s*[=:]?\s*[\"']?(?=[\w.:-]*\d)([A-Za-z0-9][\w.:-]{3,})"
    r"|\btraceparent[\"']?\s*[=:]\s*[\"']?[0-9a-f]{2}-([0-9a-f]{32})-"
)
TRACE_IN_TEXT: Any = object()  # a LogLine's trace_id: look it up in its text when asked (most never are)
_PINO_LEVELS = {60: "fatal", 50: "error", 40: "warn", 30: "info", 20: "debug", 10: "debug"}


def normalize_level(value: object) -> str | None:
    """One of LEVELS from a level word in any case (WARNING, Err, crit...) or a pino/bunyan number; else None."""
    if isinstance(value, str):
        return _LEVEL_WORDS.get(value.strip().lower())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _PINO_LEVELS.get(int(value) // 10 * 10)
    return None


def field_value(fields: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (`event.request.url`), trying the whole key first; None if absent."""
    if path in fields:
        return fields[path]
    value: Any = fields
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def trace_in_text(text: str) -> str | None:
    """The trace id a text line carries: `trace_id=...`, `x-trace-id: ...`, `traceId ...`, a W3C traceparent."""
    at = text.find(" trace_id=")  # the common logfmt spelling, without the regex
    if at >= 0:
        end = text.find(" ", at + 10)
        value = text[at + 10 : end if end >= 0 else None]
        if len(value) >= 4 and value.isalnum():
            return value
    at = text.find("race")
    if at < 0:
        at = text.find("RACE")
        if at < 0:
            return None
    found = _TRACE.search(text, max(0, at - 4))  # start just before "x-trace" / "trace": skip the rest
    return None if found is None else found.group(1) or found.group(2)


class LogLine:
    """One line of a log, already made safe for the terminal (immutable).

    `text` is the whole line (escape sequences and control characters made visible), `message` what
    the view shows after the time and level columns (the message field of a JSON line). `order` is
    the merge key in epoch seconds: the parsed time, else the last parsed time of the same source,
    else the time the line was received. `fields` holds every field of a JSON line (None for text).
    `trace_id` is looked up in the text only when asked (`TRACE_IN_TEXT` in `values`): few lines ever are.

    The values live in one plain tuple (`values`; `LogLine.of(values)` wraps one again). A view that
    holds 100,000 lines keeps the tuples, not the LogLine objects: the garbage collector stops scanning a
    tuple of strings and numbers after its first pass, so its full collections stay short.
    """

    __slots__ = ("_values",)
    SOURCE, SEQ, ORDER = 0, 1, 9  # positions in `values`

    def __init__(
        self,
        source: str,
        seq: int,
        received: datetime,
        text: str,
        message: str,
        time: datetime | None = None,
        level: str | None = None,
        trace_id: str | None = None,
        fields: dict[str, Any] | None = None,
        order: float = 0.0,
    ) -> None:
        self._values = (source, seq, received, text, message, time, level, trace_id, fields, order)

    @classmethod
    def of(cls, values: tuple) -> LogLine:
        """The line whose `values` these are."""
        line = cls.__new__(cls)
        line._values = values
        return line

    @property
    def values(self) -> tuple:
        """(source, seq, received, text, message, time, level, trace_id, fields, order)."""
        return self._values

    def __repr__(self) -> str:
        return f"LogLine({self.source!r}, {self.seq}, level={self.level!r}, text={self.text!r})"

    @property
    def source(self) -> str:
        return self._values[0]

    @property
    def seq(self) -> int:
        """Position of the line in its source, from 1."""
        return self._values[1]

    @property
    def received(self) -> datetime:
        return self._values[2]

    @property
    def text(self) -> str:
        return self._values[3]

    @property
    def message(self) -> str:
        return self._values[4]

    @property
    def time(self) -> datetime | None:
        return self._values[5]

    @property
    def level(self) -> str | None:
        return self._values[6]

    @property
    def trace_id(self) -> str | None:
        value = self._values[7]
        return trace_in_text(self._values[3]) if value is TRACE_IN_TEXT else value

    @property
    def fields(self) -> dict[str, Any] | None:
        return self._values[8]

    @property
    def order(self) -> float:
        return self._values[9]

    @property
    def is_error(self) -> bool:
        return self._values[6] in ERROR_LEVELS

    @property
    def shown_time(self) -> datetime:
        """The time to display: the line's own, else when it was received."""
        return self._values[5] or self._values[2]


@dataclass(frozen=True, slots=True)
class LogStats:
    """What one log source is doing: lines read, errors per minute against the spike threshold, status words.

    `source_state` is the health of the source itself (DOWN when it cannot read, UNKNOWN while waiting for
    a file, WARN while a command restarts). Lines dropped from a ring are counted by the view that holds it.
    """

    name: str
    lines: int = 0
    errors_per_min: float = 0.0
    error_spike_per_min: float = 30.0
    status: str = ""
    source_state: State = State.OK
    exit_code: int | None = None

    @property
    def rate_state(self) -> State:
        """WARN over the spike threshold, CRIT over twice the threshold."""
        if self.errors_per_min > self.error_spike_per_min * CRIT_FACTOR:
            return State.CRIT
        if self.errors_per_min > self.error_spike_per_min:
            return State.WARN
        return State.OK

    @property
    def state(self) -> State:
        return State.worst([self.rate_state, self.source_state])

    @property
    def rate_text(self) -> str:
        rate = self.errors_per_min
        return f"{rate:.0f} err/min" if rate >= 10 or rate == int(rate) else f"{rate:.1f} err/min"

    def checks(self) -> list[Check]:
        """One check per source: its error rate against the threshold, or why the source is not reading."""
        if self.rate_state.rank >= self.source_state.rank and self.rate_state is not State.OK:
            reason = f"error spike: {self.rate_text} (threshold {self.error_spike_per_min:g}/min)"
        elif self.source_state is not State.OK:
            reason = self.status
        else:
            reason = f"{self.rate_text}, under {self.error_spike_per_min:g}/min"
        return [
            Check(
                source="logs",
                name=self.name,
                state=self.state,
                value=self.rate_text,
                reason=reason,
                number=self.errors_per_min,
            )
        ]

    @property
    def feed_key(self) -> str:
        return f"logs:{self.name}"
