"""The `changes` feed: every source read on its own interval, new changes journaled, suspects ranked on every poll.

The feed polls at `[console] refresh` so the suspects follow the live state (a check going bad moves the onset at
once); a source is read only when its `interval` has passed since its last read, each under its own `timeout`, side
by side. A source that fails keeps its last changes and is named in the ledger's `errors` with the reason. With a
journal, the built-in sources join the configured ones (console.changes.builtins), and each change newer than its
source's `horizon` is journaled once (`change`, deduplicated by source and id: console.changes.journaled).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from console.changes import readers
from console.changes.builtins import builtins
from console.changes.journaled import JournalFollower
from console.changes.model import FEED, Change, ChangeLedger
from console.changes.readers import Reader
from console.changes.suspects import against
from console.clock import Clock
from console.config import Config
from console.config.changes import GitChanges, HttpChanges
from console.http import HttpClient
from console.journal import Journal, JournalError, default_journal_path
from console.live import LiveState
from console.proc import DEATH_WAIT
from console.redact import Redactor
from console.sources.base import Feeds
from console.sources.http import shared_client
from console.sources.reach import Reach

GRACE = readers.KILL_GRACE + DEATH_WAIT  # past a source's timeout: a program's group is killed and reaped in this


class Ledger:
    """The feed (a `Source`): `poll()` returns a `ChangeLedger` and never raises for a source that fails."""

    key = FEED

    def __init__(
        self,
        sources: list[Reader],
        clock: Clock,
        *,
        refresh: float,
        live: LiveState | None = None,
        follower: JournalFollower | None = None,
        redactor: Redactor | None = None,
        services: dict[str, str] | None = None,
    ) -> None:
        self.sources = sources
        self.clock = clock
        self.live = live
        self.follower = follower
        self.interval = refresh
        self.timeout = max((s.timeout for s in sources), default=0.0) + GRACE + 1.0
        self.redactor = redactor or Redactor()
        self.services = services or {}  # a check's key -> the service its target names
        self._due: dict[str, datetime] = {}  # by the console's clock, which tests move
        self._changes: dict[str, list[Change]] = {}
        self._errors: dict[str, str] = {}

    async def poll(self) -> ChangeLedger:
        if self.follower is not None:
            try:
                await asyncio.to_thread(self.follower.catch_up)
            except JournalError as exc:
                self._errors["journal"] = self.redactor.text(str(exc))
        now = self.clock.now()
        due = [s for s in self.sources if s.name not in self._due or now >= self._due[s.name]]
        for source in due:
            self._due[source.name] = now + timedelta(seconds=source.interval)
        await asyncio.gather(*(self._read(source) for source in due))
        return self.ledger()

    def ledger(self) -> ChangeLedger:
        """What was last read, ranked against the live state's onset now."""
        changes = sorted(
            (change for found in self._changes.values() for change in found), key=lambda c: c.when, reverse=True
        )
        return against(ChangeLedger(tuple(changes), tuple(sorted(self._errors.items()))), self.live, self.services)

    async def _read(self, source: Reader) -> None:
        try:
            async with asyncio.timeout(source.timeout + GRACE):
                changes, problem = await source.read()
            if self.follower is not None:
                await self._journal(source, changes)
        except readers.ReadError as exc:
            self._errors[source.name] = self.redactor.text(str(exc))
            return
        except JournalError as exc:
            self._errors[source.name] = self.redactor.text(f"not journaled: {exc}")
            return
        except TimeoutError:
            self._errors[source.name] = f"no answer within {source.timeout + GRACE:g}s"
            return
        self._changes[source.name] = changes
        if problem is None:
            self._errors.pop(source.name, None)
        else:
            self._errors[source.name] = self.redactor.text(problem)

    async def _journal(self, source: Reader, changes: list[Change]) -> None:
        """Journal the changes newer than the source's horizon that no console journaled yet."""
        assert self.follower is not None
        since = self.clock.now() - timedelta(seconds=source.horizon)
        new = [c for c in changes if c.when >= since and not self.follower.seen(c)]
        if new:
            await asyncio.to_thread(self.follower.record, new)


