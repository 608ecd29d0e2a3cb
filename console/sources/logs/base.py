"""What both log sources share: the parser, the status words, the stats snapshot, slices and stall detection."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from console.clock import Clock
from console.config import LogSettings
from console.models import State, format_duration
from console.models.logs import LogLine, LogStats
from console.sources.logs.parse import LineParser

SLICE = 100  # lines parsed between two returns to the event loop (~0.3 ms: a key never waits long)
BATCH = 500  # lines handed on at once (one append, one message to the view, per few hundred lines)
STALL_AFTER = 10.0
T = TypeVar("T")


class LogSource(ABC):
    """What both sources share: the parser, the status words and the stats snapshot."""

    def __init__(self, settings: LogSettings, clock: Clock | None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.parser = LineParser(settings, self.clock)
        self.status = "starting"
        self.source_state = State.UNKNOWN
        self.exit_code: int | None = None

    @abstractmethod
    def stream(self) -> AsyncIterator[list[LogLine]]:
        """Batches of new lines, forever (cancel the task to stop; files and processes are released)."""

    def stats(self) -> LogStats:
        """Lines read, errors per minute (against the spike threshold) and what the source is doing."""
        return LogStats(
            name=self.settings.name,
            lines=self.parser.seq,
            errors_per_min=self.parser.rate.per_minute(self.clock.now()),
            error_spike_per_min=self.settings.error_spike_per_min,
            status=self.status,
            source_state=self.source_state,
            exit_code=self.exit_code,
        )

    def _set(self, state: State, status: str) -> None:
        self.source_state, self.status = state, status

    async def _batches(self, texts: list[str], *, backlog: bool = False) -> AsyncIterator[list[LogLine]]:
        """Parse in slices, returning to the event loop between them so keys and frames never wait long."""
        batch: list[LogLine] = []
        for start in range(0, len(texts), SLICE):
            if start:
                await asyncio.sleep(0)
            batch += self.parser.parse(texts[start : start + SLICE], backlog=backlog)
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def _in_thread(self, what: str, call: Callable[..., T], *args: Any) -> T:
        """Run blocking I/O in a thread; while it hangs (a stuck NFS mount), say so instead of going quiet."""
        job: asyncio.Future[T] = asyncio.ensure_future(asyncio.to_thread(call, *args))
        before = (self.source_state, self.status)
        while True:
            done, _ = await asyncio.wait({job}, timeout=STALL_AFTER)
            if done:
                if self.status.startswith("stalled"):
                    self._set(*before)
                return job.result()
            self._set(State.DOWN, f"stalled: {what} has not answered for {format_duration(STALL_AFTER)}")
