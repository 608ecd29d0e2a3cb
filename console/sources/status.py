"""`incident-console status`: one poll of every source with the same thresholds as the dashboard."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, computed_field

from console.clock import Clock
from console.config import Config
from console.live import LiveState
from console.models import Check, State, format_duration
from console.models.alerts import SOURCE as ALERTS
from console.models.alerts import AlertsSnapshot, FiringAlert
from console.sources.base import build_feeds, poll_once


class StatusReport(BaseModel):
    """Every check of one poll, in config order, with the overall state and the exit code it implies."""

    environment: str
    taken_at: datetime
    checks: list[Check]
    alerts: list[FiringAlert] = []  # what fires in Alertmanager, newest first, as its pane lists it

    @computed_field  # type: ignore[prop-decorator]  # mypy cannot type a decorator over a property; pydantic's way
    @property
    def state(self) -> State:
        return State.worst([c.state for c in self.checks]) if self.checks else State.OK

    @computed_field  # type: ignore[prop-decorator]  # mypy cannot type a decorator over a property; pydantic's way
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
        lines = []
        for c in self.checks:
            lines.append(
                f"{c.state.symbol} {c.state.word:<7} {c.source:<{widths[0]}}  {c.name:<{widths[1]}}  "
                f"{c.value:>{widths[2]}}  {c.reason}".rstrip()
            )
            if c.key == f"{ALERTS}:firing":
                lines += self._alert_lines()
        counts = {s: sum(c.state is s for c in self.checks) for s in State}
        tally = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "nothing configured to poll"
        when = self.taken_at.strftime("%Y-%m-%d %H:%M:%SZ")
        lines.append(f"{self.environment}: {self.state.symbol} {self.state.word} ({tally}) at {when}")
        return lines

    def _alert_lines(self) -> list[str]:
        """Under the Alertmanager check, each firing alert as its pane shows it: for how long, name, severity,
        the other labels."""
        rows = [(format_duration(a.firing_s), a.name, a.severity, a.labels) for a in self.alerts]
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
        return [
            "    " + "  ".join(cell.ljust(width) for cell, width in zip(row, [*widths, 0], strict=True)).rstrip()
            for row in rows
        ]


@dataclass(frozen=True)
class Unanswered:
    """The model of a source that did not answer within its timeout, or whose poll failed: one DOWN check saying so."""

    feed_key: str
    timeout: float | None  # None: the feed bounds its own poll (an HTTP target's answer says its timeout itself)
    failure: str | None = None

    def checks(self) -> list[Check]:
        source, _, name = self.feed_key.partition(":")
        reason = "no answer" if self.timeout is None else f"no answer within {self.timeout:g}s"
        if self.failure:
            reason = f"the console failed to poll it: {self.failure}"
        return [Check(source=source, name=name or "connection", state=State.DOWN, reason=reason)]


async def poll_live(config: Config, clock: Clock | None = None) -> LiveState:
    """One concurrent poll of every source that `status` includes (registry) into a live state."""
    clock = clock or Clock()
    feeds = build_feeds(config, clock, status_only=True)
    try:
        failed: dict[str, str] = {}

        def note(key: str, exc: Exception) -> None:
            failed.setdefault(key, repr(exc))

        models = await asyncio.gather(*(poll_once(source, note) for source in feeds.polled))
    finally:
        await feeds.aclose()
    live = LiveState(clock)
    live.update(
        model if model is not None else Unanswered(source.key, source.timeout, failed.get(source.key))
        for source, model in zip(feeds.polled, models, strict=True)
    )
    return live


async def poll_all(config: Config, clock: Clock | None = None) -> StatusReport:
    """`status`: one poll of everything, thresholds applied, as a report."""
    live = await poll_live(config, clock)
    alerts = live.model(ALERTS)
    return StatusReport(
        environment=config.console.environment,
        taken_at=live.clock.now(),
        checks=live.checks(),
        alerts=alerts.firing_alerts() if isinstance(alerts, AlertsSnapshot) else [],
    )
