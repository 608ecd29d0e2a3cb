"""`incident-console status`: one poll of every source with the same thresholds as the dashboard."""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import BaseModel, computed_field

from console.clock import Clock
from console.config import Config
from console.models import Check, State
from console.redact import Redactor
from console.sources.health import HealthSource
from console.sources.http import make_client
from console.sources.metrics import MetricSource


class StatusReport(BaseModel):
    """Every check of one poll, in config order, with the overall state and the exit code it implies."""

    environment: str
    taken_at: datetime
    checks: list[Check]

    @computed_field
    @property
    def state(self) -> State:
        return State.worst([c.state for c in self.checks]) if self.checks else State.OK

    @computed_field
    @property
    def exit_code(self) -> int:
        """0 when everything is ok, 1 for any warn or unknown, 2 for any crit or down."""
        states = {c.state for c in self.checks}
        if states & {State.CRIT, State.DOWN}:
            return 2
        return 1 if states & {State.WARN, State.UNKNOWN} else 0

    def lines(self) -> list[str]:
        """One aligned line per check (symbol and word, source, name, value, reason), then a summary line."""
        widths = [max((len(getattr(c, f)) for c in self.checks), default=0) for f in ("source", "name", "value")]
        lines = [
            f"{c.state.symbol} {c.state.word:<7} {c.source:<{widths[0]}}  {c.name:<{widths[1]}}  "
            f"{c.value:>{widths[2]}}  {c.reason}".rstrip()
            for c in self.checks
        ]
        counts = {s: sum(c.state is s for c in self.checks) for s in State}
        tally = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "nothing configured to poll"
        when = self.taken_at.strftime("%Y-%m-%d %H:%M:%SZ")
        lines.append(f"{self.environment}: {self.state.symbol} {self.state.word} ({tally}) at {when}")
        return lines


async def poll_all(config: Config, clock: Clock | None = None) -> StatusReport:
    """Poll every health and metric target (and PostgreSQL / Redis when configured) once, concurrently."""
    clock = clock or Clock()
    redactor = Redactor(config.secrets)
    client = make_client()
    try:
        health = HealthSource(config.health, client, clock, redactor)
        metrics = MetricSource(config.metric, client, clock, redactor)
        health_snapshots, metric_snapshots, server_checks = await asyncio.gather(
            health.poll(), metrics.poll(), _servers(config, clock)
        )
    finally:
        await client.aclose()
    checks = [check for snapshot in [*health_snapshots, *metric_snapshots] for check in snapshot.checks()]
    checks += server_checks
    return StatusReport(environment=config.console.environment, taken_at=clock.now(), checks=checks)


async def _servers(config: Config, clock: Clock) -> list[Check]:
    """PostgreSQL and Redis when configured: their sources never raise and bound every call with a timeout."""
    sources = []
    if config.postgres:
        from console.sources.postgres import PostgresSource

        sources.append(PostgresSource(config.postgres, clock))
    if config.redis:
        from console.sources.redis import RedisSource

        sources.append(RedisSource(config.redis, clock))
    try:
        snapshots = await asyncio.gather(*(source.poll() for source in sources))
    finally:
        await asyncio.gather(*(source.close() for source in sources))
    return [check for snapshot in snapshots for check in snapshot.checks()]
