"""JSON metrics against real loopback servers: a number at a dotted path, judged by warn/crit (and `below`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from console.clock import ManualClock
from console.config import MetricTarget
from console.demo.servers import free_port
from console.http import HttpClient
from console.models import State
from console.models.health import format_value, number_at, threshold_state
from console.sources.metrics import MetricSource

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
async def client() -> AsyncIterator:
    client = HttpClient()
    yield client
    await client.aclose()


def target(url: str, path: str = "errorRate", name: str = "errors", **fields) -> MetricTarget:
    return MetricTarget(name=name, url=url, path=path, **fields)


async def poll(client, url: str, path: str = "errorRate", **fields):
    return await MetricSource([target(url, path, **fields)], client, ManualClock(T0)).poll_one("errors")


# pure rules


def test_number_at_dotted_paths_and_list_indexes() -> None:
    body = {"a": {"b": 2}, "items": [{"value": 1.5}, {"value": "7"}], "flag": True, "n": None}
    assert number_at(body, "a.b") == 2.0
    assert number_at(body, "items.0.value") == 1.5
    assert number_at(body, "items.-1.value") == 7.0  # a numeric string is read
    assert number_at(body, "items.2.value") is None
    assert number_at(body, "items.x") is None
    assert number_at(body, "flag") is None and number_at(body, "n") is None
    assert number_at(body, "a.b.c") is None and number_at([3, 4], "1") == 4.0


def test_thresholds_above_and_below() -> None:
    assert threshold_state(0.4, 0.5, 1.0, unit="%") == (State.OK, "")
    assert threshold_state(0.7, 0.5, 1.0, unit="%") == (State.WARN, "above warn 0.5%")
    assert threshold_state(5.0, 0.5, 1.0, unit="%") == (State.CRIT, "above crit 1%")
    assert threshold_state(95, 90, 75, below=True, unit="%") == (State.OK, "")
    assert threshold_state(80, 90, 75, below=True, unit="%") == (State.WARN, "below warn 90%")
    assert threshold_state(60, 90, 75, below=True, unit="%") == (State.CRIT, "below crit 75%")
    assert threshold_state(1e9, None, None) == (State.OK, "")
    assert threshold_state(3, None, 2) == (State.CRIT, "above crit 2")


def test_format_value() -> None:
    assert format_value(2500.4, "ms") == "2,500 ms"
    assert format_value(4.95, "%") == "4.95%"
    assert format_value(0.1) == "0.1" and format_value(12.0, "req/s") == "12 req/s"


# real endpoints


async def test_value_read_and_judged(http_server, client) -> None:
    http_server.route("/errors", body={"errorRate": 0.7})
    snapshot = await poll(client, http_server.url("/errors"), unit="%", warn=0.5, crit=1.0)
    assert (snapshot.state, snapshot.reason, snapshot.value) == (State.WARN, "above warn 0.5%", 0.7)
    assert (snapshot.warn, snapshot.crit, snapshot.below, snapshot.taken_at) == (0.5, 1.0, False, T0)
    check = snapshot.check
    assert (check.source, check.name, check.state, check.value) == ("metric", "errors", State.WARN, "0.7%")


async def test_below_is_bad_for_a_hit_rate(http_server, client) -> None:
    http_server.route("/cache", body={"cache": {"hitRate": 61.5}})
    snapshot = await poll(client, http_server.url("/cache"), "cache.hitRate", unit="%", warn=90, crit=75, below=True)
    assert (snapshot.state, snapshot.reason, snapshot.value) == (State.CRIT, "below crit 75%", 61.5)


async def test_list_index_path(http_server, client) -> None:
    http_server.route("/perf", body={"endpoints": [{"p95": 180}, {"p95": 2400}]})
    snapshot = await poll(client, http_server.url("/perf"), "endpoints.1.p95", unit="ms", warn=1000, crit=2000)
    assert (snapshot.state, snapshot.check.value) == (State.CRIT, "2,400 ms")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"error_rate": 0.1}, "no number at errorRate"),
        ({"errorRate": "0.1 req"}, "at errorRate: '0.1 req' is in req, which does not convert to %"),
        ({"errorRate": None}, "no number at errorRate"),
        ("errorRate=0.1", "not JSON"),
    ],
)
async def test_no_number_is_unknown(http_server, client, body, reason: str) -> None:
    http_server.route("/errors", body=body)
    snapshot = await poll(client, http_server.url("/errors"), warn=0.5, unit="%")
    assert (snapshot.state, snapshot.reason, snapshot.value) == (State.UNKNOWN, reason, None)
    assert snapshot.check.value == ""


async def test_http_error_and_unreachable_are_down(http_server, client) -> None:
    http_server.route("/errors", status=500, body={"errorRate": 0.1})
    failing = await poll(client, http_server.url("/errors"))
    refused = await poll(client, f"http://127.0.0.1:{free_port()}/errors")
    dns = await poll(client, "http://nonexistent.invalid/errors")
    assert (failing.state, failing.reason) == (State.DOWN, "HTTP 500")
    assert (refused.state, refused.reason) == (State.DOWN, "connection refused")
    assert (dns.state, dns.reason) == (State.DOWN, "DNS lookup failed")


async def test_timeout_redirect_loop_and_huge_body(http_server, client) -> None:
    http_server.route("/hang", hang=True)
    http_server.route("/loop", redirect_to="/loop")
    http_server.route("/huge", size=50_000_000)
    started = time.perf_counter()
    hang, loop, huge = await asyncio.gather(
        poll(client, http_server.url("/hang"), timeout="300ms"),
        poll(client, http_server.url("/loop")),
        poll(client, http_server.url("/huge")),
    )
    assert time.perf_counter() - started < 1.0
    assert (hang.state, hang.reason) == (State.DOWN, "timeout after 300ms")
    assert loop.state is State.DOWN and loop.reason.startswith("redirect loop")
    assert (huge.state, huge.reason) == (State.UNKNOWN, "body over 1 MB")


async def test_history_of_values_for_the_sparkline(http_server, client) -> None:
    source = MetricSource([target(http_server.url("/errors"), warn=1)], client, ManualClock(T0))
    for rate in (0.1, 0.2, 3.0):
        http_server.route("/errors", body={"errorRate": rate})
        snapshot = await source.poll_one("errors")
    assert snapshot.history == [0.1, 0.2, 3.0]
    assert (snapshot.previous, snapshot.state) == (State.OK, State.WARN)
    http_server.route("/errors", body={})
    unknown = await source.poll_one("errors")
    assert unknown.history == [0.1, 0.2, 3.0] and unknown.state is State.UNKNOWN


async def test_poll_round_keeps_config_order_and_own_timeouts(http_server, client) -> None:
    http_server.route("/slow", hang=True)
    http_server.route("/fast", body={"p95": 120})
    targets = [
        target(http_server.url("/slow"), "p95", name="slow", timeout="500ms"),
        target(http_server.url("/fast"), "p95", name="fast", unit="ms"),
    ]
    started = time.perf_counter()
    slow, fast = await MetricSource(targets, client, ManualClock(T0)).poll()
    assert time.perf_counter() - started < 1.0
    assert (slow.name, slow.reason) == ("slow", "timeout after 500ms")
    assert (fast.name, fast.state, fast.value) == ("fast", State.OK, 120.0)
