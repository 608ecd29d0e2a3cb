"""Connects `[share]` to the app: mirror this console's journal to the Redis stream, follow every other host's
verified entries into the incident tracker (the timeline, the banner and the wall show them), and say what the
follower notices (a refused entry, a gap, a skewed clock) instead of merging it silently."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Protocol

from console.config import Config
from console.journal import Journal
from console.tui.controllers import TextualApp

if TYPE_CHECKING:
    from console.tui.controllers.incident import IncidentControl


class ShareHost(TextualApp, Protocol):
    """What the controller needs of the app: a Textual app (workers, toasts) with the incident controller."""

    incident: IncidentControl


class ShareControl:
    """Runs the mirror and the follower while the app runs (nothing at all without `[share]`)."""

    def __init__(self, app: ShareHost, config: Config, journal: Journal) -> None:
        self.app = app
        self.config = config
        self.journal = journal
        self.mirror_state = ""

    def start(self) -> None:
        if self.config.share is not None:
            self.app.run_worker(self._run(), name="share", group="share", exit_on_error=False)

    async def _run(self) -> None:
        from console.share import Remote, follow, start_mirror

        assert self.config.share is not None
        host = self.config.share.host or socket.gethostname()
        mirror = start_mirror(self.config, self.journal, host=host, on_state=self._mirror_state)
        tracker = self.app.incident.desk.tracker
        try:
            async for batch in follow(self.config, exclude_host=host):
                remote = [event.entry for event in batch if isinstance(event, Remote)]
                for entry in remote:
                    tracker.add_remote(entry)
                if remote:  # one repaint per read, however many entries it brought
                    await self.app.incident.refresh()
                for event in batch:
                    if not isinstance(event, Remote):
                        self.app.notify(f"share: {event.text}", severity="warning", timeout=15, markup=False)
        finally:
            await mirror.stop()

    def _mirror_state(self, state: str) -> None:
        if state != self.mirror_state and state.startswith("redis down"):
            self.app.notify(f"share: {state}", severity="warning", timeout=10, markup=False)
        self.mirror_state = state
