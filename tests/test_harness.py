"""The harness itself: throwaway servers start, answer, restart and leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from http_server import LoopbackHTTPServer

from console.demo.servers import (
    PostgresServer,
    RedisServer,
    ServerUnavailable,
    accepts_connections,
    find_pg_bindir,
    process_alive,
)
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


def children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


async def fetchval(dsn: str, sql: str) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


# --- PostgreSQL -----------------------------------------------------------------------------------


async def test_pg_answers_with_pg_stat_statements(pg_server: PostgresServer) -> None:
    assert pg_server.port != 5432
    assert await fetchval(pg_server.dsn, "SELECT 1") == 1
    assert await fetchval(pg_server.dsn, "SELECT count(*) FROM pg_stat_statements") >= 0
    assert await fetchval(pg_server.dsn, "SHOW pg_stat_statements.track") == "all"
    assert await fetchval(pg_server.dsn, "SHOW max_connections") == "400"
    assert await fetchval(pg_server.dsn, "SHOW listen_addresses") == "127.0.0.1"


async def test_pg_restart_and_kill_keep_data_and_stop_leaves_nothing() -> None:
    server = PostgresServer(max_connections=20, extra_conf={"application_name": "it's the harness"})
    server.start()
    try:
        port, datadir, tmpdir = server.port, server.datadir, server.tmpdir
        assert await fetchval(server.dsn, "SHOW application_name") == "it's the harness"
        await fetchval(server.dsn, "CREATE TABLE kept AS SELECT 42 AS x")
        first_pid = server.pid
        assert first_pid is not None

        server.restart()
        assert server.port == port
        assert server.pid not in (None, first_pid)
        assert not process_alive(first_pid)
        assert await fetchval(server.dsn, "SELECT x FROM kept") == 42

        server.kill()
        assert server.pid is None
        assert not accepts_connections(port)
        assert datadir.is_dir()
        server.start_again()
        assert await fetchval(server.dsn, "SELECT x FROM kept") == 42

        pid = server.pid
        assert pid is not None
        backends = children(pid)
        assert backends, "a running postmaster has background processes"
    finally:
        server.stop()
    assert not process_alive(pid)
    assert not any(process_alive(child) for child in backends)
    assert not accepts_connections(port)
    assert not tmpdir.exists()
    server.stop()  # idempotent


def test_pg_unavailable_says_what_to_install() -> None:
    with pytest.raises(ServerUnavailable, match="apt-get install postgresql"):
        PostgresServer(bindir=Path("/nonexistent")).start()


def test_find_pg_bindir() -> None:
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries here")
    assert all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


# --- Redis ----------------------------------------------------------------------------------------


async def test_redis_answers_without_persistence(redis_server: RedisServer) -> None:
    assert redis_server.port != 6379
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        assert await client.ping()
        assert await client.config_get("save") == {"save": ""}
        assert await client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        await client.aclose()


async def test_redis_kill_start_again_and_stop() -> None:
    with RedisServer() as server:
        port, tmpdir, first_pid = server.port, server.tmpdir, server.pid
        assert first_pid is not None
        client = aioredis.Redis.from_url(server.url)
        try:
            await client.set("incident", "open")
            server.kill()
            assert not process_alive(first_pid)
            assert not accepts_connections(port)
            with pytest.raises(redis.exceptions.ConnectionError):
                await client.ping()
            server.start_again()
            assert server.port == port
            assert await client.ping()  # the client reconnects
            assert await client.get("incident") is None
        finally:
            await client.aclose()
        pid = server.pid
        assert pid is not None
    assert not process_alive(pid)
    assert not accepts_connections(port)
    assert not tmpdir.exists()


def test_redis_unavailable_says_what_to_install() -> None:
    with pytest.raises(ServerUnavailable, match="apt-get install redis-server"):
        RedisServer(binary=Path("/nonexistent/redis-server")).start()


# --- Nothing left behind when the owner crashes or gets Ctrl+C ------------------------------------

OWNER_SCRIPT = """
import signal, sys, time
# Ctrl+C as a terminal's foreground program meets it: a parent that ignores SIGINT (a job a non-interactive shell
# started in the background, as a CI script may) hands SIG_IGN down, and Python then raises no KeyboardInterrupt
signal.signal(signal.SIGINT, signal.default_int_handler)
from console.demo.servers import PostgresServer, RedisServer
pg = PostgresServer(); pg.start()
rd = RedisServer(); rd.start()
print(pg.pid, pg.port, pg.tmpdir, rd.pid, rd.port, rd.tmpdir, flush=True)
if sys.argv[1] == "crash":
    raise RuntimeError("owner crashed")
