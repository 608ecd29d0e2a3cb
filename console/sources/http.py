"""The shared HTTP client, a capped GET that never raises, and the base of the HTTP polling sources."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from console.clock import Clock
from console.models import State, format_duration
from console.models.health import HISTORY, MAX_BODY, HttpResult
from console.redact import Redactor
from console.sources.base import Feed, Feeds
from console.sources.http_client import HttpClient, HttpError, TooManyRedirects

MAX_REDIRECTS = 5
USER_AGENT = "incident-console"


def make_client() -> HttpClient:
    """One keep-alive client for every HTTP target: bounded redirects, timeouts left to the caller.

    Close it with `await client.aclose()` when the app or command ends.
    """
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.5"}
    return HttpClient(headers, max_redirects=MAX_REDIRECTS)


async def fetch(
    client: HttpClient,
    url: str,
    timeout: float,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    content: str | None = None,
    json: Any = None,
) -> HttpResult:
    """Request `url` (GET unless told) within `timeout` seconds (connect, redirects and body included); failures
    become words. `content` is sent as it is, `json` encoded as JSON; a body over MAX_BODY is not kept."""
    started = time.perf_counter()
    request = {"headers": headers, "content": content, "json": json, "limit": MAX_BODY}
    try:
        async with asyncio.timeout(timeout):
            response = await client.request(method, url, **request)
    except TimeoutError:
        return HttpResult(error=f"timeout after {format_duration(timeout)}")
    except TooManyRedirects:
        return HttpResult(error=f"redirect loop (over {MAX_REDIRECTS} redirects)")
    except Exception as exc:  # a source never raises: every failure becomes a reason
        return HttpResult(error=describe_error(exc))
    latency_ms = (time.perf_counter() - started) * 1000
    return HttpResult(
        status_code=response.status_code, latency_ms=latency_ms, body=response.body, oversize=response.oversize
    )


def describe_error(exc: BaseException) -> str:
    """A failed request in words: connection refused, DNS lookup failed, TLS error: ..., connection reset."""
    import socket
    import ssl

    for cause in _chain(exc):
        if isinstance(cause, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS error: {cause.verify_message or 'certificate verify failed'}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {(cause.reason or str(cause)).lower().replace('_', ' ')}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
    if isinstance(exc, HttpError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        stack.extend(getattr(current, "exceptions", ()))


class _Target(Protocol):
    name: str
    url: str
    timeout: float
    interval: float | None

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

    @property
    def names(self) -> list[str]:
        return list(self.targets)

    def interval(self, name: str, default: float) -> float:
        """The target's own interval, else `default` (the `[console].refresh`)."""
        return self.targets[name].interval or default

    async def poll_one(self, name: str) -> S:
        """Fetch and judge one target (KeyError for an unknown name); never raises for network trouble."""
        target = self.targets[name]
        result = await fetch(self.client, self._url(target), target.timeout, **target.request())
        previous = getattr(self.last.get(name), "state", None)
        snapshot = self._snapshot(target, result, self._history[name], previous)
        self.last[name] = snapshot
        return snapshot

    async def poll(self) -> list[S]:
        """All targets concurrently, in config order."""
        return list(await asyncio.gather(*(self.poll_one(name) for name in self.targets)))

    def _url(self, target: T) -> str:
        """Where the target's reading is fetched from."""
        return target.url

    @abstractmethod
    def _snapshot(self, target: T, result: HttpResult, history: deque[float], previous: State | None) -> S:
        """Judge one result into the source's snapshot type, appending to `history` what the sparkline shows."""


def shared_client(feeds: Feeds) -> HttpClient:
    """The one keep-alive client that the health and metric sources of `feeds` share (made on first use)."""
    if feeds.http_client is None:
        feeds.http_client = make_client()
        feeds.closers.append(feeds.http_client.aclose)
    return feeds.http_client


def add_targets(feeds: Feeds, source: HttpPollingSource, refresh: float) -> None:
    """One feed per target of an HTTP source, each on its own interval with its own timeout."""
    for name, target in source.targets.items():
        feeds.polled.append(
            Feed(
                f"{source.section}:{name}",
                source.interval(name, refresh),
                target.timeout + 1,
                partial(source.poll_one, name),
            )
        )
