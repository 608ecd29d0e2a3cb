"""Connects `[record]` to the app: the console records what its live state sees (console/record/), unless another
process (a console, `incident-console record`) already records the environment's file, in which case it waits as a
standby and takes over when that one stops. Nothing at all without `[record]`."""

from __future__ import annotations

from typing import Any

from console.config import Config
from console.live import LiveState
from console.tui.controllers import TextualApp


class RecordControl:
    """Runs the recorder while the app runs; `state` is what it says it does (`recording to …`, `standby: …`)."""

    def __init__(self, app: TextualApp, config: Config, live: LiveState) -> None:
        self.app = app
        self.config = config
        self.live = live
        self.state = ""

    def start(self, feeds: Any) -> None:
        """Record beside `feeds` (console.sources.base.Feeds: their poll intervals are each sample's)."""
        if self.config.record is not None:
            intervals = {feed.key: feed.interval for feed in feeds.polled}
            self.app.run_worker(self._run(intervals), name="record", group="record", exit_on_error=False)

    async def _run(self, intervals: dict[str, float]) -> None:
        from console.record.recorder import RecordError, recorder_for

        try:
            await recorder_for(self.config, self.live, intervals, self._said).run()
        except RecordError as exc:  # the file cannot be used: said, and the console goes on without recording
            self._said(f"not recording: {exc}")

    def _said(self, state: str) -> None:
        if state.startswith(("cannot write", "not recording")):
            self.app.notify(f"record: {state}", severity="error", timeout=30, markup=False)
        self.state = state
