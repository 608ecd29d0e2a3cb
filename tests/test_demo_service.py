"""The demo service: runbook-shaped endpoints, the incident it plays, and the rollback script that ends it."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.clock import Clock, ManualClock
from console.config import loads
from console.demo.servers import free_port
from console.demo.service import DemoService
from console.models import State
from console.sources.status import poll_all
from tests.helpers import wait_for

ROLLBACK = Path(__file__).parent.parent / "console" / "demo" / "rollback.py"
T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(clock: ManualClock) -> Iterator[DemoService]:
    with DemoService(incident_after=60.0, clock=clock, seed=3) as demo:
        yield demo


def get(service: DemoService, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(service.url + path, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def post(service: DemoService, path: str) -> tuple[int, dict]:
    request = urllib.request.Request(service.url + path, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def rollback(service: DemoService, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(ROLLBACK), "--url", service.url, "--environment", "demo", "--drain", "0", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def demo_config(service: DemoService) -> str:
    url = service.url
    return f"""
[[health]]
name = "api"
url = "{url}/api/health"
expect_json = {{ status = "ok" }}
[[health]]
name = "database"
url = "{url}/api/health/db"
warn_ms = 200
crit_ms = 400
[[metric]]
name = "error rate"
url = "{url}/api/metrics/errors"
path = "errorRate"
unit = "%"
warn = 0.5
crit = 1.0
[[metric]]
name = "p95 latency"
url = "{url}/api/metrics/latency"
path = "p95"
unit = "ms"
warn = 800
crit = 2000
[[metric]]
name = "cache hit rate"
url = "{url}/api/metrics/cache"
path = "hitRate"
unit = "%"
warn = 90
crit = 80
below = true
"""


def test_endpoints_answer_in_the_runbook_shapes(service: DemoService) -> None:
    status, health = get(service, "/api/health")
    assert status == 200 and health["status"] == "ok" and health["version"] == "v1.2.2"
    assert health["timestamp"] == "2026-03-01T03:00:00.000Z" and "uptime" in health
    assert get(service, "/api/health/db")[1]["database"] == "connected"
    assert get(service, "/api/health/cache")[1]["redis"] == "connected"
    assert get(service, "/api/metrics/errors")[1]["errorRate"] < 0.5
    assert get(service, "/api/metrics/latency")[1]["p95"] < 500
    assert get(service, "/api/metrics/cache")[1]["hitRate"] > 90
    assert get(service, "/admin/state")[1] == {
        "phase": "normal",
        "version": "v1.2.2",
        "started_at": "2026-03-01T03:00:00.000Z",
        "incident_after": 60.0,
        "rollback_at": None,
        "rolling_back": False,
        "severity": 0.0,
    }
    assert get(service, "/nope") == (404, {"error": "no such endpoint: GET /nope"})
    assert post(service, "/admin/rollback")[0] == 400


async def test_incident_plays_and_the_console_sees_it(service: DemoService, clock: ManualClock) -> None:
    phases: list[str] = []
    service.on_phase(phases.append)
    config = loads(demo_config(service))
    healthy = await poll_all(config)
    assert healthy.exit_code == 0, healthy.lines()

    clock.advance(70)
    wait_for(lambda: phases == ["degrading"])  # the ticker notices without any request
    clock.advance(15)
    report = await poll_all(config)
    states = {c.name: (c.state, c.reason) for c in report.checks}
    assert phases == ["degrading", "incident"]
    assert states["api"] == (State.DOWN, "HTTP 503")
    assert states["database"] == (State.CRIT, "above crit 400 ms")
    assert states["error rate"] == (State.CRIT, "above crit 1%")
    assert states["p95 latency"] == (State.CRIT, "above crit 2,000 ms")
    assert states["cache hit rate"] == (State.CRIT, "below crit 80%")
    assert 4.5 < get(service, "/api/metrics/errors")[1]["errorRate"] < 5.5
    assert 2300 < get(service, "/api/metrics/latency")[1]["p95"] < 2700
    assert 55 < get(service, "/api/metrics/cache")[1]["hitRate"] < 65


def test_the_release_history_shows_the_deploy_that_started_the_incident_and_the_rollback(clock: ManualClock) -> None:
    with DemoService(incident_after=60.0, clock=clock, recovery=0.0, seed=3) as service:
        assert get(service, "/api/releases") == (
            200,
            {
                "current": "v1.2.2",
                "previous": "v1.2.1",
                "releases": [
                    {"version": "v1.2.1", "deployed_at": "2026-02-20T03:00:00.000Z"},
                    {"version": "v1.2.2", "deployed_at": "2026-02-27T03:00:00.000Z"},
                ],
            },
        )
        clock.advance(100)
        assert service.phase == "incident"
        status, releases = get(service, "/api/releases")
        assert (status, releases["current"], releases["previous"]) == (200, "v1.2.3", "v1.2.2")
        assert releases["releases"][-1] == {"version": "v1.2.3", "deployed_at": "2026-03-01T03:01:00.000Z"}
        assert get(service, "/api/health")[1]["version"] == "v1.2.3"
        assert get(service, "/api/metrics/errors")[1]["errorRate"] > 4.5

        done = rollback(service, "--version", releases["previous"])  # the real script the demo's action runs
        assert done.returncode == 0, done.stderr
        after = get(service, "/api/releases")[1]
        assert (after["current"], after["previous"]) == ("v1.2.2", "v1.2.3")
        assert [r["version"] for r in after["releases"]] == ["v1.2.1", "v1.2.2", "v1.2.3", "v1.2.2"]
        assert after["releases"][-1]["deployed_at"] == "2026-03-01T03:01:40.000Z"
        assert get(service, "/api/metrics/errors")[1]["errorRate"] < 0.5
        assert service.phase == "recovered"


def test_a_rollback_before_the_bad_deploy_cancels_it(clock: ManualClock) -> None:
    with DemoService(incident_after=60.0, clock=clock, recovery=0.0) as service:
        assert post(service, "/admin/rollback?version=v1.2.1")[1]["from"] == "v1.2.2"
        clock.advance(120)
        releases = get(service, "/api/releases")[1]
        assert (releases["current"], releases["previous"]) == ("v1.2.1", "v1.2.2")
        assert "v1.2.3" not in [r["version"] for r in releases["releases"]]
        assert service.severity() == 0.0


def test_rollback_script_recovers_the_service(clock: ManualClock) -> None:
    phases: list[str] = []
    with DemoService(incident_after=1.0, clock=clock, recovery=0.0, seed=1) as service:
        service.on_phase(phases.append)
        clock.advance(30)
        assert service.phase == "incident"
        done = rollback(service, "--version", "v1.2.2")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "rolling back demo from v1.2.3 to v1.2.2",
            "draining traffic...",
            "switching to v1.2.2...",
            "waiting for health checks...",
            "health check ok: demo now runs v1.2.2",
        ]
        state = get(service, "/admin/state")[1]
        assert (state["phase"], state["version"], state["rolling_back"]) == ("recovered", "v1.2.2", False)
        assert get(service, "/api/metrics/errors")[1]["errorRate"] < 0.5
        assert phases == ["incident", "recovered"]


def test_recovery_takes_a_few_seconds_of_real_time() -> None:
    with DemoService(incident_after=0.2, ramp=0.2, recovery=0.6, clock=Clock()) as service:
        wait_for(lambda: service.phase == "incident")
        status, answer = post(service, "/admin/rollback?version=v1.2.2")
        assert status == 200
        assert (answer["ok"], answer["from"], answer["version"]) == (True, "v1.2.3", "v1.2.2")
        state = get(service, "/admin/state")[1]
        assert (state["phase"], state["rolling_back"], state["version"]) == ("incident", True, "v1.2.2")
        wait_for(lambda: service.phase == "recovered", timeout=2.0)
        assert get(service, "/api/health")[1]["status"] == "ok"


def test_rollback_script_failures_exit_1_with_a_message(clock: ManualClock) -> None:
    with DemoService(incident_after=0.0, clock=clock, recovery=60.0) as service:
        stuck = rollback(service, "--version", "v1.2.2", "--timeout", "0.5")
        bad = rollback(service, "--version", "not a version")
    assert stuck.returncode == 1 and "not recovered after 0.5s" in stuck.stderr
    assert bad.returncode == 1 and "HTTP 400" in bad.stderr
    gone = subprocess.run(
        [str(ROLLBACK), "--url", f"http://127.0.0.1:{free_port()}", "--environment", "demo", "--version", "v1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert gone.returncode == 1 and gone.stderr.startswith("rollback: cannot reach")


def test_seeded_jitter_is_repeatable(clock: ManualClock) -> None:
    first, second = DemoService(clock=clock, seed=42), DemoService(clock=clock, seed=42)
    assert [first.readings() for _ in range(3)] == [second.readings() for _ in range(3)]


def test_stop_is_quick_with_a_keep_alive_connection_open(clock: ManualClock) -> None:
    service = DemoService(clock=clock)
    service.start()
    port = service.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/api/metrics/errors")
    assert json.loads(connection.getresponse().read())["errorRate"] < 0.5
    started = time.perf_counter()
    service.stop()
    assert time.perf_counter() - started < 1.5
    assert connection.sock.recv(4096) == b""  # the server hung up the idle keep-alive connection
    connection.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
