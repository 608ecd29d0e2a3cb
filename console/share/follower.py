"""StreamFollower: the shared stream as verified entries tagged with their host, and notices about what was not."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
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
REPLAY_LIMIT = 600.0  # seconds an entry may reach the stream after it was mirrored: later, it is a copy (refused)
COUNT = 500  # entries per read
MAX_ENTRY = 2 * 1024 * 1024  # bytes in one stream entry's fields (a journal entry with 20 long output lines fits)
READ_BUDGET = 8 * 1024 * 1024  # bytes per read: a flood of big entries is read a few at a time, never all at once
SUMMARY_EVERY = 60.0  # seconds: refusals after the first of their kind are counted and said once a minute

# Reads the stream past an id without sending what a follower would refuse for its size: XREAD would bring a 200 MB
# entry into memory before anything could look at it. Entries over ARGV[3] bytes come back as {"oversize", size}.
_READ = """
local rows = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
local limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local out, used = {}, 0
for _, row in ipairs(rows) do
  local size = 0
  for _, value in ipairs(row[2]) do size = size + string.len(value) end
  if size > limit then
    out[#out + 1] = {row[1], {'oversize', tostring(size)}}
  else
    if used + size > budget and #out > 0 then break end
    used = used + size
    out[#out + 1] = row
  end
end
return out
"""

_REFUSAL_WORDS = {
    "fields": "with missing fields",
    "version": "from older consoles",
    "hmac": "failing the HMAC",
    "entry": "not journal entries",
    "hash": "with a bad hash",
    "size": "too large",
    "environment": "from another environment",
    "replay": "copies of old entries",
}

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
    """Follows the stream from the last id read (from ``since``, the start by default), a bounded read at a time.

    Entries are decoded and checked (``codec.decode``: fields, hash, and the HMAC over the stream's name when keyed),
    refused when they belong to another ``environment`` (when given), reached the stream long after they were
    mirrored (a copy) or are larger than MAX_ENTRY, and, per writer host, chained (``prev`` is the previous entry's
    ``hash``, seqs follow on). A refused entry is never passed on: the first of each kind is a Notice, later ones are
    counted and summarised once a minute, so a flood costs a line, not a toast each. A gap, a broken chain or skew is
    a Notice before the entry. Iterating never raises: Redis errors become notices and the follower retries with
    backoff from where it was.
    """

    settings: ShareSettings
    since: str = "0-0"
    exclude_host: str | None = None
    environment: str | None = None
    timeout: float = 2.0
    block: float = 0.25  # seconds between reads while the stream has nothing new
    backoff_max: float = 5.0
    clock: Callable[[], float] = time.monotonic
    last_id: str = field(init=False)
    writers: dict[str, _Writer] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.last_id = self.since
        self._seen_stream = False
        self._redact = url_redactor(self.settings.redis_url).text
        self._target = f"{describe_target(self.settings.redis_url)} {self.settings.stream}"
        self._refused: Counter[str] = Counter()  # kind -> refusals not yet said, this minute
        self._told: set[str] = set()  # kinds whose first refusal of this minute was said in full
        self._summary_due = self.clock() + SUMMARY_EVERY

    def __aiter__(self) -> AsyncIterator[Event]:
        return self.events()

    async def events(self) -> AsyncIterator[Event]:
        """Verified entries (Remote) and notices, in stream order, until the caller stops iterating."""
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self) -> AsyncIterator[list[Event]]:
        """The events of each read (at most COUNT entries and READ_BUDGET bytes), for callers that repaint once per
        read rather than once per entry."""
        delay = 1.0
        client: Redis | None = None
        try:
            while True:
                try:
                    if client is None:
                        client = open_client(self.settings.redis_url, self.timeout)
                        read = client.register_script(_READ)
                    async with asyncio.timeout(self.timeout):
                        rows = await read(
                            keys=[self.settings.stream], args=[f"({self.last_id}", COUNT, MAX_ENTRY, READ_BUDGET]
                        )
                    quiet = None if rows else await self._check_stream(client)
                    delay = 1.0
                except Exception as exc:  # Redis or the network: say so, back off, resume from last_id
                    raise_if_cancelled()
                    yield [
                        Notice(
                            "redis",
                            self._redact(
                                f"redis down: {self._target}: {explain(exc, self.timeout)}, "
                                f"retrying in {format_duration(delay)}"
                            ),
                        )
                    ]
                    if client is not None:
                        await close_quietly(client)
                        client = None
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.backoff_max)
                    continue
                batch: list[Event] = [quiet] if quiet else []
                for raw_id, flat in rows:
                    self._seen_stream = True
                    self.last_id = raw_id.decode()
                    batch += self._verify(self.last_id, dict(zip(flat[::2], flat[1::2], strict=True)))
                batch += self._summary()
                if batch:
                    yield batch
                if not rows:
                    await asyncio.sleep(self.block)
        finally:
            if client is not None:
                await close_quietly(client)

    def _verify(self, stream_id: str, raw: dict[bytes, bytes]) -> list[Event]:
        """The events one stream entry gives: notices first, then the entry when it passes."""
        try:
            got = self._decode(stream_id, raw)
        except Refused as exc:
            return self._refuse(stream_id, exc)
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

    def _decode(self, stream_id: str, raw: dict[bytes, bytes]) -> Decoded:
        """The entry, or Refused: too large, not verifiable, of another environment, or a copy of an old entry."""
        if set(raw) == {b"oversize"}:
            size = int(raw[b"oversize"])
            raise Refused(f"{size / 2**20:.1f} MiB, over the {MAX_ENTRY // 2**20} MiB an entry may have", "size")
        got = decode(raw, self.settings.key, self.settings.stream)
        environment = got.entry.get("environment")
        if self.environment is not None and environment != self.environment:
            raise Refused(
                f"from environment {environment!r}, not {self.environment!r} (claims host {got.host!r})", "environment"
            )
        late = int(stream_id.split("-")[0]) / 1000 - got.sent_ms / 1000
        if late > REPLAY_LIMIT:
            raise Refused(
                f"reached the stream {format_duration(late)} after it was mirrored (claims host {got.host!r}, seq "
                f"{got.seq}): a copy of an old entry, or a clock that far behind",
                "replay",
            )
        return got

    def _refuse(self, stream_id: str, exc: Refused) -> list[Event]:
        """The first refusal of a kind in a minute is said in full; the rest are counted for the summary."""
        if exc.kind in self._told:
            self._refused[exc.kind] += 1
            return []
        self._told.add(exc.kind)
        return [Notice("refused", f"stream entry {stream_id} refused: {exc}", stream_id)]

    def _summary(self) -> list[Event]:
        """Once a minute: how many more entries were refused, by kind (nothing when none were)."""
        now = self.clock()
        if now < self._summary_due:
            return []
        self._summary_due = now + SUMMARY_EVERY
        self._told.clear()
        if not self._refused:
            return []
        total = sum(self._refused.values())
        kinds = ", ".join(f"{n} {_REFUSAL_WORDS[kind]}" for kind, n in self._refused.most_common())
        self._refused.clear()
        return [
            Notice(
                "refused", f"{total} more stream entr{'y' if total == 1 else 'ies'} refused in the last minute: {kinds}"
            )
        ]

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
