"""What the app polls and how often: one feed per target, built from the config (no Textual).

A feed is a `poll()` coroutine with an interval and a timeout. The app runs each in its own worker, so a
hanging target never delays another; a failure becomes a DOWN model inside the source, never an exception.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from console.clock import Clock
from console.config import Config
from console.redact import Redactor


@dataclass(frozen=True)
class Feed:
    """One polled target: `poll()` returns a model the dashboard knows how to show."""

    key: str
    interval: float
    timeout: float
    poll: Callable[[], Awaitable[Any]]


@dataclass
class Feeds:
    """Every feed of a config: polled ones, streaming log sources, and what must be closed on exit."""

    polled: list[Feed] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in self.closers:
            try:
                await close()
            except Exception:  # closing is best effort on the way out
                pass


def build_feeds(config: Config, clock: Clock) -> Feeds:
    """Sources for every configured section; drivers are imported only for the sections that exist."""
    feeds = Feeds()
    refresh = config.console.refresh
    if config.health or config.metric:
        from console.sources.health import HealthSource
        from console.sources.http import make_client
        from console.sources.metrics import MetricSource

        client = make_client(len(config.health) + len(config.metric))
        feeds.closers.append(client.aclose)
        redactor = Redactor(config.secrets)
        health = HealthSource(config.health, client, clock, redactor)
        metrics = MetricSource(config.metric, client, clock, redactor)
        for target in config.health:
            feeds.polled.append(
                Feed(
                    f"health:{target.name}",
                    target.interval or refresh,
                    target.timeout + 1,
                    partial(health.poll_one, target.name),
                )
            )
        for target in config.metric:
            feeds.polled.append(
                Feed(
                    f"metric:{target.name}",
                    target.interval or refresh,
                    target.timeout + 1,
                    partial(metrics.poll_one, target.name),
                )
            )
    if config.logs:
        from console.sources.logs import log_source

        feeds.logs = [log_source(settings, config.base_dir, clock) for settings in config.logs]
    if config.postgres is not None:
        from console.sources.postgres import PostgresSource

        postgres = PostgresSource(config.postgres, clock)
        feeds.closers.append(postgres.close)
        feeds.polled.append(Feed("postgres", refresh, config.postgres.statement_timeout * 4 + 5, postgres.poll))
    if config.redis is not None:
        from console.sources.redis import RedisSource

        redis = RedisSource(config.redis, clock)
        feeds.closers.append(redis.close)
        feeds.polled.append(Feed("redis", refresh, config.redis.timeout * 4 + 5, redis.poll))
    return feeds
