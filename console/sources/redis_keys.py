"""How many Redis keys a pattern matches, read without blocking the server: a bounded sample of plain SCANs matched
here and extrapolated with DBSIZE (`estimate_matches`). The flush's preview (actions/redis.py) and the
`[[metric]] redis_keys` count (`RedisKeysSource`) both read it; neither runs KEYS or an unbounded SCAN.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from console.clock import Clock
from console.config import MetricTarget, RedisSettings
from console.models import State
from console.models.health import HISTORY, MetricSnapshot, threshold_state
from console.redact import Redactor
from console.sources.base import Feed, Feeds
from console.sources.redis import explain, open_client, raise_if_cancelled

if TYPE_CHECKING:
    from redis.asyncio import Redis

SCAN_COUNT = 1000  # a sample's page
SAMPLE_SCANS = 10  # at most this many pages per estimate: 10,000 keys read, whatever the keyspace
SAMPLE_KEYS = 10
_ANY_BYTE = frozenset(range(256))
_STAR = "*"


class Glob:
    """A Redis MATCH pattern compiled for local matching, with the server's semantics (util.c stringmatchlen).

    `*` any run, `?` any byte, `[abc]` `[a-z]` `[^a]` classes, `\\x` a literal x; an unterminated class runs
    to the end of the pattern.
    """

    def __init__(self, pattern: bytes) -> None:
        self.pattern = pattern
        self.tokens = _tokens(pattern)
        self._regex = re.compile(b"".join(_token_regex(t) for t in self.tokens), re.DOTALL)

    def match(self, key: bytes) -> bool:
        return self._regex.fullmatch(key) is not None

    @property
    def matches_everything(self) -> bool:
        """True for `*`, `**`, `?*`, `*?*`...: a star and otherwise only any-byte positions."""
        return _STAR in self.tokens and all(t in (_STAR, _ANY_BYTE) for t in self.tokens)


def _tokens(pattern: bytes) -> list[str | frozenset[int]]:
    """The pattern as a list of `*` and sets of the bytes each position may hold."""
    tokens: list[str | frozenset[int]] = []
    i, end = 0, len(pattern)
    while i < end:
        char = pattern[i]
        if char == ord("*"):
            if not tokens or tokens[-1] != _STAR:
                tokens.append(_STAR)
        elif char == ord("?"):
            tokens.append(_ANY_BYTE)
        elif char == ord("\\") and i + 1 < end:
            i += 1
            tokens.append(frozenset({pattern[i]}))
        elif char == ord("["):
            i, members = _bracket(pattern, i + 1)
            tokens.append(members)
        else:
            tokens.append(frozenset({char}))
        i += 1
    return tokens


def _bracket(pattern: bytes, i: int) -> tuple[int, frozenset[int]]:
    """Parse a class starting after `[`: (index of its `]` or the end, the bytes it matches)."""
    end = len(pattern)
    negate = i < end and pattern[i] == ord("^")
    i += negate
    members: set[int] = set()
    while i < end and pattern[i] != ord("]"):
        if pattern[i] == ord("\\") and i + 1 < end:
            i += 1
            members.add(pattern[i])
        elif i + 2 < end and pattern[i + 1] == ord("-"):
            low, high = sorted((pattern[i], pattern[i + 2]))
            members.update(range(low, high + 1))
            i += 2
        else:
            members.add(pattern[i])
        i += 1
    return i, frozenset(_ANY_BYTE - members) if negate else frozenset(members)


def _token_regex(token: str | frozenset[int]) -> bytes:
    if isinstance(token, str):  # _STAR, the one token in words
        return b".*"
    if token == _ANY_BYTE:
        return b"."
    if not token:
        return b"(?!)"
    return b"[" + b"".join(b"\\x%02x" % byte for byte in sorted(token)) + b"]"


def pattern_bytes(pattern: str) -> bytes:
    """The pattern as sent to Redis: UTF-8."""
    return pattern.encode("utf-8")


@dataclass(frozen=True)
class Estimate:
    """How many keys a pattern matches, from a sample of the keyspace."""

    matched: int
    sampled: int
    total: int
    complete: bool
    examples: list[bytes]

    @property
    def keys(self) -> int:
        if self.complete:
            return min(self.matched, self.total)
        return round(self.matched / self.sampled * self.total) if self.sampled else 0

    @property
    def share(self) -> float:
        return self.keys / self.total if self.total else 0.0

    def describe(self) -> str:
        """e.g. '~12,000 of 120,000 keys (sampled 10,000 keys, 8%; ±560 at 95%)'."""
        if self.complete:
            return f"{self.keys:,} of {self.total:,} keys (scanned them all)"
        if not self.sampled:
            return f"0 of {self.total:,} keys"
        fraction = self.sampled / self.total
        sampled = f"sampled {self.sampled:,} keys, {fraction:.0%}" if fraction >= 0.01 else f"sampled {self.sampled:,}"
        if self.matched == 0:
            ceiling = math.ceil(3 / self.sampled * self.total)  # the rule of three: 95% upper bound
            return f"~0 of {self.total:,} keys (none in {sampled}; at most ~{ceiling:,} at 95%)"
        share = self.matched / self.sampled
        correction = math.sqrt(max(0.0, (self.total - self.sampled) / max(1, self.total - 1)))
        margin = round(1.96 * math.sqrt(share * (1 - share) / self.sampled) * correction * self.total)
        return f"~{self.keys:,} of {self.total:,} keys ({sampled}; ±{margin:,} at 95%)"


async def estimate_matches(client: Redis, glob: Glob, timeout: float, *, wanted: int = SAMPLE_KEYS) -> Estimate:
    """Sample the keyspace with a bounded number of plain SCANs, match locally, extrapolate with DBSIZE; keep up to
    `wanted` matching keys as examples (the flush's preview shows them; a count wants none)."""
    async with asyncio.timeout(timeout):
        total = int(await client.dbsize())
    cursor, sampled, matched, complete = 0, 0, 0, False
    examples: list[bytes] = []
    for _ in range(SAMPLE_SCANS):
        cursor, keys = await _scan(client, cursor, timeout)
        sampled += len(keys)
        for key in keys:
            if glob.match(key):
                matched += 1
                if len(examples) < wanted:
                    examples.append(key)
        if cursor == 0:
            complete = True
            break
    # Rare keys: look a little further with MATCH so the preview still shows what would go.
    for _ in range(SAMPLE_SCANS if cursor and len(examples) < wanted else 0):
        cursor, keys = await _scan(client, cursor, timeout, match=glob.pattern)
        examples += keys[: wanted - len(examples)]
        if cursor == 0 or len(examples) >= wanted:
            break
    return Estimate(matched=matched, sampled=sampled, total=total, complete=complete, examples=examples)




class RedisKeysSource:
    """`[[metric]] redis_keys = "session:*"`: how many keys of `[redis]`'s database match, on each target's interval.
    Read only, and bounded like the flush's preview: SAMPLE_SCANS pages of SCAN_COUNT at most, so past 10,000 keys
    the count is an estimate (its reason says so). One connection for every target; a failure is DOWN in words."""

    section = "metric"

    def __init__(
        self,
        targets: Iterable[MetricTarget],
        settings: RedisSettings,
        clock: Clock | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.targets = {t.name: t for t in targets}
        self.settings = settings
        self.clock = clock or Clock()
        self.redactor = redactor or Redactor()
        self.last: dict[str, MetricSnapshot] = {}
        self._history: dict[str, deque[float]] = {name: deque(maxlen=HISTORY) for name in self.targets}
        self._client: Redis | None = None

    def add_to(self, feeds: Feeds, refresh: float) -> None:
        for name, target in self.targets.items():
            feeds.polled.append(
                Feed(f"metric:{name}", target.interval or refresh, target.timeout + 1, partial(self.poll_one, name))
            )
        feeds.closers.append(self.close)

    async def poll_one(self, name: str) -> MetricSnapshot:
        """Count one target's keys; never raises (except on cancellation)."""
        target = self.targets[name]
        assert target.redis_keys is not None, "a redis_keys metric has a pattern"
        history = self._history[name]
        try:
            async with asyncio.timeout(target.timeout):
                if self._client is None:
                    self._client = open_client(self.settings.url, target.timeout)
                glob = Glob(pattern_bytes(target.redis_keys))
                found = await estimate_matches(self._client, glob, target.timeout, wanted=0)
        except Exception as exc:  # a source never raises into the UI
            raise_if_cancelled()
            await self.close()
            state, reason, value = State.DOWN, explain(exc, target.timeout), None
        else:
            value = float(found.keys)
            history.append(value)
            state, reason = threshold_state(value, target.warn, target.crit, below=target.below, unit=target.unit)
            counted = found.describe()
            reason = f"{reason}; {counted}" if reason else counted
        snapshot = MetricSnapshot(
            name=name,
            state=state,
            reason=self.redactor.text(reason),
            value=value,
            unit=target.unit,
            warn=target.warn,
            crit=target.crit,
            below=target.below,
            taken_at=self.clock.now(),
            history=list(history),
            previous=getattr(self.last.get(name), "state", None),
        )
        self.last[name] = snapshot
        return snapshot

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                async with asyncio.timeout(self.settings.timeout):
                    await client.aclose()
            except Exception:  # the connection is already broken; nothing left to release
                pass


async def _scan(client: Redis, cursor: int, timeout: float, match: bytes | None = None) -> tuple[int, list[bytes]]:
    """One SCAN page. redis-py types the keys for both decode modes: this client does not decode."""
    async with asyncio.timeout(timeout):
        cursor, keys = await client.scan(cursor, match=match, count=SCAN_COUNT)
    return cursor, cast(list[bytes], keys)
