"""Command metrics and top lists with real scripts (tests/fixtures/metric): numbers from stdout, failures in words."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console import config as cfg
from console.clock import Clock, ManualClock
from console.config import MetricTarget
from console.models import State
from console.models.top import TopSnapshot
from console.sources.base import build_feeds
from console.sources.command_metric import CommandMetricSource
from console.sources.metrics import MetricSource
from console.sources.reach import reach_all
from tests.helpers import alive, until

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
SCRIPTS = Path(__file__).parent / "fixtures" / "metric"
DOCKER = ["./docker", "stats", "--no-stream", "--format", "{{json .}}"]


async def poll(command: list[str], **fields):
    target = MetricTarget(name="m", command=command, **fields)
    return await CommandMetricSource([target], SCRIPTS, ManualClock(T0)).poll_one("m")


async def test_json_stdout_at_a_path_with_units() -> None:
    depth = await poll(["./print-json"], path="queue.depth", warn=40)
    lag = await poll(["./print-json"], path="queue.lag", unit="ms", crit=1000)
    assert (depth.state, depth.value, depth.reason) == (State.WARN, 42.0, "above warn 40")
    assert (lag.state, lag.check.value, lag.reason) == (State.CRIT, "1,500 ms", "above crit 1,000 ms")
    bare = await poll(["./print-json", "97.5%"], unit="%")
    assert (bare.state, bare.value) == (State.OK, 97.5)


async def test_text_stdout_with_a_pattern() -> None:
    lag = await poll(["./print-text"], pattern=r"lag (\S+) behind", unit="s", warn=0.5)
    assert (lag.state, lag.value, lag.reason) == (State.WARN, pytest.approx(0.83), "above warn 0.5 s")
    missing = await poll(["./print-text"], pattern=r"queue (\d+)")
    assert (missing.state, missing.reason) == (State.UNKNOWN, r"pattern 'queue (\\d+)' not found")
    wrong_unit = await poll(["./print-text"], pattern=r"lag (\S+)", unit="%")
    assert (
        wrong_unit.state is State.UNKNOWN
        and "830ms" in wrong_unit.reason
        and "does not convert to %" in wrong_unit.reason
    )


async def test_a_hang_is_killed_with_its_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    started = time.monotonic()
    snapshot = await poll(["./hang", str(pids)], timeout="2s")
    assert time.monotonic() - started < 10.0  # ended by its timeout (the script never exits), even on a busy machine
    assert (snapshot.state, snapshot.reason) == (State.DOWN, "./hang timed out after 2s")
    assert not any(alive(int(pid)) for pid in pids.read_text().split())


async def test_a_cancelled_poll_leaves_no_process(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    task = asyncio.create_task(poll(["./hang", str(pids)], timeout="30s"))
    await until(lambda: pids.exists() and pids.read_text().strip(), what="the hang's pids")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not any(alive(int(pid)) for pid in pids.read_text().split())  # gone when the cancelled poll returns


@pytest.mark.parametrize(
    ("command", "state", "reason"),
    [
        (["./fail"], State.DOWN, "./fail exited 1: error: cannot connect to the Docker daemon"),
        (["./silent"], State.UNKNOWN, "./silent printed nothing"),
        (["./nope"], State.DOWN, "cannot run ./nope: No such file or directory"),
        (["./print-json", "not json"], State.UNKNOWN, "not JSON"),
    ],
)
async def test_failures_in_words(command: list[str], state: State, reason: str) -> None:
    snapshot = await poll(command, path="value")
    assert (snapshot.state, snapshot.reason, snapshot.value, snapshot.check.value) == (state, reason, None, "")


async def test_docker_stats_json_lines() -> None:
    cpu = await poll([*DOCKER, "api"], path="CPUPerc", unit="%", warn=80, crit=150)
    memory = await poll([*DOCKER, "api"], path="MemUsage", unit="MiB")
    worker = await poll(DOCKER, path="[?Name=='worker'].CPUPerc | [0]", unit="%", warn=80, crit=150)
    assert (cpu.state, cpu.check.value) == (State.OK, "12.34%")
    assert memory.value == pytest.approx(1228.8)
    assert (worker.state, worker.value, worker.reason) == (State.CRIT, 187.5, "above crit 150%")


async def test_top_list_from_a_command() -> None:
    top = await poll(["./print-json"], kind="top", path="errors", columns=["category", "count"], sort="count", limit=2)
    assert isinstance(top, TopSnapshot)
    assert (top.state, top.rows, top.total, top.check.value) == (
        State.OK,
        [["5xx", "40"], ["timeout", "12"]],
        3,
        "2 of 3",
    )
    busiest = await poll(DOCKER, kind="top", columns=["Name", "CPUPerc", "MemUsage"], sort="CPUPerc")
    assert busiest.rows == [["worker", "187.50%", "3.004GiB / 4GiB"], ["api", "12.34%", "1.2GiB / 4GiB"]]
    failed = await poll(["./fail"], kind="top", columns=["a"])
    assert (failed.state, failed.rows, failed.check.value) == (State.DOWN, [], "")
    not_a_list = await poll(["./print-json"], kind="top", path="queue", columns=["depth"])
    assert (not_a_list.state, not_a_list.reason) == (State.UNKNOWN, "no list at queue")


async def test_top_list_from_a_url(http_server) -> None:
    from console.http import HttpClient

    http_server.route("/slow", body={"endpoints": [{"route": "/a", "p95": "120ms"}, {"route": "/b", "p95": "2.4s"}]})
    target = MetricTarget(
        name="slow", url=http_server.url("/slow"), kind="top", path="endpoints", columns=["route", "p95"], sort="p95"
    )
    client = HttpClient()
    try:
        top = await MetricSource([target], client, ManualClock(T0)).poll_one("slow")
    finally:
        await client.aclose()
    assert top.rows == [["/b", "2.4s"], ["/a", "120ms"]]


CONFIG = """
[[metric]]
name = "api cpu"
command = ["./docker", "stats", "--no-stream", "--format", "{{{{json .}}}}", "api"]
path = "CPUPerc"
unit = "%"
interval = "5s"
timeout = "2s"
[[metric]]
name = "http"
url = "{url}"
"""


async def test_the_registry_builds_command_metrics_beside_url_ones(http_server, tmp_path: Path) -> None:
    http_server.route("/n", body="3")
    config = cfg.loads(CONFIG.format(url=http_server.url("/n")), source=SCRIPTS / "config.toml", environ={})
    feeds = build_feeds(config, Clock())
    try:
        by_key = {feed.key: feed for feed in feeds.polled}
        assert set(by_key) == {"metric:api cpu", "metric:http"}
        assert (by_key["metric:api cpu"].interval, by_key["metric:api cpu"].timeout) == (5.0, 3.0)
        cpu, http = await by_key["metric:api cpu"].poll(), await by_key["metric:http"].poll()
        assert (cpu.value, http.value) == (12.34, 3.0)
        reaches = {reach.name: reach for reach in await reach_all(config)}
        assert reaches["api cpu"].ok and reaches["api cpu"].detail == "./docker found"
    finally:
        await feeds.aclose()
