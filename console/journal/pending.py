"""The outbox as the journal holds it: the messages whose delivery to some channel is still open, each with the latest
delivery entry per channel. `console.channels` writes and sends them; this module only reads them, for the horizon
(`console.journal.horizon.Summary` carries it in each checkpoint, so a console that starts finds a message queued a
million entries ago without reading them).

A message is an `update.posted` or `page.requested` entry whose data names `channels`; each attempt to one channel is
an `update.delivery` or `page.delivery` entry (`corr` the message's seq, data `channel` and `status`). A message is
open until every channel's latest delivery is `delivered`, `failed` or `unknown` (none yet, `queued` or `sending` is
open). Checkpoint data, key `outbox`: `[{"message": the message entry, whole, "deliveries": [the latest delivery entry
of each channel that has one]}]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MESSAGES = {"update.posted": "update.delivery", "page.requested": "page.delivery"}  # a message's delivery kind
DELIVERIES = frozenset(MESSAGES.values())
TERMINAL = frozenset({"delivered", "failed", "unknown"})
MARKS = (b'"update.posted"', b'"update.delivery"', b'"page.requested"', b'"page.delivery"')  # in such a line


def channels_of(message: dict) -> list[str]:
    """The channel names a message goes to (none for an update posted by hand)."""
    names = (message.get("data") or {}).get("channels")
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def channel_of(delivery: dict) -> str | None:
    name = (delivery.get("data") or {}).get("channel")
    return name if isinstance(name, str) else None


def status_of(delivery: dict | None) -> str | None:
    """A delivery entry's status; None for a channel not tried yet."""
    status = ((delivery or {}).get("data") or {}).get("status")
    return status if isinstance(status, str) else None


@dataclass
class Pending:
    """The open messages by seq, and the latest delivery entry of each of their channels."""

    messages: dict[int, dict] = field(default_factory=dict)
    latest: dict[int, dict[str, dict]] = field(default_factory=dict)

    def feed(self, entry: dict) -> None:
        """Take in the next entry of the journal."""
        kind, seq, corr = entry.get("kind"), entry.get("seq"), entry.get("corr")
        if kind in MESSAGES and isinstance(seq, int) and channels_of(entry):
            self.messages[seq] = entry
            self.latest[seq] = {}
        elif kind in DELIVERIES and isinstance(corr, int) and corr in self.messages:
            channel = channel_of(entry)
            if channel is not None and MESSAGES[self.messages[corr]["kind"]] == kind:
                self.latest[corr][channel] = entry
                if self.closed(corr):
                    del self.messages[corr], self.latest[corr]

    def closed(self, seq: int) -> bool:
        latest = self.latest.get(seq, {})
        return all(status_of(latest.get(name)) in TERMINAL for name in channels_of(self.messages[seq]))

    def data(self) -> list[dict]:
        return [
            {"message": self.messages[seq], "deliveries": list(self.latest[seq].values())}
            for seq in sorted(self.messages)
        ]

    def copy(self) -> Pending:
        return Pending(dict(self.messages), {seq: dict(latest) for seq, latest in self.latest.items()})

    @classmethod
    def carried(cls, data: object) -> Pending:
        """What a checkpoint's `outbox` holds (anything of the wrong shape is left out)."""
        pending = cls()
        for item in data if isinstance(data, list) else []:
            message = item.get("message") if isinstance(item, dict) else None
            if not isinstance(message, dict) or not isinstance(message.get("seq"), int):
                continue
            pending.feed(message)
            for delivery in item.get("deliveries") or []:
                if isinstance(delivery, dict):
                    pending.feed(delivery)
        return pending


class PendingWalk:
    """`Pending.feed`'s rule applied to entries read from the end back to a checkpoint, then onto its `Pending`."""

    def __init__(self) -> None:
        self.later: dict[int, dict[str, dict]] = {}  # corr -> channel -> the latest delivery (the first one met)
        self.found = Pending()

    def see(self, entry: dict) -> None:
        kind, seq, corr = entry.get("kind"), entry.get("seq"), entry.get("corr")
        if kind in DELIVERIES and isinstance(corr, int) and (channel := channel_of(entry)) is not None:
            self.later.setdefault(corr, {}).setdefault(channel, entry)
        elif kind in MESSAGES and isinstance(seq, int) and channels_of(entry):
            self._open(self.found, entry)

    def onto(self, before: Pending) -> Pending:
        result = Pending()
        for seq in sorted(before.messages):
            self._open(result, before.messages[seq], before.latest[seq])
        result.messages.update(self.found.messages)
        result.latest.update(self.found.latest)
        return result

    def _open(self, into: Pending, message: dict, earlier: dict[str, dict] | None = None) -> None:
        seq = message["seq"]
        into.messages[seq] = message
        into.latest[seq] = {**(earlier or {}), **self.later.get(seq, {})}
        if into.closed(seq):
            del into.messages[seq], into.latest[seq]
