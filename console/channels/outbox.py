"""The outbox: every message (a status update posted to channels, a page) until each channel has it, held in the
journal, so nothing is lost when the console stops, and sent by one process per journal at a time.

A message is an `update.posted` or `page.requested` entry naming `channels`; each attempt is two `update.delivery`
(`page.delivery`) entries, `corr` the message's seq: the claim (`sending`, journaled before the request leaves) and
the outcome (`delivered`, `queued` with `retry_at`, `failed`, `unknown`: console.channels.attempt). A claim with no
outcome that the sender finds when it takes the lock was left by a sender that stopped mid-send: `unknown`, never
sent again by itself. What is open is read from the journal's horizon (its checkpoints carry the outbox:
console.journal.pending), whatever the journal's length.

Sending: each channel in order of the messages (a later update never overtakes an earlier one: a queued update holds
the ones after it), channels side by side, each attempt within the channel's timeout. A `queued` message is sent
again after the service's `Retry-After`, else with backoff (4 s doubling to 5 min), never sooner than the channel's
`min_interval` after the last attempt; after `GIVE_UP` it is `failed`. One sender per journal: the lock
`<journal>.outbox-lock` (flock, held while the process runs, as the share mirror holds its own); a console or a cron
job that cannot take it leaves the sending to the one that holds it.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from console.channels.attempt import UNKNOWN_ADVICE, Attempt
from console.channels.message import Scrub, subject, template_values, update_text
from console.channels.paging import Pages
from console.channels.services import Outgoing, send
from console.config import Config
from console.config.channels import POSTING, ChannelSettings
from console.journal import Journal, actor_info
from console.journal.cursor import JournalCursor
from console.journal.horizon import Summary
from console.journal.pending import DELIVERIES, MESSAGES, TERMINAL, channel_of, channels_of, status_of
from console.journal.sidelock import take_side_lock
from console.models import utc_now
from console.timeparse import iso, parse_timestamp

GIVE_UP = timedelta(hours=24)
BACKOFF_FIRST, BACKOFF_MAX = 4.0, 300.0
WAIT_FOR_INTERVAL = 5.0  # a pass waits out a channel's min_interval up to this long; beyond, the next pass sends
LOCK_SUFFIX = ".outbox-lock"
HOLDER_BYTES = 200  # the holder's name, padded: one write replaces the last holder's whole


@dataclass(frozen=True)
class Item:
    """One message to one channel as the outbox stands: `status` is `new` before the first attempt."""

    seq: int
    kind: str  # the message's journal kind
    incident: str | None
    channel: str
    status: str
    attempts: int
    retry_at: datetime | None
    reason: str
    posted_at: datetime | None

    @property
    def open(self) -> bool:
        return self.status not in TERMINAL


@dataclass(frozen=True)
class Sent:
    """What one attempt of this pass came to."""

    item: Item
    attempt: Attempt


class Outbox:
    """The outbox of one journal and the config's channels: what is open (`items`), and one pass of sending what is
    due (`send_due`). Reads run in threads; `send_due` runs on the event loop."""

    def __init__(self, journal: Journal, config: Config, clock: Callable[[], datetime] = utc_now) -> None:
        self.journal = journal
        self.config = config
        self.channels: dict[str, ChannelSettings] = {channel.name: channel for channel in config.channel}
        self.clock = clock
        self.scrub = Scrub.from_config(config)
        self.holder: str | None = None  # who holds the lock when this process does not
        self._cursor = JournalCursor(journal)
        self.summary = Summary()
        self.seen: dict[int, dict] = {}  # messages read since the horizon, by seq
        self.latest: dict[tuple[int, str], dict] = {}  # the latest delivery of each (message, channel) read
        self.pages = Pages()
        self._last_try: dict[str, datetime] = {}
        self._read_lock = threading.RLock()
        self._lock_fd: int | None = None
        self._sending: asyncio.Lock | None = None

    # -- reading ---------------------------------------------------------------------------------

    def catch_up(self) -> list[dict]:
        """Read what was appended since the last call (from the horizon the first time); returns it."""
        with self._read_lock:
            entries, restarted = self._cursor.read()
            if restarted:
                self.summary = self._cursor.start.summary.copy()
                self.seen, self.latest, self._last_try, self.pages = {}, {}, {}, Pages()
            for entry in entries:
                self.summary.feed(entry)
                self._note(entry)
            return entries

    def _note(self, entry: dict) -> None:
        self.pages.note(entry)
        kind, seq, corr = entry.get("kind"), entry.get("seq"), entry.get("corr")
        if kind in MESSAGES and isinstance(seq, int) and channels_of(entry):
            self.seen[seq] = entry
        elif kind in DELIVERIES and isinstance(corr, int) and (channel := channel_of(entry)) is not None:
            self.latest[(corr, channel)] = entry
            if (moment := parse_timestamp(entry.get("ts"))) is not None:
                self._last_try[channel] = max(moment, self._last_try.get(channel, moment))

    def items(self, incident: str | None = None) -> list[Item]:
        """Every open item, then the delivered, failed and unknown ones of `incident` read since the horizon."""
        with self._read_lock:
            pending = self.summary.outbox
            found = [
                self._item(message, name, pending.latest[seq].get(name))
                for seq, message in sorted(pending.messages.items())
                for name in channels_of(message)
            ]
            shown = {(item.seq, item.channel) for item in found}
            for seq, message in sorted(self.seen.items()):
                if incident is None or message.get("incident") != incident:
                    continue
                for name in channels_of(message):
                    if (seq, name) not in shown:
                        found.append(self._item(message, name, self.latest.get((seq, name))))
            return found

    def _item(self, message: dict, channel: str, delivery: dict | None) -> Item:
        data = (delivery or {}).get("data") or {}
        attempts = data.get("attempt")
        return Item(
            seq=message["seq"],
            kind=message["kind"],
            incident=message.get("incident"),
            channel=channel,
            status=status_of(delivery) or "new",
            attempts=attempts if isinstance(attempts, int) else 0,
            retry_at=parse_timestamp(data.get("retry_at")),
            reason=str(data.get("reason") or ""),
            posted_at=parse_timestamp(message.get("ts")),
        )

    def due(self, now: datetime) -> list[Item]:
        """Per channel, its first open message when it may be sent now (new, or queued and its retry time come)."""
        first: dict[str, Item] = {}
        for item in self.items():
            if item.open and item.channel not in first:
                first[item.channel] = item
        return [
            item
            for item in first.values()
            if item.status == "new" or (item.status == "queued" and (item.retry_at is None or item.retry_at <= now))
        ]

    # -- sending ---------------------------------------------------------------------------------

    async def send_due(self) -> list[Sent] | None:
        """One pass: close what a stopped sender left, resolve the pages of ended incidents, send every channel's due
        messages in order, read pages' acknowledgements. None when another process holds the outbox (it sends;
        `holder` names it)."""
        if self._sending is None:
            self._sending = asyncio.Lock()
        async with self._sending:
            if not await asyncio.to_thread(self._take_lock):
                return None
            await asyncio.to_thread(self.catch_up)
            sent = await asyncio.to_thread(self._settle, self.clock())
            await asyncio.to_thread(self.pages.resolve_ended, self)
            from console.http import HttpClient  # aiohttp is imported when the outbox first sends

            console = self.config.console
            client = HttpClient(ca_file=console.ca_file, proxy=console.proxy)
            try:
                channels = sorted({item.channel for item in self.due(self.clock())})
                for found in await asyncio.gather(*(self._drain(name, client) for name in channels)):
                    sent += found
                await self.pages.read_acks(self, client, self.clock())
            finally:
                await client.aclose()
            return sent

    async def _drain(self, name: str, client: Any) -> list[Sent]:
        """Send this channel's due messages, oldest first, until one is not delivered or none is due."""
        sent: list[Sent] = []
        while True:
            now = self.clock()
            item = next((i for i in self.due(now) if i.channel == name), None)
            if item is None:
                return sent
            channel = self.channels[name]
            last = self._last_try.get(name)
            wait = 0.0 if last is None else (last + timedelta(seconds=channel.min_interval) - now).total_seconds()
            if wait > WAIT_FOR_INTERVAL:
                return sent
            if wait > 0:
                await asyncio.sleep(wait)
            attempt_no = item.attempts + 1
            await asyncio.to_thread(self._write, item, {"status": "sending", "attempt": attempt_no})
            attempt = await send(channel, self._outgoing(item), client, self.clock())
            await asyncio.to_thread(self._write, item, self._outcome(attempt, attempt_no))
            sent.append(Sent(item, attempt))
            if attempt.status != "delivered":
                return sent

    def _outcome(self, attempt: Attempt, number: int) -> dict[str, Any]:
        data: dict[str, Any] = {"status": attempt.status, "attempt": number, "reason": attempt.reason}
        if attempt.http_status is not None:
            data["http_status"] = attempt.http_status
        if attempt.ref:
            data["ref"] = attempt.ref
        if attempt.status == "queued":
            wait = attempt.retry_after
            if wait is None:
                wait = min(BACKOFF_FIRST * 2 ** (number - 1), BACKOFF_MAX)
            data["retry_at"] = iso(self.clock() + timedelta(seconds=wait))
        return data

    def _write(self, item: Item, data: dict[str, Any]) -> dict:
        entry = self.journal.append(
            MESSAGES[item.kind], {"channel": item.channel, **data}, incident=item.incident, corr=item.seq
        )
        self.catch_up()
        return entry

    def _settle(self, now: datetime) -> list[Sent]:
        """Under the lock, before sending: a claim with no outcome was left by a sender that stopped (`unknown`); a
        message past GIVE_UP, or to a channel the config no longer has, is `failed`."""
        settled: list[Sent] = []
        for item in self.items():
            if not item.open:
                continue
            if item.status == "sending":
                attempt = Attempt("unknown", f"the sender stopped after claiming this delivery: {UNKNOWN_ADVICE}")
            elif item.channel not in self.channels:
                attempt = Attempt("failed", f"the config has no channel {item.channel!r} any more")
            elif item.posted_at is not None and now - item.posted_at > GIVE_UP:
                attempt = Attempt("failed", f"not delivered within {GIVE_UP.total_seconds() / 3600:.0f}h: given up")
            else:
                continue
            self._write(item, self._outcome(attempt, max(item.attempts, 1)))
            settled.append(Sent(item, attempt))
        return settled

    def _outgoing(self, item: Item) -> Outgoing:
        message = self.summary.outbox.messages.get(item.seq) or self.seen[item.seq]
        data = message.get("data") or {}
        channel = self.channels[item.channel]
        if not isinstance(channel, POSTING):
            return Outgoing(item.kind, item.seq, item.incident, data, str(data.get("summary", "")))
        audience = channel.audience
        text = update_text(data, audience, self.scrub)
        previous = self.refs(item.incident, item.channel)
        values = template_values(data, item.incident, text, self.config.console.environment, audience, self.scrub)
        words = subject(data, item.incident, audience, self.scrub)
        return Outgoing(item.kind, item.seq, item.incident, data, text, words, values, previous)

    def refs(self, incident: str | None, channel: str) -> dict[str, Any]:
        """What the deliveries to `channel` in `incident` answered, latest last (the Statuspage incident's id)."""
        refs: dict[str, Any] = {}
        for (_, name), delivery in sorted(self.latest.items()):
            if name == channel and delivery.get("incident") == incident and status_of(delivery) == "delivered":
                refs |= (delivery.get("data") or {}).get("ref") or {}
        return refs

    # -- the lock --------------------------------------------------------------------------------

    def _take_lock(self) -> bool:
        """Whether this process holds `<journal>.outbox-lock` (held until it exits); `holder` names who does."""
        if self._lock_fd is not None:
            return True
        path = self.journal.path.with_name(self.journal.path.name + LOCK_SUFFIX)
        fd = take_side_lock(self.journal.path, LOCK_SUFFIX)
        if fd is None:
            self.holder = _holder(path)
            return False
        actor = actor_info()
        name = f"pid {actor['pid']} ({actor['user']}@{actor['host']})"[: HOLDER_BYTES - 1]
        os.pwrite(fd, name.ljust(HOLDER_BYTES - 1).encode("utf-8", "replace")[: HOLDER_BYTES - 1] + b"\n", 0)
        self._lock_fd, self.holder = fd, None
        return True

    def release(self) -> None:
        """Let another process send (the lock goes with the process anyway)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _holder(lock: Path) -> str:
    """Who holds the outbox's lock, as its holder wrote it (a moment after taking it: read again once if empty)."""
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return "another process"
    try:
        holder = os.pread(fd, HOLDER_BYTES, 0).strip()
        if not holder:  # taken a moment ago: its holder is writing its name
            time.sleep(0.05)
            holder = os.pread(fd, HOLDER_BYTES, 0).strip()
    finally:
        os.close(fd)
    return holder.decode("utf-8", "replace") or "another process"
