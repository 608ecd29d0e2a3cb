"""The Redis source: PING, INFO and SLOWLOG in one poll; never raises, reconnects with backoff."""

from __future__ import annotations

import asyncio
import functools
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from console.clock import Clock
from console.config import Config, RedisSettings
from console.models import State, format_duration
from console.models.redis import RedisSnapshot, SlowlogEntry, display_bytes
from console.redact import Redactor
from console.sources.base import Feed, Feeds

if TYPE_CHECKING:
    from redis.asyncio import Redis

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 15.0
SLOWLOG_TOP = 10
ARG_WIDTH = 40
COMMAND_WIDTH = 200
# Commands whose arguments may carry credentials: keep the command (and subcommand), hide the rest.
_SECRET_ARGS = {"AUTH": 0, "HELLO": 0, "MIGRATE": 0, "ACL": 1, "CONFIG": 1}
_DB_KEY = re.compile(r"^db(\d+)$")


def raise_if_cancelled() -> None:
    """redis-py turns a cancellation in the middle of a command into a ConnectionError: a caller that catches
    Redis errors must not swallow the cancel with it (the task would run on, and whoever awaits it, forever)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def open_client(url: str, timeout: float, db: int | None = None) -> Redis:
    """A redis.asyncio client (hiredis parser) with `timeout` on connect and every read, no hidden retries.

    `db` overrides the URL's database number. Over TCP, commands are packed by hiredis too.
    """
    from redis.asyncio import ConnectionPool, Redis
    from redis.asyncio.connection import parse_url
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    options: dict[str, Any] = dict(parse_url(url))
    if db is not None:
        options["db"] = db
    options.setdefault("connection_class", _hiredis_packing_connection())
    pool = ConnectionPool(
        **options,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        client_name="incident-console",
    )
    return Redis.from_pool(pool)


@functools.cache
def _hiredis_packing_connection() -> type:
    """redis.asyncio's TCP Connection with hiredis' C command packer.

    redis-py packs asyncio commands in Python: ~0.5 ms for an UNLINK of 1,000 keys, about what Redis needs to
    run it. hiredis packs the same command in ~0.08 ms.
    """
    import hiredis
    from redis.asyncio.connection import Connection

    class HiredisPackingConnection(Connection):
        def pack_command(self, *args: Any) -> list[bytes]:
            # As redis-py does: a multi-word command name ("CONFIG GET") is sent as separate arguments.
            if isinstance(args[0], str):
                args = (*args[0].encode().split(), *args[1:])
            elif b" " in args[0]:
                args = (*args[0].split(), *args[1:])
            try:
                return [hiredis.pack_command(args)]
            except TypeError:  # a type only redis-py's encoder knows (memoryview) or rejects with a clear error
                return super().pack_command(*args)

    return HiredisPackingConnection


def url_db(url: str) -> int:
    """The database number a Redis URL names (0 when it names none)."""
    from redis.asyncio.connection import parse_url

    return int(parse_url(url).get("db", 0))


def describe_target(url: str) -> str:
    """`host:port/db` or `unix:/path/db`, without credentials, for titles and messages."""
    from redis.asyncio.connection import parse_url

    options = parse_url(url)
    db = options.get("db", 0)
    if "path" in options:
        return f"unix:{options['path']}/{db}"
    return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}/{db}"


def url_redactor(url: str) -> Redactor:
    """A Redactor that also hides this URL's password wherever it appears (e.g. in a SLOWLOG argument)."""
    from redis.asyncio.connection import parse_url

    password = parse_url(url).get("password")
    return Redactor([password] if password else [])


