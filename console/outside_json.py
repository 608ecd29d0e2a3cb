"""JSON from outside (probe bodies, command output, log lines, shared entries), read so it cannot stop a reader.

`ObjectLines` turns a program's pretty-printed JSON objects (`wrangler tail --format json` prints one over many
lines) back into one line per object, for the log parser.

A document nested deeper than `MAX_DEPTH` is refused as a ValueError before anything walks it: Python's own decoder
raises RecursionError at about a thousand levels, and what reads a document afterwards (JMESPath, the journal's
encoder, the redactor) recurses too. Any of the parsers' callers already turns a ValueError into "not JSON".
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 200  # far deeper than any health, metric or alert payload; far below Python's recursion limit
MAX_OBJECT = 256 * 1024  # characters of one assembled object; a bigger one is given up, its lines passed as they are
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_LINE_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class TooDeep(ValueError):
    """A JSON document nested deeper than MAX_DEPTH."""


def loads(data: str | bytes) -> Any:
    """The decoded document; ValueError (TooDeep included) when it is not JSON or is nested too deep."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        check_depth(raw)
    try:
        return json.loads(data)
    except RecursionError:  # deeper than the decoder can follow, past the bracket count (a stray quote fooled it)
        raise TooDeep(f"nested more than {MAX_DEPTH} levels deep") from None


def check_depth(raw: bytes) -> None:
    """TooDeep when the brackets outside strings nest deeper than MAX_DEPTH (C-speed: no recursion, no decode)."""
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if brackets and max(accumulate(_STEP[b] for b in brackets)) > MAX_DEPTH:
        raise TooDeep(f"nested more than {MAX_DEPTH} levels deep")


class ObjectLines:
    """Lines in, one line per JSON object out: lines are gathered from one that opens an object (`{`) until the
    brackets outside strings close again, then joined (each line stripped: JSON has no line break inside a string).

    A line outside an object passes as it is (a program's banner, a JSON Lines log), and so does every gathered line
    of an object that grows past `max_size` characters or is never closed (`flush`, at the end): a malformed object
    never swallows the lines after it for long.
    """

    def __init__(self, max_size: int = MAX_OBJECT) -> None:
        self.max_size = max_size
        self._held: list[str] = []
        self._size = 0
        self._depth = 0

    def feed(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            if not self._held and not line.lstrip().startswith("{"):
                out.append(line)
                continue
            self._held.append(line)
            self._size += len(line)
            bare = _LINE_STRINGS.sub("", line) if '"' in line else line
            self._depth += bare.count("{") + bare.count("[") - bare.count("}") - bare.count("]")
            if self._depth <= 0:
                held = self._held
                out.append(held[0] if len(held) == 1 else "".join(part.strip() for part in held))
                self._clear()
            elif self._size > self.max_size:
                out.extend(self.flush())
        return out

    def flush(self) -> list[str]:
        """The lines of an object never closed, as they were."""
        held = self._held
        self._clear()
        return held

    def _clear(self) -> None:
        self._held, self._size, self._depth = [], 0, 0
