"""A signal when the console needs the operator and is not the window in front: a new CRIT or DOWN, an overdue
status update, a long action finishing, a triage step waiting on them.

`[console] notify` chooses the signals: `bell` (BEL: tmux turns it into window activity; the default), `osc9` (a
desktop notification: iTerm2, kitty, WezTerm, Windows Terminal) and `osc777` (the same for urxvt, foot, Ghostty and
VTE terminals). The text of a notification is outside text (a check's name, an action's), so it is escaped before it
is written and cut to one short line: it can never end the sequence early or start another. A window known to be in
front (the terminal reports focus) gets no signal; the wall never signals. The same need is said at most once every
REPEAT seconds, and no signal follows another within GAP seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from console.redact import make_safe

if TYPE_CHECKING:  # console.models builds pydantic models: not before the shell's first paint (console/tui/app.py)
    from console.models import Check, State

REPEAT = 30.0
GAP = 5.0
LONG_ACTION = 10.0  # seconds an action must run before its end is worth a signal
MAX_TEXT = 160


class Terminal(Protocol):
    """What a signal is written to: the app's bell and its driver's raw output."""

    def bell(self) -> None: ...

    def write_raw(self, text: str) -> None: ...


class Attention:
    """Says `need(what)` with the configured signals, unless the window is in front or it was said just now."""

    def __init__(
        self, terminal: Terminal, signals: Sequence[str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.terminal = terminal
        self.signals = tuple(signals)
        self.clock = clock
        self.in_front: bool | None = None  # None: the terminal has not said (it may not report focus)
        self._said: dict[str, float] = {}
        self._last = float("-inf")

    def need(self, what: str) -> bool:
        """Signal that `what` needs the operator; whether a signal was given."""
        now = self.clock()
        if not self.signals or self.in_front or now - self._last < GAP or now - self._said.get(what, -REPEAT) < REPEAT:
            return False
        self._said[what] = self._last = now
        text = make_safe(" ".join(what.split()))[:MAX_TEXT]
        for signal in self.signals:
            if signal == "bell":
                self.terminal.bell()
            elif signal == "osc9":
                self.terminal.write_raw(f"\x1b]9;incident-console: {text}\x07")
            elif signal == "osc777":
                self.terminal.write_raw(f"\x1b]777;notify;incident-console;{text}\x07")
        return True

    def checks_changed(self, changed: Sequence[tuple[Check, State | None]]) -> None:
        """A check that has just become CRIT or DOWN (not one first seen so: the console just started)."""
        from console.models import State  # imported by then: the checks are its

        worse = [c for c, before in changed if c.state in (State.CRIT, State.DOWN) and before not in (None, c.state)]
        if worse:
            names = ", ".join(f"{c.key} {c.state.value.upper()}" for c in worse[:3])
            self.need(names + (f" and {len(worse) - 3} more" if len(worse) > 3 else ""))
