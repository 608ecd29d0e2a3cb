"""`[[metric]]` endpoints: a number at a dotted path of a JSON body, judged against warn/crit by the model layer."""

from __future__ import annotations

from collections import deque

from console.config import MetricTarget
from console.models import State
from console.models.health import HttpResult, MetricSnapshot, judge_metric
from console.sources.http import HttpPollingSource


class MetricSource(HttpPollingSource[MetricTarget, MetricSnapshot]):
    """Polls JSON metric endpoints; `history` in each snapshot holds the recent values read."""

    def _snapshot(
        self, target: MetricTarget, result: HttpResult, history: deque[float], previous: State | None
    ) -> MetricSnapshot:
        state, reason, value = judge_metric(
            result, path=target.path, warn=target.warn, crit=target.crit, below=target.below, unit=target.unit
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
