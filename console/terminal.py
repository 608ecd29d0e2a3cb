"""The console's terminal, lent to a program that needs it (an editor, a pager, `psql`, `top`), then taken back.

The program starts in a process group of its own but in the console's session (`proc.spawn_on_terminal`; every other
command gets a new session, with no terminal), and that group is made the terminal's foreground: it reads the keys,
ctrl+c and ctrl+z go to it, and it sees the window size. A read or a mode change it made before that stopped it
(SIGTTIN, SIGTTOU), so it is sent SIGCONT once it has the terminal. The console ignores SIGTTOU for the time of the
loan: in the background, a write (with `stty tostop`) or taking the foreground back would stop it otherwise. When
the program's leader exits the console takes the foreground back and puts the terminal's modes back as they were.
The console does no job control: a program stopped by ctrl+z is continued at once. The TUI passes `pause`
(`App.suspend`): its screen is given up before and repainted after.

If the console is told to stop meanwhile (its caller is cancelled: SIGHUP, SIGTERM), the program's group gets the
signal the console got, then SIGKILL after a grace, and the cancel goes on once the terminal is back. A terminal
that hung up while lent cannot be taken back: `TerminalGone`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import termios
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from console import proc as processes

STOPPED_CHECK = 0.25  # seconds between two looks at whether the program was stopped (ctrl+z)


class TerminalGone(Exception):
    """The terminal hung up while a program had it: there is nothing to take back."""


@dataclass(frozen=True)
class Terminal:
    """A terminal the console can lend: `fd` is open on it, `pause` gives the screen up for the time of the loan."""

    fd: int
    pause: Callable[[], AbstractContextManager[object]] = field(default=nullcontext)

    @classmethod
    def attached(cls, pause: Callable[[], AbstractContextManager[object]] = nullcontext) -> Terminal | None:
        """This process's controlling terminal when stdin and stdout are terminals and this process is in its
        foreground (`incident-console ... &` is not); None otherwise."""
        try:
            if os.isatty(0) and os.isatty(1) and os.tcgetpgrp(0) == os.getpgrp():
                return cls(0, pause)
        except OSError:  # stdin is a terminal, but not this session's
            pass
        return None

    async def lend(self, argv: list[str], cwd: Path, env: Mapping[str, str], stop_signal: Callable[[], int]) -> int:
        """Run `argv` with the terminal and return its exit code once it has the terminal back. Cancelled, the
        program's group gets `stop_signal()` first; TerminalGone when the terminal hung up meanwhile."""
        failure: BaseException | None = None
        modes: list | None = None
        with self.pause():  # Textual resumes only when its block ends without an exception: none leaves it
            before = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # in the background, nothing of ours stops us
            try:
                modes = termios.tcgetattr(self.fd)
                code = await self._run(argv, cwd, env, stop_signal)
            except BaseException as exc:  # raised again below, once the terminal is back
                failure = exc
            kept = modes is not None and self._take_back(modes)
            signal.signal(signal.SIGTTOU, before)
        if failure is not None:
            raise failure
        if not kept:
            raise TerminalGone("the terminal hung up while the program had it")
        return code

    async def _run(self, argv: list[str], cwd: Path, env: Mapping[str, str], stop_signal: Callable[[], int]) -> int:
        proc = await processes.spawn_on_terminal(argv, cwd, env)
        try:
            with contextlib.suppress(OSError):  # it may have ended already
                os.tcsetpgrp(self.fd, proc.pid)
            _continue(proc.pid)
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(STOPPED_CHECK):
                        return await proc.wait()
                if processes.is_stopped(proc.pid):
                    _continue(proc.pid)
        except asyncio.CancelledError:
            await processes.kill_group(proc, first=stop_signal())
            raise

    def _take_back(self, modes: list) -> bool:
        """The foreground back to the console's group and the modes as they were (SIGTTOU is ignored: a background
        process doing either is stopped otherwise); False when the terminal is gone."""
        try:
            os.tcsetpgrp(self.fd, os.getpgrp())
            termios.tcsetattr(self.fd, termios.TCSADRAIN, modes)
        except (OSError, termios.error):
            return False
        return True


def _continue(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGCONT)
