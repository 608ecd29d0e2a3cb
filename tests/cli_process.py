"""The CLI as a real process: `python -m console.cli ...`, alone, writing into a real pipe, or on a terminal."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

CLI = [sys.executable, "-m", "console.cli"]
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>78]")


def cli(*argv: str | Path, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the CLI with stdin closed (no terminal) and capture both outputs."""
    return subprocess.run(
        [*CLI, *map(str, argv)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def cli_into(reader: list[str], *argv: str | Path, timeout: float = 60) -> tuple[int, str, str]:
    """`incident-console ARGV | READER`: the CLI's exit code and stderr, and what the reader printed."""
    writer = subprocess.Popen(
        [*CLI, *map(str, argv)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert writer.stdout is not None and writer.stderr is not None
    consumer = subprocess.Popen(reader, stdin=writer.stdout, stdout=subprocess.PIPE, text=True)
    writer.stdout.close()  # only the reader holds the pipe now: once it exits, the writer's next write fails
    shown, _ = consumer.communicate(timeout=timeout)
    err = writer.stderr.read().decode()  # EOF when the writer exits
    return writer.wait(timeout=timeout), err, shown


def cli_on_pty(*argv: str | Path, columns: int = 80, rows: int = 24) -> tuple[subprocess.Popen, int]:
    """The CLI on a pseudo-terminal (stdin, stdout and stderr) that is its controlling terminal, as an SSH session's
    is: the process and the terminal's master end. Closing the master hangs the terminal up (SIGHUP)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(
        [*CLI, *map(str, argv)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "xterm-256color"},
        preexec_fn=_session_on_terminal,
    )
    os.close(slave)
    return process, master


def read_until(fd: int, needle: bytes | None, timeout: float = 20.0) -> bytes:
    """What the program wrote to the terminal once `needle` shows in its text (escapes removed), or, for None, once
    it closed the terminal; answers cursor position queries."""
    written, deadline = b"", time.monotonic() + timeout
    while needle is None or needle not in ANSI.sub(b"", written):
        assert time.monotonic() < deadline, f"{needle!r} never showed"
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: every process holding the terminal has exited
                chunk = b""
            if not chunk and needle is None:
                return written
            if b"\x1b[6n" in chunk:
                os.write(fd, b"\x1b[1;1R")
            written += chunk
    return written


def _session_on_terminal() -> None:
    """In the child: a new session whose controlling terminal is its stdin (the pty)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
