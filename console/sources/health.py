"""`[[health]]` endpoints: status code, latency and an optional JSON subset match, judged by the model layer."""

from __future__ import annotations

from collections import deque

from console.clock import Clock
from console.config import Config, HealthTarget
from console.models import State
from console.models.health import HealthSnapshot, HttpResult, cert_check, judge_health
from console.redact import Redactor
from console.sources.base import Feeds
from console.sources.http import HttpPollingSource, add_targets, shared_client


class HealthSource(HttpPollingSource[HealthTarget, HealthSnapshot]):
    """Polls HTTP health endpoints; `history` in each snapshot holds the latencies of recent answers."""

    section = "health"

    def _snapshot(
        self, target: HealthTarget, result: HttpResult, history: deque[float], previous: State | None
    ) -> HealthSnapshot:
        state, reason = judge_health(
            result,
            expect_status=target.expect_status,
            expect_json=target.expect_json,
            warn_ms=target.warn_ms,
            crit_ms=target.crit_ms,
        )
        answered = result.error is None
        if answered:
            history.append(round(result.latency_ms, 1))
        return HealthSnapshot(
            name=target.name,
            url=self._shown_url(target),
            state=state,
            reason=self.redactor.text(reason),
            status_code=result.status_code,
            latency_ms=result.latency_ms if answered else None,
            taken_at=self.clock.now(),
            history=list(history),
            previous=previous,
            cert=(
                None
                if target.cert_warn is None and target.cert_crit is None
                else cert_check(target.name, result, self.clock.now(), target.cert_warn, target.cert_crit)
            ),
        )


def build(config: Config, clock: Clock, feeds: Feeds) -> None:
    """A feed per `[[health]]` target, sharing the HTTP client."""
    source = HealthSource(config.health, shared_client(feeds, config.console), clock, Redactor(config.secrets))
    add_targets(feeds, source, config.console.refresh)
