"""The one way the CLI writes what it prints: nothing reaches the terminal raw, and a reader that goes away (`| head`,
a closed SSH session) is not an error.

`out()` escapes every line it writes with `redact.make_safe` (ESC as `\\x1b`, C1, DEL and bidi controls likewise);
only a newline stays one, since the console prints several lines in one call. So a caller never has to know which of
its values came from outside: a field that must stay on its line (a note in `journal show`) is made safe by the caller,
newline included. JSON goes through `json_text`, whose escapes are JSON's own (`\\u009b`), so it stays JSON.

On a broken pipe, or a terminal that was hung up (EIO), the stream's file descriptor is pointed at /dev/null (the
recipe of Python's own documentation on SIGPIPE), so nothing later, not even the flush at exit, raises again; callers
learn it from `out()` returning False and stop producing output, and a running action simply carries on.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from typing import Any, TextIO

from console.redact import UNSAFE_BUT_NEWLINE, make_safe

GONE = (errno.EPIPE, errno.EIO)  # a reader that exited; a terminal that was hung up
_gone: set[str] = set()


def out(line: str = "", *, err: bool = False, flush: bool = False) -> bool:
    """Print `line` to stdout (stderr with `err`), escaped (`make_safe`, newlines kept); False once that stream's
    reader has gone away."""
    name = "stderr" if err else "stdout"
    if name in _gone:
        return False
    stream: TextIO = getattr(sys, name)
    try:
        print(make_safe(line, newlines=True), file=stream, flush=flush)
    except OSError as exc:
        if exc.errno not in GONE:
            raise
        _discard(name, stream)
        return False
    return True


def json_text(value: Any, **dumps: Any) -> str:
    """`value` as JSON (`json.dumps` with `ensure_ascii=False` and `dumps`) whose bytes carry no control: json.dumps
    escapes C0 but writes DEL, C1 (U+009B) and the bidi controls (U+202E) as they are; here they are `\\u` escapes,
    so the JSON decodes to the same value and `out` has nothing left to change."""
    text = json.dumps(value, ensure_ascii=False, **dumps)
    return UNSAFE_BUT_NEWLINE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def finish() -> None:
    """Flush stdout and stderr before exiting, quietly if their readers have gone away."""
    for name in ("stdout", "stderr"):
        stream: TextIO = getattr(sys, name)
        try:
            stream.flush()
        except OSError as exc:
            if exc.errno not in GONE:
                raise
            _discard(name, stream)


def _discard(name: str, stream: TextIO) -> None:
    _gone.add(name)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)
