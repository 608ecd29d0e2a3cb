"""The feeds while the console runs. The polled ones start before the dashboard mounts, so their first answers arrive
while it does; a batch waits until the dashboard is on screen (`shown`), goes into the live state (whose listeners
render it), then to `on_changes` (the app's: attention, the journal). The logs are followed once the dashboard is up.
A poll that raises (a fault of the console, not of the target) is said once per feed and error, and journaled,
while the other feeds of its interval go on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from console.journal import Journal, JournalError
from console.live import CheckChange, LiveState
from console.tui.controllers import TextualApp

if TYPE_CHECKING:
    from console.clock import Clock
    from console.config import Config
    from console.sources.base import Feeds, StreamSource
    from widgets.log_pane import LogPane


class FeedControl:
    """Starts the feeds and delivers what they read; `feeds` are built from the config unless given."""

    def __init__(
        self,
        app: TextualApp,
        config: Config,
        clock: Clock,
        live: LiveState,
        journal: Journal,
        on_changes: Callable[[list[CheckChange]], Awaitable[None]],
        *,
        wall: bool,
    ) -> None:
        self.app = app
        self.config = config
        self.clock = clock
        self.live = live
        self.journal = journal
        self.on_changes = on_changes
        self.wall = wall
        self.shown = asyncio.Event()  # the dashboard (or the wall) is on screen: batches wait for it
        self.first_data = asyncio.Event()  # the first polled batch is in the live state
        self._failures: set[str] = set()  # each said once

    def start_polls(self, feeds: Feeds | None) -> Feeds:
        """Poll `feeds` (built from the config if None), each interval's group in a worker; returns them."""
        # Imported here on purpose: building feeds imports the drivers, which the shell's paint does not wait for.
        from console.polling import groups as poll_groups
        from console.sources.base import build_feeds

        if feeds is None:
            feeds = build_feeds(self.config, self.clock, wall=self.wall, live=self.live)
        for group in poll_groups(feeds.polled, self.deliver, self.poll_failed):
            self.app.run_worker(group.run(), name=f"poll every {group.interval:g}s", group="feeds", exit_on_error=False)
        return feeds

    async def until_first_data(self, feeds: Feeds, most: float) -> None:
        """Until the first polled batch is in the live state (at once without polled feeds), at most `most` s."""
        if feeds.polled:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(most):
                    await self.first_data.wait()

    def follow_logs(self, streams: list[StreamSource], pane: Callable[[], LogPane]) -> None:
        """Each log stream into the log pane, and their counts into the live state every refresh."""
        for source in streams:
            # every stream is a log source (console/sources/logs), named by its settings; the StreamSource protocol
            # (console/sources/base.py) names only stream() and stats(), so the type does not know `settings`
            name = f"log {source.settings.name}"  # type: ignore[attr-defined]
            self.app.run_worker(self._follow(source, pane), name=name, group="logs", exit_on_error=False)
        if streams:
            self.app.set_interval(self.config.console.refresh, partial(self._log_stats, streams))

    async def deliver(self, models: list[Any]) -> None:
        """A batch of models into the live state, once the dashboard is on screen, then its changes on."""
        await self.shown.wait()
        changes = self.live.update(models)
        self.first_data.set()
        await self.on_changes(changes)

    def poll_failed(self, key: str, error: Exception) -> None:
        text = f"polling {key} failed: {type(error).__name__}: {error}"
        if text in self._failures:
            return
        self._failures.add(text)
        self.app.notify(text, severity="error", timeout=30, markup=False)

        async def journal() -> None:
            with contextlib.suppress(JournalError):  # the notification above is all that can be done
                await asyncio.to_thread(self.journal.append, "console.error", {"feed": key, "error": text})

        # a coroutine function, not a coroutine: one made but never started (the app exits first) warns on exit
        self.app.run_worker(journal, group="journal", exit_on_error=False)

    async def _follow(self, source: StreamSource, pane: Callable[[], LogPane]) -> None:
        log_pane = pane()
        async for batch in source.stream():
            log_pane.append(batch)

    async def _log_stats(self, streams: list[StreamSource]) -> None:
        await self.deliver([source.stats() for source in streams])
