"""Log lines in, `LogLine`s out: terminal-safe text, a time, a level, a trace id, JSON fields; errors per minute."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from console import outside_json
from console.clock import Clock
from console.config import LogSettings
from console.models.logs import ERROR_LEVELS, TRACE_IN_TEXT, LogLine, field_value, normalize_level
from console.redact import is_safe, make_safe
from console.timeparse import parse_timestamp

RATE_WINDOW = 60
_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?")
_UPPER_LEVELS = (
    *("FATAL", "CRITICAL", "CRIT", "PANIC", "ERROR", "ERR"),
    *("WARNING", "WARN", "INFO", "NOTICE", "DEBUG", "TRACE"),
)
_LEVEL_WORD = re.compile(rf"({'|'.join(_UPPER_LEVELS)})\b")
# The common shape in one match: a leading time (after at most one character), then maybe a level word.
_HEAD = re.compile(rf".?({_TIME.pattern})[\] ]*(?:{_LEVEL_WORD.pattern}[:\] ]*)?")
_TIME_WITHIN = 48  # a time further in is not the line's leading time
_WORD_LEVELS = {word: normalize_level(word) for word in _UPPER_LEVELS}
_LEVEL_KEY = re.compile(r"\blevel\"?\s*[=:]\s*\"?([A-Za-z]+)")
_LEVEL_BRACKET = re.compile(r"\[(fatal|critical|error|warn|warning|info|notice|debug|trace)\]")
_LEVEL_TITLED = re.compile(r"(?:Fatal|Error|Warning):")
_HTTP_STATUS = re.compile(r"HTTP/[\d.]+\" ([45])\d\d ")
_HTTP_LEVEL = {"5": "error", "4": "warn"}
_fromisoformat = datetime.fromisoformat
_Parsed = tuple[str, datetime | None, str | None, str | None, dict[str, Any] | None]  # message, time, level...


class ErrorRate:
    """Error lines per minute over a sliding 60 s window of one-second buckets."""

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}

    def add(self, second: int, count: int = 1) -> None:
        self._buckets[second] = self._buckets.get(second, 0) + count

    def per_minute(self, now: datetime) -> float:
        horizon = int(now.timestamp()) - RATE_WINDOW
        for second in [s for s in self._buckets if s <= horizon]:
            del self._buckets[second]
        return float(sum(self._buckets.values()))


class LineParser:
    """Text lines of one source -> LogLines: time, level, message, trace id and (JSON) fields; counts errors."""

    def __init__(self, settings: LogSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.name = settings.name
        self.seq = 0
        self.rate = ErrorRate()
        self._last_order: float | None = None
        self._json = settings.format == "json"

    def parse(self, texts: list[str], *, backlog: bool = False) -> list[LogLine]:
        """Parse untrusted lines received now. Errors in a backlog count only if their own time is recent."""
        received = self.clock.now()
        stamp = received.timestamp()
        horizon = stamp - RATE_WINDOW
        unsafe = not is_safe("".join(texts))  # one scan per batch; almost always clean
        out: list[LogLine] = []
        append = out.append
        is_json = self._json
        name = self.name
        seq, last_order = self.seq, self._last_order  # kept in locals in the loop: it runs for every line
        for raw in texts:
            seq += 1
            text = make_safe(raw) if unsafe else raw
            message, moment, level, trace_id, fields = (
                self._parse_json(raw, text) if is_json else self._parse_text(text)
            )
            if moment is not None:
                order = last_order = moment.timestamp()
            else:
                order = stamp if last_order is None else last_order
            if level in ERROR_LEVELS:
                when = order if moment is not None else (None if backlog else stamp)
                if when is not None and when > horizon:
                    self.rate.add(int(when))
            append(LogLine(name, seq, received, text, message, moment, level, trace_id, fields, order))
        self.seq, self._last_order = seq, last_order
        return out

    def synthetic(self, message: str, level: str) -> LogLine:
        """A line the console itself adds (a command's exit): marked, never counted as an error of the log."""
        self.seq += 1
        received = self.clock.now()
        text = f"[incident-console] {message}"
        order = received.timestamp()
        return LogLine(self.name, self.seq, received, text, text, received, level, order=order)

    def _parse_text(self, text: str) -> _Parsed:
        """The message is what follows a leading timestamp and level word: the view shows both in columns."""
        head = _HEAD.match(text)
        if head is not None and head.end(1) <= _TIME_WITHIN:
            try:
                moment = _fromisoformat(head.group(1))
            except ValueError:
                return _parse_loose(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            word = head.group(2)
            level = _WORD_LEVELS[word] if word is not None else _text_level(text)
            return text[head.end() :], moment, level, TRACE_IN_TEXT, None
        return _parse_loose(text)

    def _parse_json(self, raw: str, text: str) -> _Parsed:
        try:
            fields = outside_json.loads(raw)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            return self._parse_text(text)
        settings = self.settings
        level_value = field_value(fields, settings.level_field)
        level = normalize_level(level_value) if level_value is not None else _text_level(text)
        message = field_value(fields, settings.message_field)
        if message is None:
            message = text
        elif not isinstance(message, str):
            message = make_safe(json.dumps(message, ensure_ascii=False))
        else:
            message = make_safe(message)
        trace = field_value(fields, settings.trace_field)
        trace_id = make_safe(str(trace)) if trace not in (None, "") else TRACE_IN_TEXT
        return message, parse_timestamp(field_value(fields, settings.time_field)), level, trace_id, fields


def _parse_loose(text: str) -> _Parsed:
    """A text line not of the common shape: a time anywhere near the start, a level word after a leading time."""
    message, moment = text, None
    found = _TIME.search(text, 0, _TIME_WITHIN)
    if found is not None:
        try:
            moment = _fromisoformat(found.group())
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            if found.start() <= 1:
                message = text[found.end() :].lstrip("] ")
    word = _LEVEL_WORD.match(message) if message is not text else None
    if word is not None:
        level = _WORD_LEVELS[word.group(1)]
        message = message[word.end() :].lstrip(":] ")
    else:
        level = _text_level(text)
    return message, moment, level, TRACE_IN_TEXT, None


def _text_level(text: str) -> str | None:
    """The level a text line states: an upper-case word (ERROR, WARN...), level=..., [error], Error:, HTTP 4xx/5xx.

    Cheap substring checks guard the rarer patterns: this runs on every line of a flood.
    """
    found = _LEVEL_WORD.search(text)
    while found is not None:
        start = found.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
            return _WORD_LEVELS[found.group(1)]
        found = _LEVEL_WORD.search(text, found.end())
    if "level" in text and (found := _LEVEL_KEY.search(text)):
        return normalize_level(found.group(1))
    if "[" in text and (found := _LEVEL_BRACKET.search(text)):
        return normalize_level(found.group(1))
    if (found := _LEVEL_TITLED.search(text)) and (found.start() == 0 or text[found.start() - 1] == " "):
        return normalize_level(found.group()[:-1])
    if "HTTP/" in text and (found := _HTTP_STATUS.search(text)):
        return _HTTP_LEVEL[found.group(1)]
    return None
