"""`[alertmanager]`: the active, unsilenced alerts (`/api/v2/alerts`), polled like any feed; faults become `down`."""

from __future__ import annotations

from pydantic import ValidationError

from console.clock import Clock
from console.config import AlertmanagerSettings, Config
from console.http import HttpClient, fetch
from console.models import State
from console.models.alerts import ALERTS_PATH, AlertsSnapshot, alert_from
from console.models.health import OVERSIZE, parse_json
from console.redact import Redactor
from console.sources.base import Feeds
from console.sources.http import shared_client


class AlertmanagerSource:
    """Polls Alertmanager for what fires now, newest first."""

    key = "alertmanager"

    def __init__(
        self,
        settings: AlertmanagerSettings,
        client: HttpClient,
        clock: Clock,
        redactor: Redactor,
        refresh: float,
    ) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock
        self.redactor = redactor
        self.interval = settings.interval or refresh
        self.timeout = settings.timeout + 1
        self.target = redactor.text(settings.url)

    async def poll(self) -> AlertsSnapshot:
        url = self.settings.url.rstrip("/") + ALERTS_PATH
        result = await fetch(self.client, url, self.settings.timeout, **self.settings.route())
        if result.error is not None:
            return self._down(f"Alertmanager unreachable: {result.error}")
        if result.status_code != 200:
            return self._down(f"Alertmanager answered HTTP {result.status_code}")
        document, problem = (None, OVERSIZE) if result.oversize else parse_json(result.body)
        try:
            alerts = [alert_from(raw) for raw in document] if isinstance(document, list) else None
        except (ValidationError, TypeError, AttributeError):
            alerts = None
        if alerts is None:
            return self._down(f"Alertmanager answered {problem or 'something that is not a list of alerts'}")
        alerts.sort(key=lambda alert: (alert.starts_at, alert.fingerprint), reverse=True)
        return AlertsSnapshot(state=State.OK, target=self.target, alerts=alerts, taken_at=self.clock.now())

    def _down(self, reason: str) -> AlertsSnapshot:
        return AlertsSnapshot(
            state=State.DOWN, reason=self.redactor.text(reason), target=self.target, taken_at=self.clock.now()
        )


def build(config: Config, clock: Clock, feeds: Feeds) -> None:
    """One feed for `[alertmanager]`, sharing the HTTP client."""
    assert config.alertmanager is not None
    client = shared_client(feeds, config.console)
    source = AlertmanagerSource(config.alertmanager, client, clock, Redactor(config.secrets), config.console.refresh)
    feeds.polled.append(source)
