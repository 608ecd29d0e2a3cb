"""The base of the HTTP polling sources and the one client they share (the HTTP layer is `console.http`)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from console.clock import Clock
from console.config import ConsoleSettings
from console.http import HttpClient, fetch
from console.models import State
from console.models.health import HISTORY, HttpResult
from console.redact import Redactor
from console.sources.base import Feed, Feeds


class _Target(Protocol):
    name: str
    timeout: float
    interval: float | None

    @property
    def url(self) -> str | None: ...  # None: a subclass says where (a metric's PromQL query goes to [prometheus])

    def request(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=_Target)
S = TypeVar("S")


class HttpPollingSource(ABC, Generic[T, S]):
    """Polls named HTTP targets; keeps each target's short history and last snapshot (not the widgets).

    Run `poll_one(name)` per target on its own interval (see `interval(name, default)`), or `poll()` for one
    concurrent round of all targets; every request is bounded by its target's own timeout.
    """

    section = ""  # the config section, which is also the feed key prefix: "health", "metric"

    def __init__(
        self,
        targets: Iterable[T],
        client: HttpClient,
        clock: Clock | None = None,
        redactor: Redactor | None = None,
        history: int = HISTORY,
    ) -> None:
        self.targets: dict[str, T] = {t.name: t for t in targets}
        self.client = client
        self.clock = clock or Clock()
        self.redactor = redactor or Redactor()
        self.last: dict[str, S] = {}
        self._history: dict[str, deque[float]] = {name: deque(maxlen=history) for name in self.targets}
        self._shown_urls: dict[str, str] = {}

    @property
    def names(self) -> list[str]:
        return list(self.targets)

    def interval(self, name: str, default: float) -> float:
        """The target's own interval, else `default` (the `[console].refresh`)."""
        return self.targets[name].interval or default

    async def poll_one(self, name: str) -> S:
        """Fetch and judge one target (KeyError for an unknown name); never raises for network trouble."""
        target = self.targets[name]
        result = await fetch(self.client, self._url(target), target.timeout, **self._request(target))
        previous = getattr(self.last.get(name), "state", None)
        snapshot = self._snapshot(target, result, self._history[name], previous)
        self.last[name] = snapshot
        return snapshot

    async def poll(self) -> list[S]:
        """All targets concurrently, in config order."""
        return list(await asyncio.gather(*(self.poll_one(name) for name in self.targets)))

    def _url(self, target: T) -> str:
        """Where the target's reading is fetched from."""
        assert target.url is not None  # the config gives an HTTP target without a URL only a query (MetricSource)
        return target.url

    def _shown_url(self, target: T) -> str:
        """The target's URL redacted, once per target: the URL and the secrets are fixed once the config is read."""
        shown = self._shown_urls.get(target.name)
        if shown is None:
            shown = self._shown_urls[target.name] = self.redactor.text(self._url(target))
        return shown

    def _request(self, target: T) -> dict[str, Any]:
        """How it is fetched: `fetch`'s keyword arguments."""
        return target.request()

    @abstractmethod
    def _snapshot(self, target: T, result: HttpResult, history: deque[float], previous: State | None) -> S:
        """Judge one result into the source's snapshot type, appending to `history` what the sparkline shows."""


def shared_client(feeds: Feeds, settings: ConsoleSettings) -> HttpClient:
    """The one keep-alive client that the HTTP sources of `feeds` share (made on first use), trusting and proxying
    as `[console]` says unless a target says otherwise."""
    if feeds.http_client is None:
        feeds.http_client = HttpClient(ca_file=settings.ca_file, proxy=settings.proxy)
        feeds.closers.append(feeds.http_client.aclose)
    return feeds.http_client


def add_targets(feeds: Feeds, source: HttpPollingSource, refresh: float) -> None:
    """One feed per target of an HTTP source, each on its own interval; its timeout is the request's own (`fetch`
    bounds connect, redirects and body, and judging the answer does not wait), so the feed adds none."""
    for name in source.targets:
        feeds.polled.append(
            # until console/sources/base.py (the registry rework) lets a Feed be a Source: frozen, poll awaitable
            Feed(f"{source.section}:{name}", source.interval(name, refresh), None, partial(source.poll_one, name))
        )
