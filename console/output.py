"""The one way the CLI writes what it prints: a reader that goes away (`| head`, a closed SSH session) is not an
error.

On a broken pipe, or a terminal that was hung up (EIO), the stream's file descriptor is pointed at /dev/null (the
recipe of Python's own documentation on SIGPIPE), so nothing later, not even the flush at exit, raises again; callers
learn it from `out()` returning False and stop producing output, and a running action simply carries on.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import TextIO

GONE = (errno.EPIPE, errno.EIO)  # a reader that exited; a terminal that was hung up
_gone: set[str] = set()


def out(line: str = "", *, err: bool = False, flush: bool = False) -> bool:
    """Print `line` to stdout (stderr with `err`); False once that stream's reader has gone away."""
    name = "stderr" if err else "stdout"
    if name in _gone:
        return False
    stream: TextIO = getattr(sys, name)
    try:
        print(line, file=stream, flush=flush)
    except OSError as exc:
        if exc.errno not in GONE:
            raise
        _discard(name, stream)
        return False
    return True


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
