"""flush-cache: delete the keys matching a glob without blocking Redis (SCAN MATCH + UNLINK per page, never KEYS)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from actions.base import Action, ActionContext, ParamError, Progress
from actions.runner import ActionRefused
from console.config import RedisSettings
from console.models import ConfirmLevel, Outcome, OutcomeStatus, Plan, Risk, format_duration
from console.models.redis import display_bytes
from console.sources.redis import describe_target, explain, open_client, raise_if_cancelled, url_db
from console.sources.redis_keys import Glob, estimate_matches, pattern_bytes

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection

FIRST_COUNT = 300  # where the flush's adaptive COUNT starts: about PAGE_BUDGET on an ordinary server
MIN_COUNT = 50
MAX_COUNT = 5000
PAGE_BUDGET = 0.0005  # server seconds per page (its SCAN and its UNLINK, run back to back): a PING waits no longer
SHRINK_AT_MOST = 0.5  # one resize of COUNT at most halves it...
GROW_AT_MOST = 1.5  # ...or grows it by half
OVERLAP_WITHIN = 2.0  # the next SCAN overlaps this UNLINK while a page takes at most this many budgets
STATS_EVERY = 8  # pages between two reads of INFO commandstats (the server's own time per call)
RTT_ALARM = 0.02  # a round trip this slow shrinks COUNT at once, whatever the server says
REPORT_EVERY = 0.5
RATE_STEPS_PER_S = 10


class FlushParams(BaseModel):
    """Parameters of flush-cache."""

    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(description="glob of the keys to delete (Redis MATCH syntax), e.g. session:*")
    db: int | None = Field(default=None, ge=0, description="database number (default: the one in [redis] url)")
    max_rate: float | None = Field(default=None, gt=0, description="delete at most this many keys per second")

    @field_validator("pattern")
    @classmethod
    def _not_blank(cls, pattern: str) -> str:
        if not pattern.strip():
            raise ValueError("the pattern is empty; name the keys to delete, e.g. session:*")
        try:
            pattern_bytes(pattern)
        except UnicodeEncodeError:
            raise ValueError("the pattern holds bytes that are not UTF-8; match them with ? or [^...]") from None
        return pattern


class FlushCache(Action):
    """Delete the keys matching a pattern, a page at a time, so the flush never becomes the outage."""

    name = "flush-cache"
    risk = Risk.DESTRUCTIVE
    description = "delete Redis keys matching a pattern (SCAN + UNLINK, cancellable, optional rate limit)"
    Params = FlushParams

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        assert isinstance(params, FlushParams)
        settings = _settings(ctx)
        db = url_db(settings.url) if params.db is None else params.db
        glob = Glob(pattern_bytes(params.pattern))
        client = open_client(settings.url, settings.timeout, db)
        try:
            estimate = await estimate_matches(client, glob, settings.timeout)
            rows = await _describe_keys(client, estimate.examples, settings.timeout)
        except Exception as exc:
            raise_if_cancelled()
            reason = ctx.redactor.text(explain(exc, settings.timeout))
            raise ActionRefused(f"{self.name}: cannot read db {db} ({reason}); nothing was run") from None
        finally:
            await _close(client, settings.timeout)
        confirm, reason = ConfirmLevel.YES, ""
        if glob.matches_everything:
            confirm, reason = ConfirmLevel.TYPED, f"the pattern {params.pattern!r} matches every key in db {db}"
        elif estimate.share > settings.flush_confirm_share:
            confirm = ConfirmLevel.TYPED
            reason = f"~{estimate.share:.0%} of db {db} matches (over {settings.flush_confirm_share:.0%})"
        rate = f"at most {params.max_rate:,.0f} keys/s" if params.max_rate else "no rate limit (--max-rate caps it)"
        notes = [
            f"SCAN MATCH {params.pattern!r} + UNLINK per page (never KEYS), COUNT {MIN_COUNT}-{MAX_COUNT:,} "
            f"adapted to keep each page near {PAGE_BUDGET * 1000:g} ms of server time; {rate}",
            "cancellable at any moment; the journal records exactly how many keys were deleted",
        ]
        if not estimate.examples:
            notes.append("no matching key found while sampling: the flush may delete nothing")
        return Plan(
            action=self.name,
            risk=self.risk,
            params={"pattern": params.pattern, "db": db, "max_rate": params.max_rate},
            summary=(
                f"delete keys matching {params.pattern!r} in db {db} on {describe_target(settings.url)}: "
                f"{estimate.describe()}"
            ),
            columns=["key", "type", "ttl"],
            rows=rows,
            notes=notes,
            confirm=confirm,
            confirm_text=ctx.environment if confirm is ConfirmLevel.TYPED else None,
            confirm_reason=reason,
            created_at=ctx.clock(),
            detail={"estimate": estimate.keys, "total": estimate.total, "sampled": estimate.sampled},
        )

    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        params = FlushParams.model_validate(plan.params)
        settings = _settings(ctx)
        estimate = int(plan.detail.get("estimate", 0))
        progress.set_total(estimate)
        client = open_client(settings.url, settings.timeout, params.db)
        flush = _Flush(client, pattern_bytes(params.pattern), settings.timeout, params.max_rate, progress)
        try:
            finished = await flush.run()
        except Exception as exc:
            raise_if_cancelled()
            reason = ctx.redactor.text(explain(exc, settings.timeout))
            return Outcome(
                status=OutcomeStatus.FAILED,
                message=f"Redis failed after {flush.deleted:,} keys were deleted: {reason} ({flush.count_range()})",
                counts={"deleted": flush.deleted},
            )
        finally:
            await _close(client, settings.timeout)
        where = f"matching {params.pattern!r} in db {params.db} (estimate ~{estimate:,})"
        if not finished:
            return Outcome(
                status=OutcomeStatus.CANCELLED,
                message=f"cancelled after deleting {flush.deleted:,} keys {where}; {flush.count_range()}",
                counts={"deleted": flush.deleted},
            )
        return Outcome(
            status=OutcomeStatus.COMPLETED,
            message=f"deleted {flush.deleted:,} keys {where} at {flush.rate():,.0f} keys/s; {flush.count_range()}",
            counts={"deleted": flush.deleted},
        )


class _Flush:
    """The SCAN MATCH + UNLINK loop on two connections of its own, each page held to a server-time budget.

    A page is a plain SCAN and an UNLINK of what it found (no script: Lua's own time per key would be Redis's
    too); the keys travel as bytes, parsed and packed by hiredis, never decoded. While the budget holds, the
    next SCAN is sent the moment a SCAN reply arrives, and the page's UNLINK follows on the other connection:
    Redis always has the next call queued, so it runs the flush back to back while this process reads replies,
    and serves other clients between calls (a PING waits for about one page at most).

    COUNT adapts to the server's time per page: every STATS_EVERY pages INFO commandstats says how many
    microseconds Redis spent in SCAN and UNLINK per page since the last look, and COUNT shrinks when a page ran
    over PAGE_BUDGET and grows when under. A round trip (timed on every call) also holds this process's work
    and the wait for a core, so it is not the budget; it shrinks COUNT at once when one runs over RTT_ALARM (a
    server in trouble), and it decides when INFO is refused. Under --max-rate COUNT stays within a tenth of a
    second's keys and each page waits its turn. `deleted` is always exactly what Redis reported, even when
    cancelled mid-call; the COUNT range used is reported in the progress and the outcome message (so journaled).
    """

    def __init__(
        self, client: Redis, pattern: bytes, timeout: float, max_rate: float | None, progress: Progress
    ) -> None:
        self.client = client
        self.pattern = pattern
        self.timeout = timeout
        self.max_rate = max_rate
        self.progress = progress
        self.deleted = 0
        self.started = time.monotonic()
        self._reported = self.started
        self._ceiling = max(1, min(MAX_COUNT, int(max_rate / RATE_STEPS_PER_S))) if max_rate else MAX_COUNT
        self.count = min(FIRST_COUNT, self._ceiling)
        self.count_low = self.count_high = self.count
        self._slowest = 0.0  # the slowest round trip of the current page, in seconds
        self._scan_sent = self._unlink_sent = 0.0
        self._stopping = False  # the task was cancelled: stop between two pages, as on the operator's cancel
        self._pages_seen = 0
        self._stats: dict[str, tuple[int, int]] | None = None  # command -> (calls, usec) at the last look
        self._use_stats = True
        self._held = True

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.deleted / elapsed if elapsed > 0 else 0.0

    def count_range(self) -> str:
        """The SCAN COUNT range used so far, e.g. 'SCAN COUNT 180-1,000'."""
        if self.count_low == self.count_high:
            return f"SCAN COUNT {self.count_low:,}"
        return f"SCAN COUNT {self.count_low:,}-{self.count_high:,}"

    async def run(self) -> bool:
        """Flush until the scan completes (True) or the operator cancels (False).

        A cancelled task stops the flush between two pages as the operator's cancel does, so the UNLINK in
        flight is read and counted before the cancel goes on.
        """
        flushing = asyncio.ensure_future(self._flush())
        try:
            return await asyncio.shield(flushing)
        except asyncio.CancelledError:
            self._stopping = True
            with contextlib.suppress(Exception):
                await flushing
            raise

    async def _flush(self) -> bool:
        await self._server_time()
        async with self._connection() as scanner, self._connection() as deleter:
            return await self._pages(scanner, deleter)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[AbstractConnection]:
        """A connection made as the client's pool makes them, but without a socket timeout: the flush holds each
        page's calls to `timeout` with one timer (in Python 3.11 a socket timeout costs a task per command)."""
        pool = self.client.connection_pool
        connection = pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": None})
        try:
            async with asyncio.timeout(self.timeout):
                await connection.connect()
            yield connection
        finally:
            with contextlib.suppress(Exception):
                await connection.disconnect(nowait=True)

    async def _pages(self, scanner: AbstractConnection, deleter: AbstractConnection) -> bool:
        """SCAN on one connection, UNLINK on the other, a page behind: while the budget holds, each SCAN reply
        sends the next SCAN at once, so Redis runs it while this process reads the last UNLINK's reply and
        sends this page's UNLINK (the server always has the next call queued, never two pages at a time)."""
        async with asyncio.timeout(self.timeout):
            await self._send_scan(scanner, 0)
        unlinking: list[bytes] = []  # the keys of the UNLINK in flight
        while True:
            async with asyncio.timeout(self.timeout):
                cursor, keys = await self._read_scan(scanner)
                ahead = cursor != 0 and self._held
                if ahead:
                    await self._send_scan(scanner, cursor)
                await self._read_unlink(deleter, unlinking)
            await self._settle()
            if self._stopping or self.progress.cancelled.is_set():
                return False
            async with asyncio.timeout(self.timeout):
                await self._send_unlink(deleter, keys)
                await self._adapt()
                if not ahead:  # over budget, or the last page: one call at a time
                    await self._read_unlink(deleter, keys)
                    if cursor:
                        await self._send_scan(scanner, cursor)
            unlinking = keys if ahead else []
            if cursor == 0:
                await self._settle()
                return True

    async def _send_scan(self, scanner: AbstractConnection, cursor: int) -> None:
        self._scan_sent = time.perf_counter()
        await scanner.send_command("SCAN", cursor, "MATCH", self.pattern, "COUNT", self.count)

    async def _read_scan(self, scanner: AbstractConnection) -> tuple[int, list[bytes]]:
        cursor, keys = await scanner.read_response()
        self._slowest = max(self._slowest, time.perf_counter() - self._scan_sent)
        return int(cursor), keys

    async def _send_unlink(self, deleter: AbstractConnection, keys: list[bytes]) -> None:
        self._unlink_sent = time.perf_counter()
        if keys:
            await deleter.send_command("UNLINK", *keys)

    async def _read_unlink(self, deleter: AbstractConnection, keys: list[bytes]) -> None:
        if keys:
            removed = int(await deleter.read_response())
            self._slowest = max(self._slowest, time.perf_counter() - self._unlink_sent)
            self.deleted += removed
            self.progress.add("deleted", removed)

    async def _settle(self) -> None:
        """Keep to --max-rate and report, between two pages."""
        if self.max_rate:
            ahead = self.deleted / self.max_rate - (time.monotonic() - self.started)
            if ahead > 0:
                await asyncio.sleep(ahead)
        now = time.monotonic()
        if now - self._reported >= REPORT_EVERY:
            self._reported = now
            self.progress.message(f"{self.deleted:,} keys deleted, {self.rate():,.0f} keys/s; {self.count_range()}")

    async def _adapt(self) -> None:
        """Resize COUNT from the server's time per page (or the round trips); overlap only while the budget holds."""
        slowest, self._slowest = self._slowest, 0.0
        self._pages_seen += 1
        if slowest > RTT_ALARM:
            self._resize(SHRINK_AT_MOST)
            self._held = False
        elif self._use_stats and self._pages_seen % STATS_EVERY == 0:
            server = await self._server_time()
            if server is not None:
                self._resize(PAGE_BUDGET / server if server > 0 else GROW_AT_MOST)
                self._held = server <= OVERLAP_WITHIN * PAGE_BUDGET
        elif not self._use_stats and slowest > 0:
            self._resize(PAGE_BUDGET / slowest)
            self._held = slowest <= OVERLAP_WITHIN * PAGE_BUDGET

    def _resize(self, factor: float) -> None:
        factor = min(GROW_AT_MOST, max(SHRINK_AT_MOST, factor))
        self.count = max(min(MIN_COUNT, self._ceiling), min(self._ceiling, round(self.count * factor)))
        self.count_low = min(self.count_low, self.count)
        self.count_high = max(self.count_high, self.count)

    async def _server_time(self) -> float | None:
        """Redis's own seconds per page (its SCAN and UNLINK) since the last look; None without a baseline."""
        try:
            async with asyncio.timeout(self.timeout):
                info = await self.client.info("commandstats")
        except Exception:  # INFO renamed or refused by an ACL: the round trips decide
            self._use_stats = False
            return None
        now = {
            c: (int(info.get(f"cmdstat_{c}", {}).get("calls", 0)), int(info.get(f"cmdstat_{c}", {}).get("usec", 0)))
            for c in ("scan", "unlink")
        }
        before, self._stats = self._stats, now
        pages = now["scan"][0] - before["scan"][0] if before else 0
        if before is None or pages <= 0:
            return None
        return sum(now[c][1] - before[c][1] for c in now) / pages / 1e6


async def _describe_keys(client: Redis, keys: list[bytes], timeout: float) -> list[list[str]]:
    """Rows of (key, type, ttl) for the sample keys, in one round trip."""
    if not keys:
        return []
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
        pipe.pttl(key)
    async with asyncio.timeout(timeout):
        answers = await pipe.execute()
    rows = []
    for key, kind, ttl in zip(keys, answers[::2], answers[1::2], strict=True):
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        shown_ttl = "none" if ttl == -1 else "gone" if ttl == -2 else format_duration(ttl / 1000)
        rows.append([display_bytes(key), kind, shown_ttl])
    return rows


def _settings(ctx: ActionContext) -> RedisSettings:
    if ctx.config.redis is None:
        raise ParamError("flush-cache: the config has no [redis] section")
    return ctx.config.redis


async def _close(client: Redis, timeout: float) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(timeout):
            await client.aclose()


def redis_actions() -> list[Action]:
    """The built-in Redis actions."""
    return [FlushCache()]
