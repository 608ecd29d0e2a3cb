"""`[[metric]]` endpoints: a number at a dotted path of a JSON body, judged against warn/crit by the model layer."""

from __future__ import annotations

from collections import deque

from console.clock import Clock
from console.config import Config, MetricTarget
from console.models import State
from console.models.health import HttpResult, MetricSnapshot, judge_metric
from console.redact import Redactor
from console.sources.base import Feeds
from console.sources.http import HttpPollingSource, add_targets, shared_client


class MetricSource(HttpPollingSource[MetricTarget, MetricSnapshot]):
    """Polls JSON metric endpoints; `history` in each snapshot holds the recent values read."""

    section = "metric"

    def _snapshot(
        self, target: MetricTarget, result: HttpResult, history: deque[float], previous: State | None
    ) -> MetricSnapshot:
        state, reason, value = judge_metric(
            result,
            path=target.path,
            warn=target.warn,
            crit=target.crit,
            below=target.below,
            unit=target.unit,
            pattern=target.pattern,
        )
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
    source = MetricSource(config.metric, shared_client(config, feeds), clock, Redactor(config.secrets))
    add_targets(feeds, source, config.console.refresh)