time.sleep(60)  # the owner lives on until the test kills it
"""


@pytest.mark.parametrize("ending", ["crash", "ctrl-c"])
def test_servers_stop_when_owner_exits_without_stopping_them(ending: str) -> None:
    if find_pg_bindir() is None:
        pytest.skip("no PostgreSQL server binaries here")
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, ending],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert owner.stdout is not None
    line = owner.stdout.readline().split()
    assert line, owner.communicate(timeout=30)[1]
    pg_pid, pg_port, pg_tmp, rd_pid, rd_port, rd_tmp = line
    backends = children(int(pg_pid))
    if ending == "ctrl-c":
        os.killpg(owner.pid, signal.SIGINT)  # what a terminal does to its foreground process group
    # a wait on the owner's exit: its servers' shutdown took over 30 s beside a full suite and two busy loops
    _, stderr = owner.communicate(timeout=90)  # (pytest-timeout ends a test at 120 s)
    assert ("owner crashed" if ending == "crash" else "KeyboardInterrupt") in stderr
    for pid in (int(pg_pid), int(rd_pid), *backends):
        assert not process_alive(pid)
    assert not accepts_connections(int(pg_port))
    assert not accepts_connections(int(rd_port))
    assert not Path(pg_tmp).exists()
    assert not Path(rd_tmp).exists()


# --- HTTP -----------------------------------------------------------------------------------------


def test_http_status_json_headers_and_live_route_changes(http_server: LoopbackHTTPServer) -> None:
    http_server.route("/health", body={"status": "ok"}, headers={"X-Service": "api"})
    with httpx.Client() as client:
        response = client.get(http_server.url("/health?verbose=1"))
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-service"] == "api"

        http_server.route("/health", status=503, body="down")
        response = client.get(http_server.url("/health"))
        assert (response.status_code, response.text) == (503, "down")

        assert client.get(http_server.url("/nowhere")).status_code == 404
        client.post(http_server.url("/hook"), json={"action": "restart"})
    assert http_server.hits == {"/health": 2, "/nowhere": 1, "/hook": 1}
    assert http_server.requests[-1].method == "POST"
    assert http_server.requests[-1].body == b'{"action":"restart"}'


def test_http_delay(http_server: LoopbackHTTPServer) -> None:
    http_server.route("/slow", body=b"late", delay=0.3)
    started = time.monotonic()
    assert httpx.get(http_server.url("/slow")).text == "late"
    assert time.monotonic() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(http_server.url("/slow"), timeout=0.1)


def test_http_hang_does_not_block_stop() -> None:
    server = LoopbackHTTPServer()
    server.start()
    server.route("/hang", hang=True)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.url("/hang"), timeout=0.2)

    errors: list[Exception] = []

    def waiting_client() -> None:
        try:
            httpx.get(server.url("/hang"), timeout=30)
        except httpx.HTTPError as exc:
            errors.append(exc)

    client = threading.Thread(target=waiting_client)
    client.start()
    wait_for(lambda: server.hits["/hang"] >= 2, 10, "the client's two requests hanging")
    port = server.port
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1
    client.join(5)
    assert not client.is_alive()
    assert errors, "the hanging request ends without an answer"
    assert not accepts_connections(port)
    server.stop()  # idempotent


def test_http_redirects_and_redirect_loop(http_server: LoopbackHTTPServer) -> None:
    http_server.route("/old", redirect_to="/new")
    http_server.route("/new", body="here")
    http_server.route("/loop", redirect_to="/loop")
    with httpx.Client(follow_redirects=True, max_redirects=5) as client:
        response = client.get(http_server.url("/old"))
        assert response.text == "here"
        assert response.history[0].status_code == 302
        with pytest.raises(httpx.TooManyRedirects):
            client.get(http_server.url("/loop"))
    assert http_server.hits["/loop"] == 6


def test_http_big_body_is_streamed(http_server: LoopbackHTTPServer) -> None:
    size = 50 * 1024 * 1024
    http_server.route("/big", size=size)
    received = 0
    with httpx.stream("GET", http_server.url("/big")) as response:
        assert response.headers["content-length"] == str(size)
        for chunk in response.iter_raw():
            received += len(chunk)
    assert received == size