def config_readers(config: Config, client: HttpClient | None) -> list[Reader]:
    """A reader per `[[changes]]` source."""
    found: list[Reader] = []
    for settings in config.changes:
        read: Callable[[], Awaitable[tuple[list[Change], str | None]]]
        if isinstance(settings, GitChanges):
            read = partial(readers.read_git, settings)
        elif isinstance(settings, HttpChanges):
            if client is None:
                raise ValueError("an http [[changes]] source reads through the caller's HTTP client; none was given")
            read = partial(readers.read_http, client, settings)
        else:
            read = partial(readers.read_command, settings, config.base_dir)
        found.append(Reader(settings.name, read, settings.interval, settings.timeout, settings.horizon))
    return found


def journal_of(config: Config) -> Journal:
    path = (config.console.journal or default_journal_path()).expanduser()
    return Journal(path, environment=config.console.environment, redactor=Redactor(config.secrets))


def ledger_for(
    config: Config, clock: Clock, client: HttpClient | None, live: LiveState | None, *, writes: bool = True
) -> Ledger:
    """The ledger of a config: its `[[changes]]` sources, the built-in ones and its journal (`writes` False: new
    changes and baselines are kept in memory, not journaled)."""
    follower = JournalFollower(journal_of(config), clock, writes=writes)
    sources = config_readers(config, client) + builtins(config, follower, clock)
    redactor = Redactor(config.secrets)
    services = {
        f"{section}:{target.name}": target.service
        for section, targets in (("health", config.health), ("metric", config.metric))
        for target in targets
        if target.service
    }
    return Ledger(
        sources,
        clock,
        refresh=config.console.refresh,
        live=live,
        follower=follower,
        redactor=redactor,
        services=services,
    )


async def read_once(config: Config, clock: Clock, live: LiveState) -> None:
    """The headless commands' ledger (`changes`, `triage`): every source read once under its timeout, ranked against
    `live` (polled, with its incident) as the `changes` feed ranks on the screen, and put into `live` so `changes.*`
    conditions read it. Nothing is journaled. No `[[changes]]` source, no ledger: as on the screen."""
    if not config.changes:
        return
    client = HttpClient(ca_file=config.console.ca_file, proxy=config.console.proxy)
    try:
        live.update([await ledger_for(config, clock, client, live, writes=False).poll()])
    finally:
        await client.aclose()


def build(config: Config, clock: Clock, feeds: Feeds) -> None:
    """The one `changes` feed; its HTTP sources share the feeds' keep-alive client (on the wall it journals nothing:
    the operators' consoles do)."""
    client = shared_client(feeds, config.console) if any(isinstance(s, HttpChanges) for s in config.changes) else None
    feeds.polled.append(ledger_for(config, clock, client, feeds.live, writes=feeds.journals))


def reach(config: Config) -> list[Awaitable[Reach]]:
    """`check`: read every `[[changes]]` source once and say how many changes it listed, or why it could not."""
    return [_reach(config, index) for index in range(len(config.changes))]


async def _reach(config: Config, index: int) -> Reach:
    client = HttpClient(ca_file=config.console.ca_file, proxy=config.console.proxy)
    source = config_readers(config, client)[index]
    ledger = Ledger([source], Clock(), refresh=config.console.refresh, redactor=Redactor(config.secrets))
    try:
        await ledger.poll()
    finally:
        await client.aclose()
    error = dict(ledger.ledger().errors).get(source.name)
    if error is not None:
        return Reach("changes", source.name, False, error)
    found = len(ledger.ledger().changes)
    return Reach("changes", source.name, True, f"{found} change{'' if found == 1 else 's'} read")
