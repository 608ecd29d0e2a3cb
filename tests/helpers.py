"""What many tests share, once: the CLI as a real process (`python -m console.cli ...`, alone, writing into a real
pipe, or on a terminal), a config file written with explicit modes, and waiting on a condition instead of a fixed
sleep (`until` on the event loop, `wait_for` in plain code, `settle` for a Pilot)."""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import inspect
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "console.cli"]
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>78]")


def cli(
    *argv: str | Path,
    cwd: Path | None = ROOT,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with stdin closed (no terminal) and capture both outputs; `env` is added to the environment."""
    return subprocess.run(
        [*CLI, *map(str, argv)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def config_file(
    folder: Path, body: str, *, mode: int = 0o600, folder_mode: int = 0o700, environment: str = "staging"
) -> Path:
    """`body` after a `[console]` (this environment) with a journal in a private folder (`folder/../state`), at
    `folder/config.toml` with these modes."""
    folder.mkdir(exist_ok=True)
    folder.chmod(folder_mode)
    journal = folder.parent / "state" / "journal.jsonl"
    path = folder / "config.toml"
    path.write_text(f'[console]\nenvironment = "{environment}"\njournal = "{journal}"\n{body}')
    path.chmod(mode)
    return path


def make_certificate(folder: Path, days: int = 1, name: str = "cert") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 valid for `days` from now: its (key, cert) PEM files in `folder`."""
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


def without_dac_override() -> None:
    """In a child (`preexec_fn`): root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so a file's mode binds it as
    any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone from the program it executes
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def alive(pid: int) -> bool:
    """Whether the process runs: it exists and is no zombie (a zombie has ended; only its parent's reaping is due)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists (a zombie counts: an orphan's waits a moment for init)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def until(condition: Callable[[], Any], timeout: float = 15, what: str = "the condition") -> None:
    """Return once `condition()` is true (awaited when it is a coroutine: a query), checking every 20 ms on the event
    loop; fail after `timeout` seconds. A widget the condition asks for that is not there yet (a screen just pushed
    is composed a turn later) is the condition not holding yet."""
    from textual.css.query import NoMatches

    async def holds() -> Any:
        try:
            return await result if inspect.isawaitable(result := condition()) else result
        except NoMatches:
            return False

    deadline = time.monotonic() + timeout
    while not await holds():
        assert time.monotonic() < deadline, f"{what} did not hold within {timeout:g}s"
        await asyncio.sleep(0.02)


def wait_for(condition: Callable[[], Any], timeout: float = 15, what: str = "the condition") -> None:
    """`until` for code outside an event loop (a thread, a process poll)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not hold within {timeout:g}s"
        time.sleep(0.02)


def shown_lines(widget: Any) -> list[str]:
    """The text of each line a widget paints now (its border included), through Textual's public `render_lines`."""
    from textual.geometry import Region

    return [strip.text for strip in widget.render_lines(Region(0, 0, *widget.outer_size))]


def painted(app: Any) -> str:
    """The text of the whole screen as it would be drawn now, every layer composed. Textual has no public way to read
    the composed screen (`export_screenshot` gives SVG), so this is the one place that reads its compositor."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def terminal_output(app: Any) -> str:
    """Exactly what the driver would write to the terminal for a full repaint (through the same compositor)."""
    return str(app.screen._compositor.render_full_update().render_segments(app.console))


def toasts(app: Any, severity: str | None = None) -> list[str]:
    """The text of the notifications on screen (of one severity: `error`), as the operator reads them; the Pilot must
    run with `notifications=True`."""
    shown = app.screen.query("Toast" + (f".-{severity}" if severity else ""))
    return [str(toast.render()) for toast in shown]


async def settle(pilot: Any, timers: float = 0) -> None:
    """Let a Pilot's keys land and the app's workers (journal writes, plans) finish, unless a modal waits for input;
    then `timers` seconds more for what a widget paints on a timer (a log view paints appended lines within
    widgets.log_view.FOLLOW_INTERVAL)."""
    from textual.screen import ModalScreen

    await pilot.pause()
    await pilot.pause()
    if not isinstance(pilot.app.screen, ModalScreen):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    if timers:
        await pilot.pause(timers)


async def choose_in_palette(pilot: Any, text: str) -> None:
    """Open the command palette (unless it is open), type `text` and press enter once the palette has highlighted a
    command whose name holds it (the palette searches in a worker and shows what it found in batches)."""
    from textual.command import CommandList, CommandPalette

    if not isinstance(pilot.app.screen, CommandPalette):
        await pilot.press("ctrl+p")
    await until(lambda: isinstance(pilot.app.screen, CommandPalette), what="the palette")
    commands = pilot.app.screen.query_one(CommandList)
    await pilot.press(*text)

    def highlighted() -> str:
        if commands.highlighted is None or not commands.option_count:
            return ""
        return str(commands.get_option_at_index(commands.highlighted).prompt).split("\n")[0]

    await until(lambda: text.lower() in highlighted().lower(), what=f"a command matching {text!r} highlighted")
    await pilot.press("enter")
    await pilot.pause()


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
