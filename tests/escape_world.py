"""A hostile world for the escape tests: every text the console shows from outside carries escape sequences, C1
controls, bidi overrides and Rich markup, written into real servers, real files and a real journal."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import redis
from http_server import LoopbackHTTPServer

from console import config as cfg
from console.demo.servers import AlertmanagerServer, PostgresServer, RedisServer
from console.incident.commands import IncidentDesk
from console.journal import Journal
from console.share import start_mirror
from tests.helpers import until, wait_for

# OSC 0 (the terminal's title) and OSC 52 (a clipboard write) first, so that any leak, even cut short, is an OSC;
# then a CSI clear, a C1 CSI, DEL, a bidi override and markup that must show as typed.
EVIL = (
    "\x1b]0;PWNED\x07\x1b]52;c;aGk=\x07\x1b[2J\x9b31m\x7f\u202e"
    "[bold red]red[/] [link=https://evil.example]link[/link] [@click=app.quit]quit[/]"
)
SHOWN = "\\x1b]0;PWNED\\x07"  # how EVIL starts on screen
MARKUP = "[link=https://evil.example]"  # shown as typed
ROLE = "\x1b]0;PWNED\x07[b]dba"  # a PostgreSQL role (63 bytes at most)
ROLE_SHOWN = "\\x1b]0;PWNED\\x07[b]dba"
CLIENT = "[bold]evil-client"  # Redis refuses spaces and controls in a client name: markup only
RUNBOOK_TITLE = "Restart \x9b2J\u202eevil [bold]runbook[/]"  # a runbook refuses C0 controls, not C1 or bidi
RUNBOOK_SHOWN = "Restart \\x9b2J\\u202eevil [bold]runbook[/]"
ENVIRONMENT = "staging \x1b]0;PWNED\x07"  # short: typed confirmations show it whole
OTHER = {"user": EVIL, "host": EVIL, "ssh_from": None, "pid": 1}  # another operator, on another host


def toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text)


@dataclass
class World:
    config: Path
    journal: Path
    incident: str
    key_prefix: str


def hostile_http(server: LoopbackHTTPServer) -> None:
    """A health body whose status is hostile, a metric that reads as text, a top list of hostile cells."""
    server.route("/health", body={"status": EVIL})
    server.route("/metric", body={"v": f"12 {EVIL}"})
    server.route("/top", body={"endpoints": [{"route": EVIL, "p95": 120}, {"route": "/ok", "p95": 3}]})


def hostile_releases(folder: Path) -> Path:
    """A program printing one release, five minutes old (a suspect of the open incident), whose version, service,
    summary and author are hostile: the `releases` change source (the Changes pane, its detail, the timeline)."""
    release = {
        "id": "release-1",
        "at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "version": f"v9.9.9 {EVIL}",
        "service": EVIL,
        "notes": f"notes {EVIL}",
        "by": EVIL,
    }
    program = folder / "releases"
    program.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps([release])}\nEOF\n")  # JSON escapes every control
    program.chmod(0o700)
    return program


def write_config(
    folder: Path,
    http: LoopbackHTTPServer,
    *,
    pg: PostgresServer | None = None,
    redis_server: RedisServer | None = None,
    alertmanager: AlertmanagerServer | None = None,
    stream: str = "",
) -> Path:
    """A config whose names, descriptions and playbook are hostile, pointing at the real servers given."""
    base = f"http://127.0.0.1:{http.port}"
    log = folder / "app.log"
    log.write_text(f"2026-01-01T00:00:00Z ERROR payment failed {EVIL}\n")
    runbook = folder / "restart.md"
    runbook.write_text(f"# {RUNBOOK_TITLE}\n\n## Restart\n\n```sh\nkubectl rollout restart deploy/api\n```\n")
    text = f"""
[console]
environment = {toml(ENVIRONMENT)}
journal = "{folder / "journal.jsonl"}"
refresh = "1s"
notify = ["osc9", "osc777"]  # the terminal notifications carry hostile names too (a plain bell carries nothing)

[[health]]
name = "api"
url = "{base}/health"
expect_json = {{ status = "ok" }}

[[metric]]
name = {toml("errors " + EVIL)}
url = "{base}/metric"
path = "v"

[[metric]]
name = "slow endpoints"
url = "{base}/top"
kind = "top"
path = "endpoints"
columns = ["route", "p95"]
sort = "p95"

[[logs]]
name = "app"
path = "{log}"

[actions.evil]
command = ["printf", "%s\\n", {toml(EVIL)}]
description = {toml(EVIL)}
risk = "read"

[[runbooks]]
path = "{runbook}"

[[changes]]
name = "releases"
kind = "command"
command = ["{hostile_releases(folder)}"]
change_kind = "deploy"
[changes.map]
id = "id"
time = "at"
live_at = "at"
version = "version"
service = "service"
summary = "notes"
author = "by"

