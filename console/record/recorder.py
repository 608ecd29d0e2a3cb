"""The recorder a console or `incident-console record` runs beside its live state: it takes the writer's lock (and
waits as a standby while another process holds it), then writes what the live state sees, one transaction every
`FLUSH` seconds in a thread, and prunes every `PRUNE_EVERY`. It never raises into its host: `state` says what it
does and `on_state` hears each change (a full disk is said, and the next batch tried again).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.config import Config
from console.config.record import RecordSettings
from console.live import CheckChange, LiveState, feed_key
from console.record.codec import Sample
from console.record.store import RecordError, WriterLock
from console.record.writer import Writer
from console.redact import Redactor

FLUSH = 2.0  # seconds between transactions: a kill -9 loses at most this much
PRUNE_EVERY = 60.0
STANDBY_RETRY = 5.0  # how often a standby tries the writer's lock


class Recorder:
    """Records `live` into `path` while `run()` runs (cancel it to stop: what is pending is written first)."""

    def __init__(
        self,
        path: Path,
        settings: RecordSettings,
        live: LiveState,
        redactor: Redactor,
        intervals: dict[str, float],
        default_interval: float,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.settings = settings
        self.live = live
        self.redactor = redactor
        self.intervals = intervals
        self.default_interval = default_interval
        self.state = "starting"
        self.holding = asyncio.Event()  # set once this process is the writer
        self._on_state = on_state
        self._pending: list[Sample] = []
        self._last: dict[str, float] = {}

    def _report(self, state: str) -> None:
        if state != self.state:
            self.state = state
            if self._on_state is not None:
                self._on_state(state)

    async def run(self) -> None:
        """Wait for the writer's lock, then record until cancelled. RecordError when the file cannot be used."""
        lock = WriterLock(self.path)
        writer: Writer | None = None
        unsubscribe: Callable[[], None] | None = None
        try:
            while not await asyncio.to_thread(lock.take):
                holder = lock.holder()
                self._report(f"standby: another process{f' (pid {holder})' if holder else ''} records {self.path}")
                await asyncio.sleep(STANDBY_RETRY)
            writer = await asyncio.to_thread(Writer, self.path, self.settings, self.redactor)
            unsubscribe = self.live.subscribe(self._seen)
            self.holding.set()
            self._report(f"recording to {self.path}")
            pruned_at = 0.0
            while True:
                await asyncio.sleep(FLUSH)
                await self._flush(writer)
                if time.monotonic() - pruned_at >= PRUNE_EVERY:
                    pruned_at = time.monotonic()
                    await asyncio.to_thread(writer.prune, self.live.clock.now().timestamp())
        finally:
            if unsubscribe is not None:
                unsubscribe()
            if writer is not None:
                if self._pending:  # on the way out: this thread, so cancellation cannot cut it short
                    self._write(writer, self._take())
                writer.close()
            lock.release()

    def _seen(self, models: list[Any], changes: list[CheckChange]) -> None:
        """A live-state listener: each model of the batch (with its checks as judged) becomes a pending sample."""
        now = self.live.clock.now().timestamp()
        for model in models:
            feed = feed_key(model)
            if self.settings.interval is not None and now - self._last.get(feed, 0.0) < self.settings.interval:
                continue
            self._last[feed] = now
            judged = [self.live.readings.get(check.key) for check in model.checks()]
            checks = [reading.check for reading in judged if reading is not None]
            interval = max(self.settings.interval or 0.0, self.intervals.get(feed, self.default_interval))
            self._pending.append(Sample(feed, now, interval, model, checks))

    def _take(self) -> list[Sample]:
        batch, self._pending = self._pending, []
        return batch

    async def _flush(self, writer: Writer) -> None:
        if self._pending:
            await asyncio.to_thread(self._write, writer, self._take())

    def _write(self, writer: Writer, batch: list[Sample]) -> None:
        try:
            writer.write(batch)
        except Exception as exc:  # a full disk, a damaged file: said, and the next batch tried
            self._report(f"cannot write {self.path}: {exc}")
        else:
            self._report(f"recording to {self.path}")


def recording_path(config: Config) -> Path:
    """Where the config's environment is recorded (`[record] path`, else the state folder's default)."""
    return (config.record or RecordSettings()).file(config.console.environment, config.base_dir)


def recorder_for(
    config: Config, live: LiveState, intervals: dict[str, float], on_state: Callable[[str], None] | None = None
) -> Recorder:
    """The recorder of a config (its `[record]`, or the defaults) for `live`; `intervals` are the polled feeds' (a
    log's stats come every `[console] refresh`). Secrets are masked as the journal masks them."""
    settings = config.record or RecordSettings()
    redactor = Redactor(config.secrets)
    return Recorder(recording_path(config), settings, live, redactor, intervals, config.console.refresh, on_state)


__all__ = ["RecordError", "Recorder", "recorder_for", "recording_path"]