def explain(exc: BaseException, timeout: float) -> str:
    """An error from redis-py or the network, in words."""
    from redis.exceptions import AuthenticationError, ResponseError
    from redis.exceptions import TimeoutError as RedisTimeout

    if isinstance(exc, TimeoutError | RedisTimeout):
        return f"no answer within {format_duration(timeout)}"
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    if isinstance(exc, AuthenticationError) or "NOAUTH" in text or "WRONGPASS" in text:
        return f"authentication failed: {text}"
    if isinstance(exc, ResponseError):
        return f"Redis refused a command: {text}"
    if _caused_by(exc, ConnectionRefusedError):
        return "connection refused (is redis-server running?)"
    return text


def _caused_by(exc: BaseException | None, kind: type[BaseException]) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kind):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


@dataclass(frozen=True)
class _Counters:
    """The cumulative INFO counters rates are derived from, and when they were read."""

    run_id: str
    hits: int
    misses: int
    evicted: int
    expired: int
    at: datetime


class RedisSource:
    """Polls one Redis. Failures become a DOWN snapshot with a reason; the next attempts back off."""

    def __init__(self, settings: RedisSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.target = describe_target(settings.url)
        self._redactor = url_redactor(settings.url)
        limits = {"hit_rate_warn_pct", "hit_rate_crit_pct", "memory_warn_pct", "memory_crit_pct"}
        self.limits = settings.model_dump(include=limits)  # the thresholds every snapshot is judged by
        self._client: Redis | None = None
        self._previous: _Counters | None = None
        self._failures = 0
        self._retry_at: datetime | None = None
        self._last_error = ""

    async def poll(self) -> RedisSnapshot:
        """One reading; never raises (except on cancellation)."""
        now = self.clock.now()
        if self._retry_at is not None and now < self._retry_at:
            wait = format_duration((self._retry_at - now).total_seconds())
            return self._down(f"{self._last_error}; next attempt in {wait}", now)
        try:
            snapshot = await self._read(now)
        except Exception as exc:  # a source never raises into the UI
            raise_if_cancelled()
            await self._drop()
            self._failures += 1
            backoff = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self._failures - 1))
            self._retry_at = now + timedelta(seconds=backoff)
            self._last_error = self._redactor.text(explain(exc, self.settings.timeout))
            return self._down(self._last_error, now)
        self._failures, self._retry_at = 0, None
        return snapshot

    async def close(self) -> None:
        await self._drop()

    async def _read(self, now: datetime) -> RedisSnapshot:
        timeout = self.settings.timeout
        client = self._client
        if client is None:
            client = self._client = open_client(self.settings.url, timeout)
            async with asyncio.timeout(timeout):
                await client.ping()  # connect first, so the timed PING below is one round trip
        async with asyncio.timeout(timeout):
            started = time.perf_counter()
            await client.ping()
            ping_ms = (time.perf_counter() - started) * 1000
        async with asyncio.timeout(timeout):
            pipe = client.pipeline(transaction=False)
            pipe.info()
            pipe.execute_command("SLOWLOG", "GET", SLOWLOG_TOP)
            info, slowlog = await pipe.execute()
        counters = _Counters(
            run_id=str(info.get("run_id", "")),
            hits=int(info.get("keyspace_hits", 0)),
            misses=int(info.get("keyspace_misses", 0)),
            evicted=int(info.get("evicted_keys", 0)),
            expired=int(info.get("expired_keys", 0)),
            at=now,
        )
        rates = _rates(self._previous, counters)
        ever = counters.hits + counters.misses
        self._previous = counters
        return RedisSnapshot(
            state=State.OK,
            target=self.target,
            ping_ms=ping_ms,
            used_memory=info.get("used_memory"),
            peak_memory=info.get("used_memory_peak"),
            max_memory=info.get("maxmemory") or None,
            eviction_policy=str(info.get("maxmemory_policy", "")),
            connected_clients=info.get("connected_clients"),
            blocked_clients=info.get("blocked_clients"),
            ops_per_sec=float(info.get("instantaneous_ops_per_sec", 0)),
            keys_per_db={int(m.group(1)): int(v.get("keys", 0)) for k, v in info.items() if (m := _DB_KEY.match(k))},
            role=str(info.get("role", "")),
            replication=_replication(info),
            slowlog=[self._slowlog_entry(raw) for raw in slowlog or []],
            hit_ratio_since_start=counters.hits / ever if ever else None,
            **self.limits,
            taken_at=now,
            **rates,
        ).evaluated()

    def _down(self, reason: str, now: datetime) -> RedisSnapshot:
        return RedisSnapshot(
            state=State.DOWN,
            reason=reason,
            target=self.target,
            **self.limits,
            taken_at=now,
        )

    async def _drop(self) -> None:
        client, self._client, self._previous = self._client, None, None
        if client is not None:
            try:
                async with asyncio.timeout(self.settings.timeout):
                    await client.aclose()
            except Exception:  # the connection is already broken; nothing left to release
                pass

    def _slowlog_entry(self, raw: list) -> SlowlogEntry:
        args = raw[3] if len(raw) > 3 and isinstance(raw[3], list) else []
        address = display_bytes(raw[4]) if len(raw) > 4 else ""
        name = display_bytes(raw[5]) if len(raw) > 5 else ""
        return SlowlogEntry(
            id=int(raw[0]),
            time=datetime.fromtimestamp(int(raw[1]), UTC),
            duration_us=int(raw[2]),
            command=self._redactor.text(command_text(args)),
            client=f"{address} ({name})" if name else address,
        )


