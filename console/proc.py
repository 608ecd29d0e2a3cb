"""One process helper for log commands and command actions: spawn an argv (never a shell) in its own process
group, split its output into lines (over-long lines cut), and kill the whole group on timeout or cancel. A program
lent the terminal (console.terminal) is started here too, in a group of its own but in the console's session."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

MAX_LINE = 64 * 1024
CUT_MARKER = " … [line cut at 64 KB]"
KILL_GRACE = 2.0
GROUP_POLL = 0.1  # seconds between two looks at whether a signalled group has ended
DEATH_WAIT = 5.0  # how long a SIGKILLed group may take to be gone (a loaded machine schedules the exits late)
READ_CHUNK = 256 * 1024


async def spawn(
    argv: list[str],
    cwd: Path,
    *,
    merge_stderr: bool,
    env: Mapping[str, str] | None = None,
    stdin: bool = False,
) -> asyncio.subprocess.Process:
    """Start `argv` in a new session (its own process group) with stdin closed (or piped) and stdout (and stderr)
    piped; `env` adds to (and overrides) this process's environment."""
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=None if env is None else {**os.environ, **env},
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
        start_new_session=True,
    )


async def spawn_on_terminal(argv: list[str], cwd: Path, env: Mapping[str, str]) -> asyncio.subprocess.Process:
    """Start `argv` with this process's stdin, stdout and stderr, in a process group of its own (its pid) but in this
    session, so that it can be made the foreground of the terminal the console lends it; `env` as for `spawn`."""
    return await asyncio.create_subprocess_exec(*argv, cwd=cwd, env={**os.environ, **env}, process_group=0)


async def kill_group(proc: asyncio.subprocess.Process, grace: float = KILL_GRACE, first: int = signal.SIGTERM) -> None:
    """Signal the whole process group (SIGTERM, or `first`: the SIGHUP the console got), give every member of it
    `grace` seconds to end (an editor saves its work on SIGHUP), then SIGKILL what is left, and return once no member
    runs (a SIGKILL takes effect asynchronously: a child could still run when its leader had been reaped) or
    DEATH_WAIT has passed."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, first)
    await _group_ended(proc.pid, grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await _group_ended(proc.pid, DEATH_WAIT)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DEATH_WAIT):
            await proc.wait()


async def _group_ended(pgid: int, within: float) -> None:
    """Wait until no member of the group runs, at most `within` seconds."""
    deadline = time.monotonic() + within
    while _group_alive(pgid) and time.monotonic() < deadline:
        await asyncio.sleep(GROUP_POLL)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs. A zombie does not count: an orphan is reaped by init, which in
    some containers takes a second or more. (Linux: /proc, a small read per process: about 2 ms for 100.)"""
    for entry in os.scandir("/proc"):
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None and int(stat[2]) == pgid and stat[0] not in (b"Z", b"X"):
            return True
    return False


def is_stopped(pid: int) -> bool:
    """Whether the process is stopped (ctrl+z, SIGTTIN...)."""
    stat = _stat(pid)
    return stat is not None and stat[0] == b"T"


def _stat(pid: int) -> list[bytes] | None:
    """/proc/PID/stat after the command name: state, ppid, pgrp, ...; None when the process has gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split() or None
    except OSError:
        return None


async def line_batches(pipe: asyncio.StreamReader) -> AsyncIterator[list[str]]:
    """Complete lines from a pipe, a batch per read, the partial last line at EOF."""
    splitter = LineSplitter()
    while chunk := await pipe.read(READ_CHUNK):
        if lines := splitter.feed(chunk):
            yield lines
    if rest := splitter.flush():
        yield rest


class LineSplitter:
    """Bytes in, complete lines out (made safe later, by the parser).

    A partial last line is held until its newline arrives; a line longer than 64 KB is cut with a marker
    and the rest of it dropped as it arrives; invalid UTF-8 is replaced; CRLF endings are accepted.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._pending = b""
        self._skipping = False

    def feed(self, data: bytes) -> list[str]:
        end = data.rfind(b"\n")
        if end < 0:
            return self._hold(data)
        head, tail = data[:end], data[end + 1 :]
        if self._skipping:
            first = head.find(b"\n")
            head = head[first + 1 :] if first >= 0 else b""
            self._skipping = False
            if first < 0:
                return self._keep(tail, [])
        elif self._pending:
            head = self._pending + head
        self._pending = b""
        return self._keep(tail, self._decode(head))

    def flush(self) -> list[str]:
        """The held partial line, if any (at EOF of a command, or when a file is rotated away)."""
        pending, self._pending, self._skipping = self._pending, b"", False
        return self._decode(pending) if pending else []

    def _hold(self, data: bytes) -> list[str]:
        if self._skipping:
            return []
        self._pending += data
        if len(self._pending) <= self.max_line:
            return []
        cut = self._decode(self._pending[: self.max_line])[0] + CUT_MARKER
        self._pending, self._skipping = b"", True
        return [cut]

    def _keep(self, tail: bytes, lines: list[str]) -> list[str]:
        return lines + self._hold(tail) if tail else lines

    def _decode(self, data: bytes) -> list[str]:
        text = data.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        if len(text) > self.max_line:
            lines = [line[: self.max_line] + CUT_MARKER if len(line) > self.max_line else line for line in lines]
        return lines
