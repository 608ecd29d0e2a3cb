"""Connects the outbox (console.channels.outbox) to the app: a pass every SEND_EVERY seconds sends what is due (never
on a read-only console or the wall, which only show it; and only in the one process that holds the outbox's lock),
the incident screen and the wall show what waits (`OutboxLine`), a delivery that failed or whose outcome is unknown
is said once, and a page is offered when an incident is declared or raised to a severity an `[[incident.escalate]]`
rule pages at (`P` sends it through the runner: previewed, confirmed, journaled)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from console.journal import JournalError
from console.models import format_duration
from console.tui.controllers import TextualApp, showing
from widgets.outbox_line import OutboxLine

if TYPE_CHECKING:
    from actions.runner import Runner
    from console.channels.outbox import Item
    from console.config import Config
    from console.incident.state import IncidentState
    from console.tui.controllers.incident import IncidentControl

SEND_EVERY = 2.0


class OutboxHost(TextualApp, Protocol):
    """What the controller needs of the app: a Textual app with the incident controller and a way to request an
    action (form, preview, confirmation, run)."""

    incident: IncidentControl

    def request_action(self, name: str, params: dict | None = None) -> None: ...


class OutboxControl:
    """The app's side of the outbox (nothing at all without `[[channel]]`)."""

    def __init__(self, app: OutboxHost, config: Config, runner: Runner) -> None:
        self.app = app
        self.config = config
        self.outbox = runner.ctx.outbox
        self.sends = not runner.read_only
        self.offered: list[str] = []  # the channels `P` pages now (the last offer)
        self._said: set[tuple[int, str, str]] = set()
        self._offers: set[tuple[str, int, str]] = set()  # (incident, rule, severity) offered once
        self._busy = False

    def start(self) -> None:
        if self.outbox is not None:
            self.app.set_interval(SEND_EVERY, self.tick)
            self.app.run_worker(self.tick(), name="outbox", group="outbox", exit_on_error=False)

    async def tick(self) -> None:
        """One pass (or, when this console does not send, one read), then what it came to on screen."""
        if self.outbox is None or self._busy:
            return
        self._busy = True
        try:
            sent = await self.outbox.send_due() if self.sends else None
            if sent is None:
                await asyncio.to_thread(self.outbox.catch_up)
        except JournalError as exc:
            self.app.notify(f"outbox: {exc}", severity="error", timeout=30, markup=False)
            return
        finally:
            self._busy = False
        for done in sent or []:
            self._say(done.item, done.attempt.status, done.attempt.reason)
        if sent:
            await self.app.incident.refresh()
        self.show()
        self._offer_page(self.app.incident.desk.tracker.state)

    def show(self) -> None:
        """The current incident's waiting, failed and unknown deliveries on the screen that shows the outbox."""
        if self.outbox is None:
            return
        state = self.app.incident.desk.tracker.state
        items = self.outbox.items(state.id if state is not None else None)
        now = self.outbox.clock()
        shown = [(item.channel, item.status, _detail(item, now)) for item in items if item.status != "delivered"]
        screen = showing(self.app)
        if screen is None:  # the app is closing
            return
        for line in screen.query(OutboxLine):
            line.show_items(shown)

    def _say(self, item: Item, status: str, reason: str) -> None:
        key = (item.seq, item.channel, status)
        if key in self._said:
            return
        self._said.add(key)
        what = f"{'update' if item.kind == 'update.posted' else 'page'} #{item.seq} to {item.channel}"
        if status == "failed":
            self.app.notify(f"✖ {what} failed: {reason}", severity="error", timeout=60, markup=False)
        elif status == "unknown":
            self.app.notify(f"? {what}: outcome unknown: {reason}", severity="warning", timeout=60, markup=False)
        elif status == "delivered" and item.attempts > 0:
            self.app.notify(f"✔ {what} delivered after {item.attempts + 1} attempts", timeout=8, markup=False)

    def _offer_page(self, state: IncidentState | None) -> None:
        """Offer once per incident, rule and severity: the incident is open at the rule's severity or worse."""
        if self.outbox is None or state is None or not state.is_open or not self.sends:
            return
        from console.models.severity import SCHEMES

        scheme = SCHEMES.get(state.scheme)
        paged = set(self.outbox.pages.triggered.get(state.id, {}))
        for index, rule in enumerate(self.config.incident.escalate):
            due = [name for name in rule.page if name not in paged]
            at_or_worse = rule.severity is None or (
                scheme is not None and scheme.level(state.severity).rank <= scheme.level(rule.severity).rank
            )
            key = (state.id, index, state.severity)
            if not due or not at_or_worse or key in self._offers:
                continue
            self._offers.add(key)
            self.offered = due
            self.app.notify(
                f"▲ {state.id} is {state.severity}: press P to page {', '.join(due)} ({rule.say})",
                severity="warning",
                timeout=120,
                markup=False,
            )

    def page(self) -> None:
        """`P`: the page offered last, through the runner (previewed, confirmed once, journaled)."""
        if not self.offered:
            self.app.notify("nothing to page: no [[incident.escalate]] page rule applies now", timeout=6)
            return
        self.app.request_action("page", {"channels": list(self.offered)})


def _detail(item: Item, now: datetime) -> str:
    what = f"#{item.seq}"
    if item.status == "queued" and item.retry_at is not None:
        return f"{what} retry in {format_duration((item.retry_at - now).total_seconds())}: {item.reason}"
    if item.status == "unknown":
        return f"{what} may have arrived: check before posting again"
    return f"{what}: {item.reason}" if item.reason else what
