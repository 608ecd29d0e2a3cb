"""Textual's Linux driver, made to survive its terminal going away (an SSH session that drops: SIGHUP).

Two things in Textual 8.2's driver turn a hangup into a console that never exits once the running action has been
stopped and journaled (console/stop_signals.py):
- its writer thread dies on the first write that fails (EIO), and the next thirty frames fill its queue, so the
  frame after them blocks the app for ever;
- the SIGCONT the kernel sends with the SIGHUP makes it start application mode again on the dead terminal (a second
  writer thread, terminal modes set from inside a signal handler).
So writes to a terminal that has gone are dropped, and SIGCONT restarts nothing. (Suspending with SIGTSTP cannot come
from the keyboard in raw mode; `kill -TSTP` still stops the process.)

While the terminal is lent to a program (`App.suspend`, console/terminal.py) the event loop goes on (a stop signal
must be heard), but the writer thread has stopped: the frames the app still paints would fill its queue and block
the loop for ever, so they are dropped until the app resumes; Textual repaints the whole screen then. A resume that
cannot start again (the terminal hung up meanwhile) keeps dropping them.

Every write goes out with its SGR sequences cut to the changes (console/tui/sgr.py): half the bytes of a frame.
"""

from __future__ import annotations

import errno
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver

from console.tui.sgr import PLAIN, UNKNOWN, shorten

GONE = (errno.EIO, errno.EPIPE, errno.ENXIO)


class HangupSafeDriver(LinuxDriver):
    """LinuxDriver whose output survives a hangup and whose SIGCONT does not restart application mode."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        terminal = self._file
        assert terminal is not None, "the TUI needs a terminal on stderr"  # LinuxDriver writes to sys.__stderr__
        # LinuxDriver declares _file as stderr's own class; its writer thread only writes, flushes and asks fileno and
        # isatty, which TerminalOutput answers
        self._file = TerminalOutput(terminal)  # type: ignore[assignment]
        self._auto_restart = False
        self._lent = False  # the terminal is another program's: nothing is written
        self._style = PLAIN  # what the terminal draws with after the last write

    def suspend_application_mode(self) -> None:
        super().suspend_application_mode()
        self._lent = True

    def resume_application_mode(self) -> None:
        stopped, self._lent = self._writer_thread, False
        self._style = UNKNOWN  # the program that had the terminal may have left any style: the next one from a reset
        super().resume_application_mode()
        if self._writer_thread is stopped:  # the terminal refused its modes back (it hung up): nothing started
            self._lent = True

    def write(self, data: str) -> None:
        if not self._lent:
            data, self._style = shorten(data, self._style)
            super().write(data)


class TerminalOutput:
    """The terminal as the writer thread sees it: once a write fails because the terminal has gone, every later
    write and flush is dropped instead of raising."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except OSError as exc:
                self._went(exc)
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except OSError as exc:
                self._went(exc)

    def _went(self, exc: OSError) -> None:
        if exc.errno not in GONE:
            raise exc
        self.gone = True

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return self._stream.isatty()