def command_text(args: list[bytes]) -> str:
    """A SLOWLOG command line for display: credentials hidden, each argument and the whole line truncated."""
    words = [display_bytes(a) for a in args]
    if words:
        words[0] = words[0].upper()
        keep = _SECRET_ARGS.get(words[0])
        if keep is not None and len(words) > keep + 1:
            words = [*words[: keep + 1], "***"]
    text = " ".join(_truncate(w, ARG_WIDTH) for w in words)
    return _truncate(text, COMMAND_WIDTH)


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class _Rates(TypedDict):
    hit_ratio: float | None
    lookups: int | None
    evicted_per_s: float | None
    expired_per_s: float | None


def _rates(previous: _Counters | None, now: _Counters) -> _Rates:
    """Hit ratio and per-second rates since the previous reading (None across a restart or a first reading)."""
    empty: _Rates = {"hit_ratio": None, "lookups": None, "evicted_per_s": None, "expired_per_s": None}
    if previous is None or previous.run_id != now.run_id:
        return empty
    elapsed = (now.at - previous.at).total_seconds()
    hits, misses = now.hits - previous.hits, now.misses - previous.misses
    if elapsed <= 0 or min(hits, misses) < 0:
        return empty
    lookups = hits + misses
    return {
        "hit_ratio": hits / lookups if lookups else None,
        "lookups": lookups,
        "evicted_per_s": max(0, now.evicted - previous.evicted) / elapsed,
        "expired_per_s": max(0, now.expired - previous.expired) / elapsed,
    }


def _replication(info: dict[str, Any]) -> str:
    if info.get("role") == "master":
        replicas = int(info.get("connected_slaves", 0))
        return "no replicas" if replicas == 0 else f"{replicas} replica{'s' if replicas > 1 else ''}"
    link = info.get("master_link_status", "?")
    text = f"replica of {info.get('master_host', '?')}:{info.get('master_port', '?')}, link {link}"
    if "master_last_io_seconds_ago" in info and int(info["master_last_io_seconds_ago"]) >= 0:
        text += f", last I/O {info['master_last_io_seconds_ago']}s ago"
    return text


def build(config: Config, clock: Clock, feeds: Feeds) -> None:
    """The `[redis]` source, polled on the console's refresh."""
    assert config.redis is not None
    source = RedisSource(config.redis, clock)
    feeds.closers.append(source.close)
    # until console/sources/base.py (the registry rework) lets a Feed be a Source: frozen, poll awaitable
    feeds.polled.append(Feed("redis", config.console.refresh, config.redis.timeout * 4 + 5, source.poll))
