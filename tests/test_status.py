"""`incident-console status [--json]`: one poll of every target, the dashboard's thresholds, exit 0 / 1 / 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.cli import main
from console.clock import ManualClock
from console.config import loads
from console.demo.servers import free_port
from console.models import Check, State
from console.sources.status import StatusReport, poll_all


def write_config(tmp_path: Path, server) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[console]
environment = "staging"

[[health]]
name = "api"
url = "{server.url("/api/health")}"
expect_json = {{ status = "ok" }}

[[metric]]
name = "error rate"
url = "{server.url("/api/metrics/errors")}"
path = "errorRate"
unit = "%"
warn = 0.5
crit = 1.0

[[metric]]
name = "cache hit rate"
url = "{server.url("/api/metrics/cache")}"
path = "hitRate"
unit = "%"
warn = 90
crit = 75
below = true
"""
    )
    return path


def status_json(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, dict]:
    code = main(["status", "--json", "--config", str(path)])
    out, err = capsys.readouterr()
    assert err == ""
    return code, json.loads(out)


def serve(server, *, health: str = "ok", error_rate: float = 0.1, hit_rate: float = 97.0) -> None:
    server.route("/api/health", body={"status": health, "version": "v1.2.3"})
    server.route("/api/metrics/errors", body={"errorRate": error_rate})
    server.route("/api/metrics/cache", body={"hitRate": hit_rate})


def test_status_json_follows_state_changes(tmp_path: Path, capsys, http_server) -> None:
    path = write_config(tmp_path, http_server)

    serve(http_server)
    code, report = status_json(capsys, path)
    assert (code, report["state"], report["exit_code"], report["environment"]) == (0, "ok", 0, "staging")
    assert [(c["source"], c["name"], c["state"]) for c in report["checks"]] == [
        ("health", "api", "ok"),
        ("metric", "error rate", "ok"),
        ("metric", "cache hit rate", "ok"),
    ]

    serve(http_server, hit_rate=85.0)
    code, report = status_json(capsys, path)
    assert (code, report["state"]) == (1, "warn")
    assert report["checks"][2] == {
        "source": "metric",
        "name": "cache hit rate",
        "state": "warn",
        "value": "85%",
        "number": 85.0,
        "unit": "%",  # the number's unit, which triage conditions convert their thresholds to
        "reason": "below warn 90%",
    }

    serve(http_server, error_rate=5.0, hit_rate=85.0)
    code, report = status_json(capsys, path)
    assert (code, report["state"], report["checks"][1]["reason"]) == (2, "crit", "above crit 1%")

    serve(http_server, health="degraded")
    code, report = status_json(capsys, path)
    assert (code, report["checks"][0]["reason"]) == (2, "status != ok (got degraded)")

    http_server.route("/api/health", status=503)
    code, report = status_json(capsys, path)
    assert (code, report["state"], report["checks"][0]["reason"]) == (2, "down", "HTTP 503")

    serve(http_server)
    assert status_json(capsys, path)[0] == 0


def test_unknown_metric_is_exit_1(tmp_path: Path, capsys, http_server) -> None:
    serve(http_server)
    http_server.route("/api/metrics/errors", body={"rate": 0.1})
    code, report = status_json(capsys, write_config(tmp_path, http_server))
    assert (code, report["state"]) == (1, "unknown")
    assert report["checks"][1]["reason"] == "no number at errorRate"


def test_unreachable_target_is_exit_2_with_text_output(tmp_path: Path, capsys, http_server) -> None:
    serve(http_server)
    path = write_config(tmp_path, http_server)
    path.write_text(path.read_text() + f'\n[[health]]\nname = "db"\nurl = "http://127.0.0.1:{free_port()}/health"\n')
    code = main(["status", "--config", str(path)])
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert code == 2 and len(lines) == 5
    assert lines[0].startswith("● OK      health  api ") and lines[0].endswith(" ms")
    assert lines[1].startswith("▼ DOWN    health  db ") and lines[1].endswith("connection refused")
    assert lines[4].startswith("staging: ▼ DOWN (3 ok, 1 down) at ")


async def test_report_lines_and_exit_codes() -> None:
    taken = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)

    def report(*states: State) -> StatusReport:
        checks = [Check(source="metric", name=f"m{i}", state=s, value="1%") for i, s in enumerate(states)]
        return StatusReport(environment="prod", taken_at=taken, checks=checks)

    assert report().exit_code == 0 and report().lines() == [
        "prod: ● OK (nothing configured to poll) at 2026-03-01 03:00:00Z"
    ]
    assert report(State.OK, State.UNKNOWN).exit_code == 1
    assert report(State.WARN).exit_code == 1
    assert report(State.WARN, State.CRIT).exit_code == 2
    assert report(State.DOWN).model_dump(mode="json")["exit_code"] == 2
    assert report(State.WARN).lines()[0] == "▲ WARN    metric  m0  1%"


async def test_poll_all_uses_the_given_clock(http_server) -> None:
    serve(http_server)
    clock = ManualClock(datetime(2026, 3, 1, 3, 0, tzinfo=UTC))
    text = f'[[health]]\nname = "api"\nurl = "{http_server.url("/api/health")}"\n'
    report = await poll_all(loads(text), clock=clock)
    assert report.taken_at == clock.now() and report.checks[0].state is State.OK


def test_postgres_and_redis_checks_join_the_report(
    tmp_path: Path, capsys, http_server, pg_server, redis_server
) -> None:
    serve(http_server)
    path = write_config(tmp_path, http_server)
    path.write_text(path.read_text() + f'\n[postgres]\ndsn = "{pg_server.dsn}"\n[redis]\nurl = "{redis_server.url}"\n')
    code, report = status_json(capsys, path)
    by_source = {c["source"]: [] for c in report["checks"]}
    for check in report["checks"]:
        by_source[check["source"]].append(check)
    assert list(by_source) == ["health", "metric", "postgres", "redis"]
    assert all(c["state"] != "down" for c in report["checks"]), report["checks"]
    assert any(c["name"] == "connections" for c in by_source["postgres"])
    assert by_source["redis"][0]["name"] == "ping" and by_source["redis"][0]["state"] == "ok"
    assert code == report["exit_code"]


def test_postgres_and_redis_down_are_exit_2(tmp_path: Path, capsys, http_server) -> None:
    serve(http_server)
    path = write_config(tmp_path, http_server)
    dead_pg, dead_redis = free_port(), free_port()
    path.write_text(
        path.read_text()
        + f'\n[postgres]\ndsn = "postgresql://ops:hunter22@127.0.0.1:{dead_pg}/app"\n'
        + f'[redis]\nurl = "redis://127.0.0.1:{dead_redis}/0"\n'
    )
    code, report = status_json(capsys, path)
    down = [(c["source"], c["state"]) for c in report["checks"] if c["source"] in ("postgres", "redis")]
    assert code == 2 and down == [("postgres", "down"), ("redis", "down")]
    assert "hunter22" not in json.dumps(report)
