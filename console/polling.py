"""Polls feeds that share an interval in step, delivering what finished within a short window as one batch.

One batch means one screen update per tick instead of one per target, which is most of an idle dashboard's CPU.
A slow target never delays the others: whatever is still running when the window closes is delivered on its own
when it finishes, and it is not polled again until then (never two polls of one target at once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import Any

from console.sources.base import PollError, Source, poll_once

BATCH_WINDOW = 0.3

Deliver = Callable[[list[Any]], Coroutine[Any, Any, None]]


class PollGroup:
    """Feeds with one interval, polled together on each tick."""

    def __init__(
        self,
        feeds: Sequence[Source],
        interval: float,
        deliver: Deliver,
        window: float = BATCH_WINDOW,
        on_error: PollError | None = None,
    ) -> None:
        self.feeds = list(feeds)
        self.on_error = on_error
        self.interval = interval
        self.deliver = deliver
        self.window = min(window, interval / 2)
        self._running: dict[str, asyncio.Task] = {}

    async def run(self) -> None:
        try:
            while True:
                started = time.monotonic()
                fresh = [f for f in self.feeds if f.key not in self._running]
                tasks = {f.key: asyncio.create_task(poll_once(f, self.on_error)) for f in fresh}
                self._running.update(tasks)
                done, _ = await asyncio.wait(tasks.values(), timeout=self.window) if tasks else (set(), set())
                batch = [t.result() for t in done if t.result() is not None]
                for key, task in tasks.items():
                    if task in done:
                        del self._running[key]
                    else:
                        task.add_done_callback(partial(self._late, key))
                if batch:
                    await self.deliver(batch)
                await asyncio.sleep(max(0.05, self.interval - (time.monotonic() - started)))
        finally:
            for task in self._running.values():
                task.cancel()

    def _late(self, key: str, task: asyncio.Task) -> None:
        self._running.pop(key, None)
        if not task.cancelled() and task.result() is not None:
            asyncio.get_running_loop().create_task(self.deliver([task.result()]))


def groups(feeds: Sequence[Source], deliver: Deliver, on_error: PollError | None = None) -> list[PollGroup]:
    by_interval: dict[float, list[Source]] = {}
    for feed in feeds:
        by_interval.setdefault(feed.interval, []).append(feed)
    return [
        PollGroup(members, interval, deliver, on_error=on_error) for interval, members in by_interval.items()
    ]
