"""Sustained thresholds: a check's state changes only once its raw state has held for `for` (`clear_for` to clear).

`LiveState.update` passes every check through `Sustain.judge`, so the tiles, `status`, the observer and triage all
see the judged state. A check first seen takes its raw state at once (there is nothing to hold it against). While a
change is pending, the shown state stays the old one and the reason says `CRIT pending 2m/5m`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from console.models import Check, State, format_duration

RUNS = 256  # raw state runs kept per check: enough for a value flapping every poll through a long `for`


@dataclass(frozen=True)
class Hold:
    """How long a worse raw state must hold before it shows (`for_s`), and a better one (`clear_s`)."""

    for_s: float
    clear_s: float


class Sustain:
    """Holds each check key's raw state; rules are keyed by check key (`health:api`) or by source (`postgres`), as
    `console.sources.base.sustain_rules` reads them from a config."""

    def __init__(self, rules: dict[str, Hold] | None = None) -> None:
        self.rules = rules or {}
        self.pending: dict[str, str] = {}  # check key -> `CRIT pending 2m/5m` while a change is held back
        self._runs: dict[str, deque[tuple[datetime, State]]] = {}

    def judge(self, check: Check, shown: State | None, now: datetime) -> Check:
        """The check as it should be shown, given the state shown so far (None when first seen)."""
        hold = self.rules.get(check.key) or self.rules.get(check.source)
        if hold is None:
            return check
        runs = self._runs.setdefault(check.key, deque(maxlen=RUNS))
        if not runs or runs[-1][1] is not check.state:
            runs.append((now, check.state))
        self.pending.pop(check.key, None)
        if shown is None or shown is check.state:
            return check
        worse = check.state.rank > shown.rank
        need = hold.for_s if worse else hold.clear_s
        bound, since = check.state, now
        for start, state in reversed(runs):  # back through the runs that stayed beyond the shown state
            if (state.rank <= shown.rank) if worse else (state.rank >= shown.rank):
                break
            bound = max(bound, state, key=_rank) if not worse else min(bound, state, key=_rank)
            since = start
            if (now - since).total_seconds() >= need:
                return check.model_copy(update={"state": bound})
        held = (now - since).total_seconds()
        pending = f"{check.state.word} pending {_span(held, minutes=need % 60 == 0)}/{_span(need, minutes=False)}"
        self.pending[check.key] = pending
        reason = f"{pending} · {check.reason}" if check.reason else pending
        return check.model_copy(update={"state": shown, "reason": reason})


def _rank(state: State) -> int:
    return state.rank


def _span(seconds: float, *, minutes: bool = True) -> str:
    """`45s`, `5m`, `1m30s`; with `minutes`, a span over a minute is floored to whole minutes (`2m`)."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if minutes or whole % 60 == 0:
        return f"{whole // 60}m"
    return format_duration(whole, compact=True)
