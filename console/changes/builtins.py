"""The built-in change sources, on whenever the ledger runs: `console:actions` (the console's completed actions that
change something, read back from the journal), `console:config` (the config file's sha256 differs from the last start
on this host), `postgres:settings` (a `pg_settings` snapshot differs from the last one) and `redis:config` (`CONFIG
GET *` differs). The last snapshot of each is a `change.baseline` journal entry, which checkpoints carry
(`console.journal.horizon.Summary.baselines`), so a start compares with it however long ago it was taken.

A setting whose name says it holds a secret (`requirepass`, `masterauth`, ...) is kept as a digest: the journal and
the screen say that it changed, never to what."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from console.changes.journaled import ACTIONS, JournalFollower
from console.changes.model import Change
from console.changes.readers import Reader, ReadError
from console.clock import Clock
from console.config import Config
from console.file_trust import CONFIG, UntrustedFile, read_trusted
from console.journal import actor_info

CONFIG_SOURCE, PG_SOURCE, REDIS_SOURCE = "console:config", "postgres:settings", "redis:config"
TIMEOUT = 10.0
APPLICATION = "incident-console"  # its connections' application_name, as the PostgreSQL source's
SECRET = re.compile(r"pass|auth|secret|key", re.IGNORECASE)
MAX_SHOWN = 120  # characters of a setting's value in a change's summary


def builtins(config: Config, follower: JournalFollower, clock: Clock) -> list[Reader]:
    """The built-in sources this config has: the actions and the config file always, PostgreSQL and Redis when set."""
    host = str(actor_info()["host"])
    found = [
        Reader(ACTIONS, lambda: _actions(follower), interval=config.console.refresh),
        Reader(CONFIG_SOURCE, _ConfigFile(config.source, follower, clock, host).read, interval=7 * 86400.0),
    ]
    if config.postgres is not None:
        dsn = config.postgres.dsn
        found.append(Reader(PG_SOURCE, lambda: _diff(PG_SOURCE, _pg_settings(dsn), follower, clock)))
    if config.redis is not None:
        url = config.redis.url
        found.append(Reader(REDIS_SOURCE, lambda: _diff(REDIS_SOURCE, _redis_config(url), follower, clock)))
    return found


async def _actions(follower: JournalFollower) -> tuple[list[Change], None]:
    return list(follower.actions.values()), None


class _ConfigFile:
    """`console:config`: read once per start (the config is read once); a digest that differs from the last start
    on this host is a change, made when the file was written and live from this start."""

    def __init__(self, path: Path | None, follower: JournalFollower, clock: Clock, host: str) -> None:
        self.path, self.follower, self.clock, self.host = path, follower, clock, host
        self.key = f"{CONFIG_SOURCE}@{host}:{path}"  # the last start of this file on this host

    async def read(self) -> tuple[list[Change], None]:
        now = self.clock.now()
        if self.path is not None:
            await asyncio.to_thread(self._compare, now)
        return self.follower.journaled_of(CONFIG_SOURCE, now), None

    def _compare(self, now: datetime) -> None:
        assert self.path is not None
        try:
            data, _ = read_trusted(self.path, CONFIG)
            written = datetime.fromtimestamp(self.path.stat().st_mtime, now.tzinfo)
        except UntrustedFile as exc:
            raise ReadError(str(exc)) from None
        except OSError as exc:
            raise ReadError(f"{self.path}: {exc.strerror or exc}") from None
        digest = hashlib.sha256(data).hexdigest()
        before = self.follower.baselines.get(self.key, {}).get("sha256")
        if before == digest:
            return
        if isinstance(before, str):
            summary = f"{self.path.name} changed since the last start on {self.host}"
            summary += f" (sha256 {before[:12]} → {digest[:12]})"
            made = min(written, now)
            ident = f"sha256:{digest[:16]}"
            self.follower.record([Change(ident, CONFIG_SOURCE, "config", made, now, summary=summary, live_known=True)])
        self.follower.set_baseline(self.key, {"source": CONFIG_SOURCE, "host": self.host, "sha256": digest})


async def _diff(
    source: str, reading: Awaitable[dict[str, str]], follower: JournalFollower, clock: Clock
) -> tuple[list[Change], None]:
    """Compare a server's settings with the last baseline: each difference is a change (noticed now), and the new
    reading becomes the baseline. The first reading is only the baseline."""
    values = {name: _kept(name, value) for name, value in (await reading).items()}
    now = clock.now()
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
    base = follower.baselines.get(source)
    if base is None or base.get("digest") != digest:
        before = base.get("values") if base is not None and isinstance(base.get("values"), dict) else None
        changes = (
            [
                Change(
                    id=f"{name}@{digest}",
                    source=source,
                    kind="config",
                    time=now,
                    live_at=now,
                    version=None if SECRET.search(name) else (after or None),
                    summary=_said(name, was, after),
                    live_known=True,
                )
                for name, was, after in _differences(before or {}, values)
            ]
            if before is not None
            else []
        )
        baseline = {"source": source, "digest": digest, "values": values}
        await asyncio.to_thread(_keep, follower, changes, source, baseline)
    return follower.journaled_of(source, now), None


def _keep(follower: JournalFollower, changes: list[Change], key: str, baseline: dict[str, Any]) -> None:
    follower.record(changes)
    follower.set_baseline(key, baseline)


def _kept(name: str, value: str) -> str:
    """A setting as the baseline keeps it: a secret one as a digest."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16] if SECRET.search(name) and value else value


def _differences(before: dict[str, Any], after: dict[str, str]) -> list[tuple[str, str | None, str | None]]:
    names = sorted(set(before) | set(after))
    return [(n, before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)]


def _said(name: str, was: str | None, after: str | None) -> str:
    if SECRET.search(name):
        return f"{name} changed (a secret: its value is not kept)"
    if was is None:
        return f"{name} set to {after[:MAX_SHOWN] if after else '(empty)'}"
    if after is None:
        return f"{name} removed (was {was[:MAX_SHOWN]})"
    return f"{name} {was[:MAX_SHOWN] or '(empty)'} → {after[:MAX_SHOWN] or '(empty)'}"


async def _pg_settings(dsn: str) -> dict[str, str]:
    import asyncpg

    try:
        connection = await asyncpg.connect(dsn, timeout=TIMEOUT, server_settings={"application_name": APPLICATION})
        try:
            rows = await connection.fetch("SELECT name, setting FROM pg_settings")
        finally:
            await connection.close()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReadError(f"PostgreSQL: {said}") from None
    return {row["name"]: row["setting"] or "" for row in rows}


async def _redis_config(url: str) -> dict[str, str]:
    from redis.exceptions import RedisError

    from console.sources.redis import open_client

    client = open_client(url, TIMEOUT)
    try:
        found = cast(dict[Any, Any], await client.config_get("*"))  # bytes or str by the client's mode
    except (OSError, RedisError) as exc:
        raise ReadError(f"Redis CONFIG GET: {exc}") from None
    finally:
        await client.aclose()
    return {_text(k): _text(v) for k, v in found.items()}


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
