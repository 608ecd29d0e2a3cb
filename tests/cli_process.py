"""The CLI as a real process: `python -m console.cli ...`, alone or writing into a real pipe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "console.cli"]


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