[[playbook]]
name = "escape-test"
title = {toml(EVIL)}
when = "health.api is unhealthy"
steps = [
  {{ id = "ask", kind = "ask", title = {toml(EVIL)}, question = {toml(EVIL)} }},
  {{ id = "finish", kind = "done" }},  # "done" is reserved: `check` refuses it, as `triage check` does
]
"""
    if pg is not None:
        text += f'\n[postgres]\ndsn = "{pg.dsn}"\n'
    if redis_server is not None:
        text += f'\n[redis]\nurl = "{redis_server.url}"\n'
    if alertmanager is not None:
        text += f'\n[alertmanager]\nurl = "{alertmanager.url}"\n'
    if stream:
        text += f'\n[share]\nredis_url = "{redis_server.url}"\nstream = "{stream}"\nhost = "bastion"\n'
    path = folder / "config.toml"
    path.write_text(text)
    cfg.load(path, environ={})  # valid, or the test says why here
    return path


def hostile_incident(journal: Path) -> str:
    """An incident whose title, roles, notes and decision are hostile; returns its id."""
    desk = IncidentDesk(Journal(journal, environment="staging"))
    desk.declare(f"checkout down {EVIL}", "SEV-2")
    desk.assign_role("commander", EVIL)
    desk.add_note(f"deploy done {EVIL}")
    desk.add_decision(EVIL)
    return desk.open_incident_id()


def share_from_another_host(config: Path, folder: Path, incident: str, redis_server: RedisServer, stream: str) -> None:
    """Another operator's hostile note and decision, on another host, mirrored to the stream by the real mirror."""
    remote = Journal(folder / "laptop.jsonl", environment=ENVIRONMENT, actor=OTHER)
    remote.append("note", {"text": f"from the laptop {EVIL}"}, incident=incident)
    remote.append("decision", {"text": EVIL}, incident=incident)

    async def mirror() -> None:
        running = start_mirror(cfg.load(config, environ={}), remote, host="laptop")
        client = redis.Redis.from_url(redis_server.url)
        try:
            await until(lambda: client.xlen(stream) >= 2, 10, "the mirror wrote the laptop's entries")
        finally:
            client.close()
            await running.stop()

    asyncio.run(mirror())


@contextmanager
def hostile_postgres(pg: PostgresServer) -> Iterator[None]:
    """A session of a hostile role whose application name and running query are hostile (PostgreSQL itself turns
    non-ASCII in an application name into `?`: its markup stays)."""

    async def role(sql: str) -> None:
        admin = await asyncpg.connect(pg.dsn)
        try:
            await admin.execute(sql)
        finally:
            await admin.close()

    quoted = '"' + ROLE.replace('"', '""') + '"'
    asyncio.run(role(f"DROP ROLE IF EXISTS {quoted}; CREATE ROLE {quoted} LOGIN"))
    hold = (
        "import asyncio, asyncpg, sys\n"
        "async def main():\n"
        "    conn = await asyncpg.connect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3],\n"
        "                                 database='postgres', server_settings={'application_name': sys.argv[4]})\n"
        "    await conn.execute(sys.argv[5])\n"
        "asyncio.run(main())\n"
    )
    query = f"SELECT pg_sleep(600) /* {EVIL} */"
    session = subprocess.Popen(
        [sys.executable, "-c", hold, pg.host, str(pg.port), ROLE, f"[bold red]app {EVIL}", query]
    )
    try:
        wait_for(lambda: session.poll() is not None or asyncio.run(_running(pg.dsn, query)), 10, "the session ran")
        assert session.poll() is None, "the hostile session ended"
        yield
    finally:
        session.kill()
        session.wait()
        asyncio.run(role(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{ROLE}'"))


async def _running(dsn: str, query: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE query = $1", query))
    finally:
        await conn.close()


@contextmanager
def hostile_redis(server: RedisServer, prefix: str) -> Iterator[None]:
    """Keys with hostile names (the flush preview samples them), and SLOWLOG entries of a client with a hostile name
    whose commands carry them."""
    client = redis.Redis.from_url(server.url)
    keys = [f"{prefix}plain", f"{prefix}{EVIL}"]  # the hostile one last: SLOWLOG lists it first
    threshold = client.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
    try:
        client.client_setname(CLIENT)
        client.config_set("slowlog-log-slower-than", 0)
        for key in keys:
            client.set(key, "x")
        client.config_set("slowlog-log-slower-than", threshold)
        yield
    finally:
        client.config_set("slowlog-log-slower-than", threshold)
        client.delete(*keys)
        client.close()


def hostile_alert(server: AlertmanagerServer) -> None:
    """An alert firing now whose labels and annotations are hostile."""
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": f"EscapeTest{uuid.uuid4().hex[:6]}", "severity": "critical", "job": EVIL},
        "annotations": {"summary": EVIL},
        "startsAt": (now - timedelta(minutes=3)).isoformat(),
        "endsAt": (now + timedelta(minutes=3)).isoformat(),
    }
    httpx.post(f"{server.url}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()
