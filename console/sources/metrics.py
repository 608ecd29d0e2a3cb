"""`[[metric]]` readings judged against warn/crit by the model layer: a number at a dotted path of a JSON body, or
the first sample of a PromQL instant query sent to `[prometheus]` (`/api/v1/query`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from console.clock import Clock
from console.config import Config, MetricTarget
from console.models import State
from console.models.health import HttpResult, MetricSnapshot, judge_metric, judge_promql
from console.redact import Redactor
from console.sources.base import Feeds
from console.sources.http import HttpPollingSource, add_targets, shared_client

if TYPE_CHECKING:
    import httpx


class MetricSource(HttpPollingSource[MetricTarget, MetricSnapshot]):
    """Polls JSON metric endpoints; `history` in each snapshot holds the recent values read."""

    section = "metric"

    def __init__(
        self,
        targets: Iterable[MetricTarget],
        client: httpx.AsyncClient,
        clock: Clock | None = None,
        redactor: Redactor | None = None,
        *,
        prometheus: str | None = None,
    ) -> None:
        super().__init__(targets, client, clock, redactor)
        self.prometheus = (prometheus or "").rstrip("/")

    def _url(self, target: MetricTarget) -> str:
        if target.promql is None:
            return super()._url(target)
        return f"{self.prometheus}/api/v1/query?{urlencode({'query': target.promql})}"

    def _snapshot(
        self, target: MetricTarget, result: HttpResult, history: deque[float], previous: State | None
    ) -> MetricSnapshot:
        limits = {"warn": target.warn, "crit": target.crit, "below": target.below, "unit": target.unit}
        if target.promql is None:
            state, reason, value = judge_metric(result, path=target.path or "", **limits)
        else:
            state, reason, value = judge_promql(result, **limits)
        if value is not None:
            history.append(value)
        return MetricSnapshot(
            name=target.name,
            state=state,
            reason=self.redactor.text(reason),
            value=value,
            unit=target.unit,
            warn=target.warn,
            crit=target.crit,
            below=target.below,
            taken_at=self.clock.now(),
            history=list(history),
            previous=previous,
        )


def build(config: Config, clock: Clock, feeds: Feeds) -> None:
    """A feed per `[[metric]]` target, sharing the HTTP client."""
    prometheus = config.prometheus.url if config.prometheus else None
    client = shared_client(config, feeds)
    source = MetricSource(config.metric, client, clock, Redactor(config.secrets), prometheus=prometheus)
    add_targets(feeds, source, config.console.refresh)
