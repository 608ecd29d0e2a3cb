"""JSON from outside (probe bodies, command output, log lines, shared entries), read so it cannot stop a reader.

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
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
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
