"""The `changes` feed: every `[[changes]]` source read on its own interval, the suspects ranked on every poll.

The feed polls at `[console] refresh` so the suspects follow the live state (a check going bad moves the onset at
once); a source is read only when its `interval` has passed since its last read, each under its own `timeout`, side
by side. A source that fails keeps its last changes and is named in the ledger's `errors` with the reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from console.changes import readers
from console.changes.model import FEED, Change, ChangeLedger
from console.changes.suspects import against
from console.clock import Clock
from console.config import Config
from console.config.changes import CommandChanges, GitChanges, HttpChanges
from console.http import HttpClient
from console.live import LiveState
from console.redact import Redactor
from console.sources.base import Feeds
from console.sources.http import shared_client
from console.sources.reach import Reach

Settings = GitChanges | HttpChanges | CommandChanges


class Ledger:
    """The feed (a `Source`): `poll()` returns a `ChangeLedger` and never raises for a source that fails."""

    key = FEED

    def __init__(
        self,
        config: Config,
        clock: Clock,
        live: LiveState | None = None,
        client: HttpClient | None = None,
        sources: list[Settings] | None = None,
        monotonic: Any = time.monotonic,
    ) -> None:
        self.sources: list[Settings] = list(config.changes if sources is None else sources)
        self.base_dir = config.base_dir
        self.clock = clock
        self.live = live
        self.client = client
        self.interval = config.console.refresh
        self.timeout = max((s.timeout for s in self.sources), default=0.0) + 2.0
        self.redactor = Redactor(config.secrets)
        self._monotonic = monotonic
        self._due: dict[str, float] = {}
        self._changes: dict[str, list[Change]] = {}
        self._errors: dict[str, str] = {}

    async def poll(self) -> ChangeLedger:
        now = self._monotonic()
        due = [s for s in self.sources if now >= self._due.get(s.name, 0.0)]
        for settings in due:
            self._due[settings.name] = now + settings.interval
        await asyncio.gather(*(self._read(settings) for settings in due))
        return self.ledger()

    def ledger(self) -> ChangeLedger:
        """What was last read, ranked against the live state's onset now."""
        changes = sorted(
            (change for found in self._changes.values() for change in found), key=lambda c: c.when, reverse=True
        )
        return against(ChangeLedger(tuple(changes), tuple(sorted(self._errors.items()))), self.live)

    async def _read(self, settings: Settings) -> None:
        try:
            async with asyncio.timeout(settings.timeout + 1):
                changes, problem = await self._fetch(settings)
        except readers.ReadError as exc:
            self._errors[settings.name] = self.redactor.text(str(exc))
            return
        except TimeoutError:
            self._errors[settings.name] = f"no answer within {settings.timeout + 1:g}s"
            return
        self._changes[settings.name] = changes
        if problem is None:
            self._errors.pop(settings.name, None)
        else:
            self._errors[settings.name] = self.redactor.text(problem)

    def _fetch(self, settings: Settings) -> Awaitable[tuple[list[Change], str | None]]:
        if isinstance(settings, GitChanges):
            return readers.read_git(settings)
        if isinstance(settings, HttpChanges):
            if self.client is None:
                self.client = HttpClient()
            return readers.read_http(self.client, settings)
        return readers.read_command(settings, self.base_dir)


def build(config: Config, clock: Clock, feeds: Feeds) -> None:
    """The one `changes` feed; its HTTP sources share the feeds' keep-alive client."""
    client = shared_client(feeds, config.console) if any(isinstance(s, HttpChanges) for s in config.changes) else None
    feeds.polled.append(Ledger(config, clock, feeds.live, client))


def reach(config: Config) -> list[Awaitable[Reach]]:
    """`check`: read every source once and say how many changes it listed, or why it could not be read."""
    return [_reach(config, settings) for settings in config.changes]


async def _reach(config: Config, settings: Settings) -> Reach:
    client = HttpClient(ca_file=config.console.ca_file, proxy=config.console.proxy)
    ledger = Ledger(config, Clock(), client=client, sources=[settings])
    try:
        await ledger.poll()
    finally:
        await client.aclose()
    error = dict(ledger.ledger().errors).get(settings.name)
    if error is not None:
        return Reach("changes", settings.name, False, error)
    found = len(ledger.ledger().changes)
    return Reach("changes", settings.name, True, f"{found} change{'' if found == 1 else 's'} read")
