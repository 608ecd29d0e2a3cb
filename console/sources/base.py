"""The source protocol and the one registry table: config section -> source builder, reach check, pane, status.

Adding a source is: a source module with a `build(config, clock, feeds)` function, a model with `checks()` and a
`feed_key`, a widget with `update_model(model)`, and one row in `REGISTRY`. The feeds, `status`, `check` and the
dashboard's panes are all driven by this table. Builders, reach checks and widgets are named as "module:attribute"
strings and imported only for sections the config has, so an unconfigured driver or widget is never imported.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from console.clock import Clock
from console.config import Config


class Source(Protocol):
    """A polled feed: `poll()` returns a model with `checks()` and never raises for a target that is down."""

    key: str
    interval: float
    timeout: float

    async def poll(self) -> Any: ...


class StreamSource(Protocol):
    """A streamed feed (logs): batches of lines from `stream()`, and a `stats()` model with `checks()`."""

    def stream(self) -> AsyncIterator[list[Any]]: ...

    def stats(self) -> Any: ...


@dataclass(frozen=True)
class Feed:
    """A `Source` made of a key, an interval, a timeout and a poll coroutine (one per target)."""

    key: str
    interval: float
    timeout: float
    poll: Callable[[], Awaitable[Any]]


@dataclass
class Feeds:
    """Every source built from a config: polled ones, streamed ones, and what must be closed on exit."""

    polled: list[Source] = field(default_factory=list)
    streams: list[StreamSource] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    http_client: Any = None  # shared by the HTTP sources (console.sources.http.shared_client)

    async def aclose(self) -> None:
        for close in self.closers:
            try:
                await close()
            except Exception:  # closing is best effort on the way out
                pass


@dataclass(frozen=True)
class PaneSpec:
    """The dashboard pane of a section: its title, its widget ("module:Class") and the widget's arguments."""

    title: str
    widget: str
    arguments: Callable[[Config], dict[str, Any]] = lambda config: {}
    shown: Callable[[Config], bool] = lambda config: True  # a tiles section may have a pane for some configs


@dataclass(frozen=True)
class SourceKind:
    """One row of the registry: a config section and everything the console does with it."""

    section: str
    configured: Callable[[Config], bool]
    build: str  # "module:function" taking (config, clock, feeds) and adding its sources to feeds
    reach: str  # "module:function" taking config and returning reach coroutines for `check`
    pane: PaneSpec | None = None  # None: shown as tiles in the health grid, or not shown
    in_status: bool = True  # `status` polls it once (streams cannot be polled once)
    tiles: bool = False  # its checks are health-grid tiles


def _has(section: str) -> Callable[[Config], bool]:
    return lambda config: bool(getattr(config, section))


REGISTRY: tuple[SourceKind, ...] = (
    SourceKind(
        "health", _has("health"), "console.sources.health:build", "console.sources.reach:health", tiles=True
    ),
    SourceKind(
        "metric",
        _has("metric"),
        "console.sources.metrics:build",
        "console.sources.reach:metric",
        PaneSpec(
            "Top",
            "widgets.top_table:TopTables",
            lambda config: {"names": [t.name for t in config.metric if t.kind == "top"]},
            shown=lambda config: any(t.kind == "top" for t in config.metric),
        ),
        tiles=True,
    ),
    SourceKind(
        "logs",
        _has("logs"),
        "console.sources.logs:build",
        "console.sources.reach:logs",
        PaneSpec(
            "Logs",
            "widgets.log_pane:LogPane",
            lambda config: {
                "sources": [log.name for log in config.logs],
                "max_lines": sum(log.max_lines for log in config.logs),
            },
        ),
        in_status=False,
    ),
    SourceKind(
        "postgres",
        lambda config: config.postgres is not None,
        "console.sources.postgres:build",
        "console.sources.reach:postgres",
        PaneSpec("PostgreSQL", "widgets.postgres_pane:PostgresPane"),
    ),
    SourceKind(
        "redis",
        lambda config: config.redis is not None,
        "console.sources.redis:build",
        "console.sources.reach:redis",
        PaneSpec("Redis", "widgets.redis_pane:RedisPane"),
    ),
    SourceKind(
        "alertmanager",
        lambda config: config.alertmanager is not None,
        "console.sources.alertmanager:build",
        "console.sources.reach:alertmanager",
        PaneSpec("Alerts", "widgets.alerts_pane:AlertsPane"),
    ),
)


def resolve(reference: str) -> Any:
    """The attribute a "module:attribute" string names (imports the module)."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def configured(config: Config) -> list[SourceKind]:
    """The registry rows this config has sections for, in registry order."""
    return [kind for kind in REGISTRY if kind.configured(config)]


def build_feeds(config: Config, clock: Clock, *, status_only: bool = False) -> Feeds:
    """Every source of the configured sections (only those `status` polls, with `status_only`)."""
    feeds = Feeds()
    for kind in configured(config):
        if kind.in_status or not status_only:
            resolve(kind.build)(config, clock, feeds)
    return feeds


PollError = Callable[[str, Exception], None]


async def poll_once(source: Source, on_error: PollError | None = None) -> Any | None:
    """One poll under the source's timeout; None if its driver got stuck past it, or raised (a fault of the console,
    not of the target, which sources report as a model: `on_error` hears it with the feed's key). Never raises, so
    one feed cannot stop the others polled with it."""
    try:
        async with asyncio.timeout(source.timeout):
            return await source.poll()
    except TimeoutError:
        return None
    except Exception as exc:
        if on_error is not None:
            on_error(source.key, exc)
        return None
