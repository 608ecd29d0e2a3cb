"""Reach every configured target once (for `incident-console check`): HTTP, PostgreSQL, Redis, logs, commands."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from console.config import Config
from console.redact import Redactor

REACH_TIMEOUT = 5.0


@dataclass(frozen=True)
class Reach:
    """Whether one target answered, with a short reason."""

    kind: str
    name: str
    ok: bool
    detail: str


def executable(program: str, base: Path) -> bool:
    """Whether argv[0] can run: a path (relative to the config's folder) or a name on PATH."""
    if "/" in program:
        path = (base / program).expanduser()
        return path.is_file() and os.access(path, os.X_OK)
    return shutil.which(program) is not None


async def reach_all(config: Config) -> list[Reach]:
    redactor = Redactor(config.secrets)
    jobs = [_http("health", t.name, t.url, t.timeout) for t in config.health]
    jobs += [_http("metric", t.name, t.url, t.timeout) for t in config.metric]
    if config.postgres:
        jobs.append(_postgres(config.postgres.dsn))
    if config.redis:
        jobs.append(_redis(config.redis.url))
    results = list(await asyncio.gather(*jobs))
    for log in config.logs:
        if log.path is not None:
            path = config.base_dir / log.path.expanduser()
            ok = path.is_file() and os.access(path, os.R_OK)
            results.append(Reach("log", log.name, ok, f"{path} {'readable' if ok else 'missing or unreadable'}"))
        else:
            ok = executable(log.command[0], config.base_dir)
            results.append(Reach("log", log.name, ok, f"{log.command[0]} {'found' if ok else 'not found'}"))
    for name, spec in config.actions.items():
        ok = executable(spec.command[0], config.base_dir)
        results.append(
            Reach("action", name, ok, f"{spec.command[0]} {'found' if ok else 'not found or not executable'}")
        )
    return [Reach(r.kind, r.name, r.ok, redactor.text(r.detail)) for r in results]


async def _http(kind: str, name: str, url: str, timeout: float) -> Reach:
    import httpx

    started = time.monotonic()
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            ms = (time.monotonic() - started) * 1000
            return Reach(kind, name, True, f"HTTP {response.status_code} in {ms:.0f} ms ({url})")
    except httpx.TimeoutException:
        return Reach(kind, name, False, f"timeout after {timeout:g}s ({url})")
    except httpx.HTTPError as exc:
        return Reach(kind, name, False, f"{type(exc).__name__}: {exc or 'failed'} ({url})")


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


async def _redis(url: str) -> Reach:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    client = aioredis.from_url(url, socket_timeout=REACH_TIMEOUT, socket_connect_timeout=REACH_TIMEOUT)
    started = time.monotonic()
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        return Reach("redis", "redis", False, f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return Reach("redis", "redis", True, f"PING in {(time.monotonic() - started) * 1000:.1f} ms")
