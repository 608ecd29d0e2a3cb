"""Reach every configured target once (for `incident-console check`): HTTP, PostgreSQL, Redis, logs, commands."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.config import Config, LogSettings, MetricTarget
from console.redact import Redactor

REACH_TIMEOUT = 5.0


@dataclass(frozen=True)
class Reach:
    """Whether one target answered, with a short reason (`checked` false: it cannot be reached without acting, e.g. a
    webhook that would post)."""

    kind: str
    name: str
    ok: bool
    detail: str
    checked: bool = True


def executable(program: str, base: Path) -> bool:
    """Whether argv[0] can run: a path (relative to the config's folder) or a name on PATH."""
    if "/" in program:
        path = (base / program).expanduser()
        return path.is_file() and os.access(path, os.X_OK)
    return shutil.which(program) is not None


async def reach_all(config: Config) -> list[Reach]:
    """Every configured target (through the source registry), then every command action's program."""
    from console.sources.base import configured, resolve

    jobs = [job for kind in configured(config) for job in resolve(kind.reach)(config)]
    results = list(await asyncio.gather(*jobs))
    for name, spec in config.actions.items():
        program = spec.command[0] if spec.command else "bash"  # a script runs as `bash -c`
        ok = executable(program, config.base_dir)
        results.append(Reach("action", name, ok, f"{program} {'found' if ok else 'not found or not executable'}"))
    redactor = Redactor(config.secrets)
    return [Reach(r.kind, r.name, r.ok, redactor.text(r.detail)) for r in results]


def health(config: Config) -> list[Awaitable[Reach]]:
    return [_http(config, "health", t.name, t.url, t.timeout, t.request()) for t in config.health]


def metric(config: Config) -> list[Awaitable[Reach]]:
    return [_metric(config, target) for target in config.metric]


def _metric(config: Config, target: MetricTarget) -> Awaitable[Reach]:
    """Its URL, Prometheus for a query, Redis for a key count, else its program (a metric has exactly one)."""
    if target.url is not None:
        return _http(config, "metric", target.name, target.url, target.timeout, target.request())
    prometheus = config.prometheus
    if target.promql is not None:
        ready = f"{prometheus.url.rstrip('/')}/-/ready" if prometheus else ""
        return _http(config, "metric", target.name, ready, target.timeout, prometheus.route() if prometheus else {})
    if target.redis_keys is not None and config.redis is not None:
        return _redis(config.redis.url, "metric", target.name)
    assert target.command is not None
    return _program("metric", target.name, target.command[0], config.base_dir)


def alertmanager(config: Config) -> list[Awaitable[Reach]]:
    settings = config.alertmanager
    if settings is None:
        return []
    ready = f"{settings.url.rstrip('/')}/-/ready"
    return [_http(config, "alertmanager", "alerts", ready, settings.timeout, settings.route())]


def postgres(config: Config) -> list[Awaitable[Reach]]:
    return [_postgres(config.postgres.dsn)] if config.postgres else []


def redis(config: Config) -> list[Awaitable[Reach]]:
    return [_redis(config.redis.url)] if config.redis else []


def logs(config: Config) -> list[Awaitable[Reach]]:
    return [_log(log, config.base_dir) for log in config.logs]


async def _log(log: LogSettings, base: Path) -> Reach:
    if log.path is not None:
        path = base / log.path.expanduser()
        ok = path.is_file() and os.access(path, os.R_OK)
        return Reach("log", log.name, ok, f"{path} {'readable' if ok else 'missing or unreadable'}")
    assert log.command is not None  # a log has a path or a command (LogSettings)
    return await _program("log", log.name, log.command[0], base)


async def _program(kind: str, name: str, program: str, base: Path) -> Reach:
    ok = executable(program, base)
    return Reach(kind, name, ok, f"{program} {'found' if ok else 'not found'}")


async def _http(config: Config, kind: str, name: str, url: str, timeout: float, request: dict[str, Any]) -> Reach:
    """One request through the HTTP layer and `fetch`, as `[console]` and the target route it, so `check` fails for
    the reason a tile would."""
    from console.http import HttpClient, fetch

    client = HttpClient(ca_file=config.console.ca_file, proxy=config.console.proxy)
    try:
        result = await fetch(client, url, timeout, **request)
    finally:
        await client.aclose()
    if result.error:
        return Reach(kind, name, False, f"{result.error} ({url})")
    return Reach(kind, name, True, f"HTTP {result.status_code} in {result.latency_ms:.0f} ms ({url})")


async def _postgres(dsn: str) -> Reach:
    import asyncpg

    started = time.monotonic()
    try:
        conn = await asyncpg.connect(
            dsn, timeout=REACH_TIMEOUT, server_settings={"application_name": "incident-console"}
        )
        try:
            version = await conn.fetchval("SHOW server_version", timeout=REACH_TIMEOUT)
        finally:
            await conn.close(timeout=REACH_TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return Reach("postgres", "postgres", False, f"{type(exc).__name__}: {exc}")
    ms = (time.monotonic() - started) * 1000
    return Reach("postgres", "postgres", True, f"PostgreSQL {version}, connected in {ms:.0f} ms")


async def _redis(url: str, kind: str = "redis", name: str = "redis") -> Reach:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    client = aioredis.from_url(url, socket_timeout=REACH_TIMEOUT, socket_connect_timeout=REACH_TIMEOUT)
    started = time.monotonic()
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        return Reach(kind, name, False, f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return Reach(kind, name, True, f"PING in {(time.monotonic() - started) * 1000:.1f} ms")
