"""SIGHUP, SIGTERM and SIGINT end the console the way `q` does: a running action is cancelled, its outcome journaled.

Without this an SSH session that drops (SIGHUP) or a `kill` (SIGTERM, SIGINT) would end the process at once, leaving
an `action.requested` in the journal with no outcome and, for a command, a process group nobody watches. (In the TUI,
ctrl+c is a key, not SIGINT: the terminal is in raw mode.)
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STOP_SIGNALS = {
    signal.SIGHUP: "SIGHUP (its terminal went away)",
    signal.SIGTERM: "SIGTERM",
    signal.SIGINT: "SIGINT",
}


def cancel_reason(why: str) -> str:
    """The outcome message of an action cancelled because the console was told to stop."""
    return f"the console got {why}"


@contextmanager
def on_stop_signals(handler: Callable[[int, str], None]) -> Iterator[None]:
    """Call `handler(signal number, why)` on the running loop for the stop signals while inside; the handlers from
    before come back after."""
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}  # `demo` has its own, for stopping its servers
    installed: list[signal.Signals] = []
    try:
        for sig, why in STOP_SIGNALS.items():
            loop.add_signal_handler(sig, handler, sig, why)
            installed.append(sig)
    except RuntimeError:  # not the main thread (an app run by a benchmark harness): signals stay as they were
        pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
            old = previous[sig]
            signal.signal(sig, signal.SIG_DFL if old is None else old)

