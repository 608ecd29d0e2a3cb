"""Pages: a `page.requested` message (trigger) to paging channels, resolved when the incident is, and its
acknowledgement read back.

- Trigger: `page.requested` {action "trigger", channels, dedup_key (the incident's id: a retry, or a second console
  paging for the same incident, is one alert at PagerDuty and Opsgenie), summary, severity, rank}.
- Resolve: once the incident is resolved, closed or cancelled, the sender journals one `page.requested` {action
  "resolve"} to every channel that delivered its trigger (under the outbox's lock: one console writes it).
- Acknowledged: while a delivered trigger is not resolved, the sender asks the service every ACK_EVERY who
  acknowledged it (PagerDuty with a `token`, Opsgenie), and journals `page.acknowledged` {channel, by} once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from console.channels.services import acknowledged
from console.journal import Journal
from console.journal.pending import status_of

if TYPE_CHECKING:
    from console.channels.outbox import Outbox

PAGE = "page.requested"
ACKNOWLEDGED = "page.acknowledged"
ENDS = {"incident.cancelled"}  # and `incident.status` to resolved or closed
ACK_EVERY = timedelta(seconds=30)


def request_page(journal: Journal, incident: str, channels: list[str], summary: str, severity: str, rank: int) -> dict:
    """Journal a page to `channels` for `incident`: the outbox sends it."""
    data: dict[str, Any] = {"action": "trigger", "channels": channels, "dedup_key": incident, "summary": summary}
    data |= {"severity": severity, "rank": rank}
    return journal.append(PAGE, data, incident=incident)


class Pages:
    """What the outbox knows of pages from the entries it read: triggers delivered, resolves sent, acknowledgements,
    and the incidents that ended."""

    def __init__(self) -> None:
        self.triggered: dict[str, dict[str, dict]] = {}  # incident -> channel -> its trigger message
        self.resolving: dict[str, set[str]] = {}  # incident -> channels a resolve was journaled for
        self.acknowledged: set[tuple[str, str]] = set()  # (incident, channel)
        self.ended: set[str] = set()
        self.asked: dict[tuple[str, str], datetime] = {}

    def note(self, entry: dict) -> None:
        kind, incident, data = entry.get("kind"), entry.get("incident"), entry.get("data") or {}
        if not isinstance(incident, str):
            return
        if kind == PAGE:
            for name in data.get("channels") or []:
                if data.get("action") == "resolve":
                    self.resolving.setdefault(incident, set()).add(name)
                else:
                    self.triggered.setdefault(incident, {})[name] = entry
        elif kind == ACKNOWLEDGED and isinstance(data.get("channel"), str):
            self.acknowledged.add((incident, data["channel"]))
        elif kind in ENDS or (kind == "incident.status" and data.get("status") in ("resolved", "closed")):
            self.ended.add(incident)
        elif kind == "incident.reopened":
            self.ended.discard(incident)

    def delivered(self, outbox: Outbox, incident: str) -> list[str]:
        """The channels whose trigger for `incident` was delivered."""
        return [
            name
            for name, message in self.triggered.get(incident, {}).items()
            if status_of(outbox.latest.get((message["seq"], name))) == "delivered"
        ]

    def resolve_ended(self, outbox: Outbox) -> list[dict]:
        """Journal a resolve for each ended incident's delivered triggers not yet resolved."""
        written = []
        for incident in sorted(self.ended):
            due = [name for name in self.delivered(outbox, incident) if name not in self.resolving.get(incident, set())]
            if due:
                data = {"action": "resolve", "channels": due, "dedup_key": incident, "summary": f"{incident} resolved"}
                written.append(outbox.journal.append(PAGE, data, incident=incident))
                outbox.catch_up()
        return written

    async def read_acks(self, outbox: Outbox, client: Any, now: datetime) -> list[dict]:
        """Ask each service that can say who acknowledged an open, delivered page (at most every ACK_EVERY)."""
        import asyncio

        written = []
        for incident, channels in sorted(self.triggered.items()):
            if incident in self.ended:
                continue
            for name in self.delivered(outbox, incident):
                key = (incident, name)
                channel = outbox.channels.get(name)
                if (
                    channel is None
                    or key in self.acknowledged
                    or now - self.asked.get(key, now - ACK_EVERY) < ACK_EVERY
                ):
                    continue
                self.asked[key] = now
                who = await acknowledged(channel, incident, client)
                if who is not None:
                    data = {"channel": name, "by": who, "trigger": channels[name]["seq"]}
                    entry = await asyncio.to_thread(outbox.journal.append, ACKNOWLEDGED, data, incident=incident)
                    await asyncio.to_thread(outbox.catch_up)
                    written.append(entry)
        return written
