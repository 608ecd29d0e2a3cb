"""Journals state transitions (ok -> crit, crit -> ok, an error spike) as `observation` entries, once per change."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from console.journal import Journal, JournalError
from console.live import CheckChange
from console.models import State

log = logging.getLogger(__name__)


class Observer:
    """Remembers the last state of every (source, target) and journals each change.

    A target first seen healthy is not journaled; one first seen unhealthy is (that is news).
    A journal failure is logged and never stops monitoring.
    """

    def __init__(self, journal: Journal | None) -> None:
        self.journal = journal
        self.last: dict[tuple[str, str], State] = {}

    def change(self, source: str, target: str, state: State) -> State | None:
        """The previous state if this is a change worth journaling, else None (and remembers `state`)."""
        key = (source, target)
        before = self.last.get(key)
        self.last[key] = state
        if state is State.UNKNOWN or before == state or (before is None and state is State.OK):
            return None
        return before or State.UNKNOWN

    async def record(self, changes: list[CheckChange]) -> list[dict]:
        """Journal the changes a live-state update reported; returns the entries written."""
        entries = [await self.see(c.check.source, c.check.name, c.check.state, c.check.reason) for c in changes]
        return [entry for entry in entries if entry]

    async def see(self, source: str, target: str, state: State, reason: str = "", **data: Any) -> dict | None:
        """Record the state of a target; journal an `observation` if it changed. Returns the entry or None."""
        before = self.change(source, target, state)
        if before is None or self.journal is None:
            return None
        payload = {
            "source": source,
            "name": target,
            "state": state.value,
            "from": before.value,
            "reason": reason,
            **data,
        }
        try:
            return await asyncio.to_thread(self.journal.append, "observation", payload)
        except JournalError as exc:
            log.warning("observation not journaled: %s", exc)
            return None
