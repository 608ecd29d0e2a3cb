"""HTTP health endpoints against real loopback servers: every fault is a state with a reason, never an exception."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from console.clock import ManualClock
from console.config import HealthTarget
from console.demo.servers import free_port
from console.http import HttpClient
from console.models import State
from console.models.health import HttpResult, judge_health, subset_mismatch, threshold_state
from console.redact import Redactor
from console.sources.health import HealthSource
from tests.helpers import until

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
async def client() -> AsyncIterator:
    client = HttpClient()
    yield client
    await client.aclose()


class EndlessBody:
    """A raw server that answers with no Content-Length and streams until the client hangs up."""

    def __init__(self) -> None:
        self.sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/"

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
            chunk = b" " * 65536
            try:
                while self.sent < 50_000_000:
                    connection.sendall(chunk)
                    self.sent += len(chunk)
            except OSError:
                pass


@pytest.fixture
def endless_body() -> Iterator[EndlessBody]:
    server = EndlessBody()
    yield server
    server.listener.close()
    server.thread.join(timeout=5)


def target(url: str, name: str = "api", **fields) -> HealthTarget:
    return HealthTarget(name=name, url=url, **fields)


async def poll(client, url: str, **fields):
    return await HealthSource([target(url, **fields)], client, ManualClock(T0)).poll_one("api")


# pure rules


def test_latency_thresholds_are_strict() -> None:
    assert threshold_state(500, 500, 1000, unit="ms") == (State.OK, "")
    assert threshold_state(501, 500, 1000, unit="ms") == (State.WARN, "above warn 500 ms")
    assert threshold_state(1001, 500, 1000, unit="ms") == (State.CRIT, "above crit 1,000 ms")


def test_subset_match_names_the_key_that_differs() -> None:
    body = {"status": "ok", "checks": {"db": "up", "cache": "down"}, "n": 1}
    assert subset_mismatch({"status": "ok", "checks": {"db": "up"}}, body) is None
    assert subset_mismatch({"checks": {"cache": "up"}}, body) == "checks.cache != up (got down)"
    assert subset_mismatch({"checks": {"queue": "up"}}, body) == "checks.queue missing"
    assert subset_mismatch({"n": True}, body) == "n != true (got 1)"
    assert subset_mismatch({"status": "ok"}, ["ok"]) == "body is not an object"


def test_judge_order_transport_then_status_then_body_then_latency() -> None:
    rules = {"expect_status": 200, "expect_json": {"status": "ok"}, "warn_ms": 100, "crit_ms": 200}
    assert judge_health(HttpResult(error="connection refused"), **rules) == (State.DOWN, "connection refused")
    assert judge_health(HttpResult(status_code=204, latency_ms=5), **rules) == (State.DOWN, "HTTP 204, expected 200")
    slow_bad = HttpResult(status_code=200, latency_ms=900, body=b'{"status": "down"}')
    assert judge_health(slow_bad, **rules) == (State.CRIT, "status != ok (got down)")
    slow_good = HttpResult(status_code=200, latency_ms=150, body=b'{"status": "ok"}')
    assert judge_health(slow_good, **rules) == (State.WARN, "above warn 100 ms")


# real endpoints


async def test_healthy_endpoint(http_server, client) -> None:
    http_server.route("/health", body={"status": "ok", "version": "v1"})
    snapshot = await poll(client, http_server.url("/health"), expect_json={"status": "ok"})
    assert (snapshot.state, snapshot.reason, snapshot.status_code) == (State.OK, "", 200)
    assert snapshot.taken_at == T0 and snapshot.latency_ms is not None and snapshot.latency_ms < 500
    check = snapshot.check
    assert (check.source, check.name, check.state) == ("health", "api", State.OK)
    assert check.value.endswith(" ms") and snapshot.checks() == [check]


async def test_expect_json_mismatch_says_which_key(http_server, client) -> None:
    http_server.route("/health", body={"status": "ok", "checks": {"db": "down"}})
    snapshot = await poll(client, http_server.url("/health"), expect_json={"status": "ok", "checks": {"db": "up"}})
    assert (snapshot.state, snapshot.reason) == (State.CRIT, "checks.db != up (got down)")


@pytest.mark.parametrize("status", [500, 503])
async def test_server_error_is_down(http_server, client, status: int) -> None:
    http_server.route("/health", status=status, body={"status": "error"})
    snapshot = await poll(client, http_server.url("/health"))
    assert (snapshot.state, snapshot.reason, snapshot.status_code) == (State.DOWN, f"HTTP {status}", status)


async def test_slow_answer_warns_then_crits(http_server, client) -> None:
    http_server.route("/health", body={"status": "ok"}, delay=0.15)
    warn = await poll(client, http_server.url("/health"), warn_ms=100, crit_ms=1000)
    crit = await poll(client, http_server.url("/health"), warn_ms=50, crit_ms=100)
    assert (warn.state, warn.reason) == (State.WARN, "above warn 100 ms")
    assert (crit.state, crit.reason) == (State.CRIT, "above crit 100 ms")
    assert crit.latency_ms >= 150


async def test_connection_refused(client) -> None:
    snapshot = await poll(client, f"http://127.0.0.1:{free_port()}/health")
    assert (snapshot.state, snapshot.reason, snapshot.latency_ms) == (State.DOWN, "connection refused", None)


async def test_dns_failure(client) -> None:
    snapshot = await poll(client, "http://nonexistent.invalid/health")
    assert (snapshot.state, snapshot.reason) == (State.DOWN, "DNS lookup failed")


async def test_tls_error_against_plain_http(http_server, client) -> None:
    http_server.route("/health", body={"status": "ok"})
    snapshot = await poll(client, f"https://127.0.0.1:{http_server.port}/health")
    assert snapshot.state is State.DOWN
    assert snapshot.reason.startswith("TLS error: ") and len(snapshot.reason) > len("TLS error: ")


async def test_timeout_names_the_limit(http_server, client) -> None:
    http_server.route("/health", hang=True)
    started = time.perf_counter()
    snapshot = await poll(client, http_server.url("/health"), timeout="300ms")
    assert (snapshot.state, snapshot.reason) == (State.DOWN, "timeout after 300ms")
    assert 0.29 < time.perf_counter() - started < 1.0


async def test_redirect_followed_and_redirect_loop(http_server, client) -> None:
    http_server.route("/old", redirect_to="/health")
    http_server.route("/health", body={"status": "ok"})
    http_server.route("/loop", redirect_to="/loop")
    moved = await poll(client, http_server.url("/old"), expect_json={"status": "ok"})
    loop = await poll(client, http_server.url("/loop"))
    assert moved.state is State.OK
    assert loop.state is State.DOWN and loop.reason.startswith("redirect loop")
    assert http_server.hits["/loop"] == 6


async def test_not_json_where_json_is_expected(http_server, client) -> None:
    http_server.route("/health", body="<html>It works!</html>")
    snapshot = await poll(client, http_server.url("/health"), expect_json={"status": "ok"})
    assert (snapshot.state, snapshot.reason) == (State.CRIT, "not JSON")


async def test_50_mb_body_is_capped_fast(http_server, client) -> None:
    http_server.route("/health", size=50_000_000)
    started = time.perf_counter()
    snapshot = await poll(client, http_server.url("/health"), expect_json={"status": "ok"})
    assert (snapshot.state, snapshot.reason) == (State.CRIT, "body over 1 MB")
    assert time.perf_counter() - started < 1.0


async def test_body_without_length_stops_reading_at_the_cap(endless_body, client) -> None:
    started = time.perf_counter()
    snapshot = await poll(client, endless_body.url, expect_json={"status": "ok"})
    assert (snapshot.state, snapshot.reason) == (State.CRIT, "body over 1 MB")
    assert time.perf_counter() - started < 2.0
    await until(lambda: not endless_body.thread.is_alive(), what="the server noticing the hang-up")
    assert endless_body.sent < 15_000_000  # we hung up early; the rest was never sent


async def test_one_hanging_endpoint_does_not_delay_another(http_server, client) -> None:
    http_server.route("/hang", hang=True)
    http_server.route("/health", body={"status": "ok"})
    targets = [
        target(http_server.url("/hang"), name="stuck", timeout="1s"),
        target(http_server.url("/health"), name="fine"),
    ]
    source = HealthSource(targets, client, ManualClock(T0))
    started = time.perf_counter()
    finished: dict[str, float] = {}

    async def timed(name: str):
        snapshot = await source.poll_one(name)
        finished[name] = time.perf_counter() - started
        return snapshot

    stuck, fine = await asyncio.gather(timed("stuck"), timed("fine"))
    assert fine.state is State.OK and finished["fine"] < 0.5
    assert stuck.reason == "timeout after 1s" and finished["stuck"] >= 1.0
    round_started = time.perf_counter()
    assert [s.name for s in await source.poll()] == ["stuck", "fine"]
    assert time.perf_counter() - round_started < 1.6


async def test_history_and_previous_state_live_in_the_source(http_server, client) -> None:
    http_server.route("/health", body={"status": "ok"})
    source = HealthSource([target(http_server.url("/health"))], client, ManualClock(T0), history=3)
    snapshots = [await source.poll_one("api") for _ in range(4)]
    assert len(snapshots[-1].history) == 3 and snapshots[0].previous is None
    assert snapshots[-1].history[-1] == round(snapshots[-1].latency_ms, 1)
    http_server.route("/health", status=503)
    down = await source.poll_one("api")
    assert (down.previous, down.state) == (State.OK, State.DOWN)
    assert source.last["api"] is down
    assert source.interval("api", 2.0) == 2.0


async def test_url_password_and_secrets_are_redacted(http_server, client) -> None:
    http_server.route("/health", body={"status": "ok"})
    url = f"http://ops:hunter22@127.0.0.1:{http_server.port}/health?token=tok-9f8e7d"
    source = HealthSource([target(url)], client, ManualClock(T0), Redactor(["tok-9f8e7d"]))
    snapshot = await source.poll_one("api")
    assert snapshot.state is State.OK
    assert "hunter22" not in snapshot.url and "tok-9f8e7d" not in snapshot.url
    assert snapshot.model_dump_json().count("***") == 2
