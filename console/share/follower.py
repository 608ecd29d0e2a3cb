"""StreamFollower: the shared stream as verified entries tagged with their host, and notices about what was not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from console.config import ShareSettings
from console.models import format_duration
from console.share.codec import Decoded, Refused, decode
from console.share.mirror import close_quietly
from console.sources.redis import describe_target, explain, open_client, raise_if_cancelled, url_redactor

if TYPE_CHECKING:
    from redis.asyncio import Redis

SKEW_LIMIT = 30.0  # seconds between a writer's clock and the stream id's time before it is flagged
COUNT = 500  # entries per XREAD

NoticeKind = Literal["refused", "gap", "chain", "replay", "skew", "stream", "redis"]


@dataclass(frozen=True)
class Remote:
    """A verified journal entry from the stream: ``host`` wrote it; ``stream_id`` is where it sits."""

    host: str
    entry: dict
    stream_id: str


@dataclass(frozen=True)
class Notice:
    """Something the caller should be told: a refused entry, a gap, a broken chain, clock skew, the stream or Redis."""

    kind: NoticeKind
    text: str
    stream_id: str | None = None
    host: str | None = None


Event = Remote | Notice


@dataclass
class _Writer:
    """What the follower knows of one writer host: the last seq and hash passed on, and its clock state."""

    seq: int
    hash: str
    skewed: bool = False
    replaying: bool = False


@dataclass
class StreamFollower:
    """Follows the stream with ``XREAD BLOCK`` from the last id read (from ``since``, the start by default).

    Entries are decoded and checked (``codec.decode``: fields, hash, and the HMAC when keyed) and, per writer host,
    chained (``prev`` is the previous entry's ``hash``, seqs follow on). A refused entry is never passed on; a gap, a
    broken chain or skew is a Notice before the entry. Iterating never raises: Redis errors become notices and the
    follower retries with backoff from where it was.
    """

    settings: ShareSettings
    since: str = "0-0"
    exclude_host: str | None = None
    timeout: float = 2.0
    block: float = 2.0
    backoff_max: float = 5.0
    last_id: str = field(init=False)
    writers: dict[str, _Writer] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.last_id = self.since
        self._seen_stream = False
        self._redact = url_redactor(self.settings.redis_url).text
        self._target = f"{describe_target(self.settings.redis_url)} {self.settings.stream}"

    def __aiter__(self) -> AsyncIterator[Event]:
        return self.events()

    async def events(self) -> AsyncIterator[Event]:
        """Verified entries (Remote) and notices, in stream order, until the caller stops iterating."""
        delay = 1.0
        client: Redis | None = None
        try:
            while True:
                try:
                    if client is None:
                        client = open_client(self.settings.redis_url, self.timeout + self.block)
                    async with asyncio.timeout(self.timeout + self.block):
                        reply = await client.xread(
                            {self.settings.stream: self.last_id}, count=COUNT, block=int(self.block * 1000)
                        )
                    if not reply:
                        if notice := await self._check_stream(client):
                            yield notice
                        continue
                    self._seen_stream = True
                    delay = 1.0
                except Exception as exc:  # Redis or the network: say so, back off, resume from last_id
                    raise_if_cancelled()
                    yield Notice(
                        "redis",
                        self._redact(
                            f"redis down: {self._target}: {explain(exc, self.timeout)}, "
                            f"retrying in {format_duration(delay)}"
                        ),
                    )
                    if client is not None:
                        await close_quietly(client)
                        client = None
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.backoff_max)
                    continue
                for raw_id, raw in reply[0][1]:
                    self.last_id = raw_id.decode()
                    for event in self._verify(self.last_id, raw):
                        yield event
        finally:
            if client is not None:
                await close_quietly(client)

    def _verify(self, stream_id: str, raw: dict[bytes, bytes]) -> list[Event]:
        """The events one stream entry gives: notices first, then the entry when it passes."""
        try:
            got = decode(raw, self.settings.key)
        except Refused as exc:
            return [Notice("refused", f"stream entry {stream_id} refused: {exc}", stream_id)]
        if got.host == self.exclude_host:
            return []
        events: list[Event] = []
        writer = self.writers.get(got.host)
        if writer is not None and got.seq <= writer.seq:
            if not writer.replaying:  # once per run of entries already passed on (a mirror that sent them again)
                writer.replaying = True
                events.append(
                    Notice(
                        "replay",
                        f"{got.host}: seq {got.seq} again (already at {writer.seq}); "
                        f"skipping what was already shown, from stream entry {stream_id}",
                        stream_id,
                        got.host,
                    )
                )
            return events
        events.extend(self._chain(stream_id, got, writer))
        skewed, notices = self._skew(stream_id, got, was=writer is not None and writer.skewed)
        events.extend(notices)
        self.writers[got.host] = _Writer(got.seq, got.hash, skewed)
        events.append(Remote(got.host, got.entry, stream_id))
        return events

    def _chain(self, stream_id: str, got: Decoded, writer: _Writer | None) -> list[Notice]:
        if writer is None:
            if got.seq == 1 and got.entry.get("prev") is None:
                return []
            return [
                Notice(
                    "gap",
                    f"{got.host}: the stream starts at seq {got.seq} (earlier entries were trimmed or never mirrored)",
                    stream_id,
                    got.host,
                )
            ]
        if got.seq != writer.seq + 1:
            return [
                Notice(
                    "gap",
                    f"{got.host}: seq {writer.seq} is followed by seq {got.seq} "
                    f"({got.seq - writer.seq - 1} missing: trimmed or deleted)",
                    stream_id,
                    got.host,
                )
            ]
        if got.entry.get("prev") != writer.hash:
            return [
                Notice(
                    "chain",
                    f"{got.host}: seq {got.seq} does not chain to seq {writer.seq} (its prev is not "
                    "that entry's hash: a different journal?)",
                    stream_id,
                    got.host,
                )
            ]
        return []

    def _skew(self, stream_id: str, got: Decoded, *, was: bool) -> tuple[bool, list[Notice]]:
        """Whether the writer's clock is more than SKEW_LIMIT off, and a notice when it just became so.

        The writer's clock when it mirrored the entry is compared with the stream id's time (Redis's clock); an
        entry stamped later than it was mirrored is off too. Catch-up after an outage is not skew.
        """
        off = (got.sent_ms - int(stream_id.split("-")[0])) / 1000
        try:
            ahead = datetime.fromisoformat(got.entry["ts"]).timestamp() - got.sent_ms / 1000
        except (KeyError, TypeError, ValueError):
            ahead = 0.0
        skewed = abs(off) > SKEW_LIMIT or ahead > SKEW_LIMIT
        if not skewed or was:
            return skewed, []
        what = (
            f"{format_duration(abs(off))} {'ahead of' if off > 0 else 'behind'} Redis's"
            if abs(off) > SKEW_LIMIT
            else f"stamping entries {format_duration(ahead)} after it mirrors them"
        )
        return skewed, [
            Notice(
                "skew",
                f"{got.host}: its clock is {what}; its entries are ordered by its seq, not by their time",
                stream_id,
                got.host,
            )
        ]

    async def _check_stream(self, client: Redis) -> Notice | None:
        """After a quiet read: say once that the stream followed so far is gone (deleted, or Redis restarted empty)."""
        if not self._seen_stream:
            return None
        async with asyncio.timeout(self.timeout):
            exists = await client.exists(self.settings.stream)
        if exists:
            return None
        self._seen_stream = False
        return Notice(
            "stream",
            f"the stream {self.settings.stream} is gone (deleted, or Redis restarted without "
            "its data); following what is written to it next",
        )
