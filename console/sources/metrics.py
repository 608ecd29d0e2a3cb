"""`[[metric]]` targets: a number (or a `top` list) read from a JSON endpoint, the first sample of a PromQL instant
query sent to `[prometheus]` (`/api/v1/query`), with `command` a program's stdout (console.sources.command_metric), or
with `redis_keys` a count of keys in `[redis]` (console.sources.redis_keys); the model layer judges what was read."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import urlencode

from console.clock import Clock
from console.config import Config, MetricTarget, PrometheusSettings
from console.http import HttpClient
from console.models import State
from console.models.health import HttpResult, MetricSnapshot, http_fault, judge_promql, judge_value
from console.models.top import TopSnapshot, judge_top
from console.redact import Redactor
from console.sources.base import Feeds
from console.sources.http import HttpPollingSource, add_targets, shared_client

Reading = MetricSnapshot | TopSnapshot


class _Judge(Protocol):
    clock: Clock
    redactor: Redactor


def reading(
    source: _Judge, target: MetricTarget, data: bytes, history: deque[float], previous: State | None
) -> Reading:
    """What a URL answered or a command printed, read and judged as the target says."""
    if target.kind == "top":
        state, reason, rows, total = judge_top(data, target.path, target.columns or [], target.sort, target.limit)
        return TopSnapshot(
            name=target.name,
            state=state,
            reason=source.redactor.text(reason),
            columns=target.columns or [],
            rows=[[source.redactor.text(cell) for cell in row] for row in rows],
            total=total,
            taken_at=source.clock.now(),
            previous=previous,
        )
    state, reason, value = judge_value(
        data,
        path=target.path,
        pattern=target.pattern,
        unit=target.unit,
        warn=target.warn,
        crit=target.crit,
        below=target.below,
    )
    if value is not None:
        history.append(value)
    return _value(source, target, state, reason, value, history, previous)


def fault(
    source: _Judge, target: MetricTarget, state: State, reason: str, history: deque[float], previous: State | None
) -> Reading:
    """Nothing to read (down, timed out, failed, printed nothing): the reason in words."""
    if target.kind == "top":
        return TopSnapshot(
            name=target.name,
            state=state,
            reason=source.redactor.text(reason),
            columns=target.columns or [],
            taken_at=source.clock.now(),
            previous=previous,
        )
    return _value(source, target, state, reason, None, history, previous)


def _value(
    source: _Judge,
    target: MetricTarget,
    state: State,
    reason: str,
    value: float | None,
    history: deque[float],
    previous: State | None,
) -> MetricSnapshot:
    return MetricSnapshot(
        name=target.name,
        state=state,
        reason=source.redactor.text(reason),
        value=value,
        unit=target.unit,
        warn=target.warn,
        crit=target.crit,
        below=target.below,
        taken_at=source.clock.now(),
        history=list(history),
        previous=previous,
    )


class MetricSource(HttpPollingSource[MetricTarget, Reading]):
    """Polls JSON metric endpoints; `history` in each snapshot holds the recent values read."""

    section = "metric"

    def __init__(
        self,
        targets: Iterable[MetricTarget],
        client: HttpClient,
        clock: Clock | None = None,
        redactor: Redactor | None = None,
        *,
        prometheus: PrometheusSettings | None = None,
    ) -> None:
        super().__init__(targets, client, clock, redactor)
        self.prometheus = prometheus

    def _url(self, target: MetricTarget) -> str:
        if target.promql is None:
            return super()._url(target)
        assert self.prometheus is not None  # the config refuses a promql metric without [prometheus]
        return f"{self.prometheus.url.rstrip('/')}/api/v1/query?{urlencode({'query': target.promql})}"

    def _request(self, target: MetricTarget) -> dict[str, Any]:
        if target.promql is None or self.prometheus is None:
            return super()._request(target)
        return self.prometheus.route()  # a query is a GET to [prometheus], through its CA file and proxy

    def _snapshot(
        self, target: MetricTarget, result: HttpResult, history: deque[float], previous: State | None
    ) -> Reading:
        if target.promql is not None:
            state, reason, value = judge_promql(
                result, warn=target.warn, crit=target.crit, below=target.below, unit=target.unit
            )
            if value is not None:
                history.append(value)
            return _value(self, target, state, reason, value, history, previous)
        if (problem := http_fault(result)) is not None:
            return fault(self, target, *problem, history, previous)
        return reading(self, target, result.body, history, previous)


def build(config: Config, clock: Clock, feeds: Feeds) -> None:
    """A feed per `[[metric]]` target: URLs share the HTTP client, commands run on their own, key counts share one
    connection to `[redis]`."""
    from console.sources.command_metric import CommandMetricSource

    redactor = Redactor(config.secrets)
    urls = [t for t in config.metric if t.command is None and t.redis_keys is None]  # a URL or a PromQL query
    commands = [t for t in config.metric if t.command is not None]
    counts = [t for t in config.metric if t.redis_keys is not None]
    if counts and config.redis is not None:  # the config refuses redis_keys without [redis]
        from console.sources.redis_keys import RedisKeysSource

        RedisKeysSource(counts, config.redis, clock, redactor).add_to(feeds, config.console.refresh)
    if urls:
        client = shared_client(feeds, config.console)
        source = MetricSource(urls, client, clock, redactor, prometheus=config.prometheus)
        add_targets(feeds, source, config.console.refresh)
    if commands:
        CommandMetricSource(commands, config.base_dir, clock, redactor).add_to(feeds, config.console.refresh)
