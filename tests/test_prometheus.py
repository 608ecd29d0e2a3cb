"""`[[metric]] promql` against a real Prometheus scraping a loopback exporter: a value, a rejection, a down server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from http_server import LoopbackHTTPServer

from console import config as cfg
from console.clock import ManualClock
from console.config import ConfigError
from console.demo.servers import PrometheusServer, free_port
from console.http import HttpClient
from console.models import State
from console.models.health import MetricSnapshot
from console.sources.base import build_feeds
from console.sources.metrics import MetricSource
from console.sources.reach import metric as reach_metric
from tests.helpers import until

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
async def client() -> AsyncIterator:
    client = HttpClient()
    yield client
    await client.aclose()


def config(prometheus: str, promql: str, extra: str = "") -> cfg.Config:
    text = f'[prometheus]\nurl = "{prometheus}"\n[[metric]]\nname = "q"\npromql = """{promql}"""\n{extra}'
    return cfg.loads(text, environ={})


async def poll(client, prometheus: str, promql: str, extra: str = "") -> MetricSnapshot:
    conf = config(prometheus, promql, extra)
    source = MetricSource(conf.metric, client, ManualClock(T0), prometheus=conf.prometheus)
    return await source.poll_one("q")


async def until_value(client, prometheus: str, promql: str, extra: str = "", timeout: float = 20) -> MetricSnapshot:
    snap = await poll(client, prometheus, promql, extra)

    async def scraped() -> bool:
        nonlocal snap
        snap = await poll(client, prometheus, promql, extra)
        return snap.value is not None

    await until(scraped, timeout, f"a value for {promql}")
    return snap


def test_config_takes_exactly_one_of_url_and_promql_and_promql_needs_prometheus() -> None:
    with pytest.raises(ConfigError, match=r"promql .* or redis_keys .*, one is required"):
        cfg.loads('[prometheus]\nurl = "http://127.0.0.1:9"\n[[metric]]\nname = "q"\n', environ={})
    with pytest.raises(ConfigError, match="not url and promql"):
        cfg.loads(
            '[prometheus]\nurl = "http://127.0.0.1:9"\n[[metric]]\nname = "q"\npromql = "up"\n'
            'url = "http://127.0.0.1:9/m"\npath = "x"\n',
            environ={},
        )
    with pytest.raises(ConfigError, match="go with url or command, not with promql"):
        cfg.loads('[prometheus]\nurl = "http://127.0.0.1:9"\n[[metric]]\nname = "q"\npromql = "up"\npath = "x"\n')
    with pytest.raises(ConfigError, match=r"needs a \[prometheus\] section"):
        cfg.loads('[[metric]]\nname = "q"\npromql = "up"\n', environ={})
    with pytest.raises(ConfigError, match="expected a URL"):
        cfg.loads('[prometheus]\nurl = "127.0.0.1:9090"\n', environ={})


async def test_a_promql_metric_reads_the_exporters_value_once_scraped_and_judges_it(
    client, prometheus_server: PrometheusServer, exporter: LoopbackHTTPServer
) -> None:
    exporter.route("/metrics", body="# TYPE queue_depth gauge\nqueue_depth 42\n")
    snap = await until_value(client, prometheus_server.url, 'queue_depth{job="test"}', "warn = 10\ncrit = 100\n")
    assert snap.value == 42.0 and snap.state is State.WARN and snap.reason == "above warn 10", snap
    assert snap.checks()[0].key == "metric:q" and snap.checks()[0].value == "42"
    scalar = await poll(client, prometheus_server.url, "scalar(queue_depth) * 3", "crit = 100\n")
    assert scalar.value == 126.0 and scalar.state is State.CRIT
    none = await poll(client, prometheus_server.url, "no_such_metric")
    assert none.state is State.UNKNOWN and none.reason == "the query returned no series"


async def test_a_query_prometheus_rejects_shows_prometheus_own_error(
    client, prometheus_server: PrometheusServer
) -> None:
    snap = await poll(client, prometheus_server.url, "rate(queue_depth[5m]")
    assert snap.state is State.UNKNOWN and snap.value is None
    assert snap.reason.startswith("Prometheus rejected the query: ") and "parse error" in snap.reason, snap.reason


async def test_a_sample_that_is_not_a_time_value_pair_is_no_number(client) -> None:
    with LoopbackHTTPServer() as prometheus:
        for result in ({"0": 1, "1": "7"}, "17", [1]):
            body = {"status": "success", "data": {"resultType": "scalar", "result": result}}
            prometheus.route("/api/v1/query", body=body)
            snap = await poll(client, prometheus.url(), "scalar(up)")
            assert snap.state is State.UNKNOWN and snap.value is None, (result, snap)
            assert snap.reason == "the sample has no number", (result, snap.reason)


async def test_prometheus_down_is_down_with_a_reason_in_words(client) -> None:
    snap = await poll(client, f"http://127.0.0.1:{free_port()}", "up")
    assert snap.state is State.DOWN and snap.reason == "Prometheus unreachable: connection refused"


async def test_feeds_and_reach_use_the_prometheus_section(prometheus_server: PrometheusServer) -> None:
    conf = config(prometheus_server.url, "up", '[[metric]]\nname = "json"\nurl = "http://127.0.0.1:9/m"\npath = "x"\n')
    feeds = build_feeds(conf, ManualClock(T0))
    try:
        assert [feed.key for feed in feeds.polled] == ["metric:q", "metric:json"]
        reached = await asyncio.gather(*reach_metric(conf))
        assert reached[0].ok and prometheus_server.url in reached[0].detail
    finally:
        await feeds.aclose()
