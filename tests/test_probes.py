"""Probes that send more than a GET, and numbers where the runbooks have them: real loopback servers."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console import config as cfg
from console.clock import ManualClock
from console.config import ConfigError, HealthTarget, MetricTarget
from console.http import HttpClient
from console.models import State
from console.models.numbers import read_number, to_number
from console.redact import Redactor
from console.sources.health import HealthSource
from console.sources.metrics import MetricSource
from console.sources.reach import reach_all

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
TOKEN = "s3cr3t-token-value"


@pytest.fixture
async def client() -> AsyncIterator:
    client = HttpClient()
    yield client
    await client.aclose()


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> cfg.Config:
    return cfg.loads(text, source=tmp_path / "config.toml", environ=environ or {"TOKEN": TOKEN})


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert "\n" not in message and "config.toml" in message
    return message


# requests


AUTH_PROBE = """
[[health]]
name = "sentry"
url = "{url}"
headers = {{ Authorization = "Bearer ${{TOKEN}}" }}
"""


async def test_a_header_with_a_secret_is_sent_and_masked_everywhere(http_server, client, tmp_path) -> None:
    http_server.route("/api/0/", body={"ok": True}, require_headers={"Authorization": f"Bearer {TOKEN}"})
    config = load(tmp_path, AUTH_PROBE.format(url=http_server.url("/api/0/")))
    source = HealthSource(config.health, client, ManualClock(T0), Redactor(config.secrets))
    assert (await source.poll_one("sentry")).state is State.OK
    bare = HealthSource([HealthTarget(name="sentry", url=http_server.url("/api/0/"))], client, ManualClock(T0))
    denied = await bare.poll_one("sentry")
    assert (denied.state, denied.reason) == (State.DOWN, "HTTP 401")
    reaches = await reach_all(config)
    assert reaches[0].ok and "HTTP 200" in reaches[0].detail
    wrong = load(tmp_path, AUTH_PROBE.format(url=http_server.url("/api/0/")), {"TOKEN": "wrong-token"})
    assert "HTTP 401" in (await reach_all(wrong))[0].detail
    # a reason that quotes the secret (here: a body mismatch echoing it) is masked
    http_server.route("/echo", body={"token": TOKEN})
    echo = HealthTarget(name="echo", url=http_server.url("/echo"), expect_json={"token": "x"})
    snapshot = await HealthSource([echo], client, ManualClock(T0), Redactor(config.secrets)).poll_one("echo")
    assert TOKEN not in snapshot.reason and "***" in snapshot.reason
    assert TOKEN not in json.dumps(snapshot.model_dump(mode="json"))


async def test_post_with_a_json_body_answers_numbers(http_server, client) -> None:
    http_server.route("/graphql", body={"data": {"project": {"p95": "812ms"}}}, methods=("POST",))
    target = MetricTarget(
        name="p95",
        url=http_server.url("/graphql"),
        method="post",
        json={"query": "{ project { p95 } }"},
        path="data.project.p95",
        unit="s",
        warn=0.5,
    )
    snapshot = await MetricSource([target], client, ManualClock(T0)).poll_one("p95")
    assert (snapshot.state, snapshot.value, snapshot.reason) == (State.WARN, pytest.approx(0.812), "above warn 0.5 s")
    sent = http_server.requests[-1]
    assert (sent.method, json.loads(sent.body)) == ("POST", {"query": "{ project { p95 } }"})
    assert sent.headers["Content-Type"] == "application/json"
    get = MetricTarget(name="p95", url=http_server.url("/graphql"), path="data.project.p95")
    refused = await MetricSource([get], client, ManualClock(T0)).poll_one("p95")
    assert (refused.state, refused.reason) == (State.DOWN, "HTTP 405")


async def test_put_with_a_text_body_and_head(http_server, client) -> None:
    http_server.route("/q", body="rate=0.25", methods=("PUT", "HEAD"))
    put = MetricTarget(name="q", url=http_server.url("/q"), method="PUT", body="select 1", pattern=r"rate=(\S+)")
    snapshot = await MetricSource([put], client, ManualClock(T0)).poll_one("q")
    assert (snapshot.state, snapshot.value) == (State.OK, 0.25)
    assert http_server.requests[-1].body == b"select 1"
    head = await HealthSource([HealthTarget(name="h", url=http_server.url("/q"), method="HEAD")], client).poll_one("h")
    assert head.state is State.OK and http_server.requests[-1].method == "HEAD"


# numbers


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("42ms", "ms", 42.0),
        ("1.5 s", "ms", 1500.0),
        ("<50ms", "s", 0.05),
        ("83%", "%", 83.0),
        ("512MB", "GB", 0.512),
        ("1.2GiB / 4GiB", "MiB", 1228.8),
        ("0.5", "", 0.5),
        ("12.34%", "", 12.34),
        (7, "ms", 7.0),
    ],
)
def test_strings_with_units_are_read_and_normalised(value, unit: str, expected: float) -> None:
    assert to_number(value, unit) == (pytest.approx(expected), "")


def test_incompatible_units_say_so() -> None:
    assert read_number({"cpu": "83%"}, "cpu", "ms") == (None, "at cpu: '83%' is in %, which does not convert to ms")
    assert read_number({"cpu": "fast"}, "cpu") == (None, "no number at cpu")
    assert to_number(True) == (None, "not a number")


def test_prometheus_vectors_and_jmespath() -> None:
    vector = {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1.7e9, "0.5"]}]},
    }
    assert read_number(vector, None) == (0.5, "")
    assert read_number({"prom": vector}, "prom") == (0.5, "")
    endpoints = {"items": [{"route": "/a", "p95": "120ms"}, {"route": "/b", "p95": "2.4s"}]}
    assert read_number(endpoints, "items[?route=='/b'].p95 | [0]", "ms") == (2400.0, "")
    assert read_number(endpoints, "max_by(items, &route).route") == (None, "no number at max_by(items, &route).route")
    assert read_number({"a-b": {"c": [1, 2]}}, "a-b.c.1") == (2.0, "")
    assert read_number({"error rate": {"p95": 3}}, "error rate.p95") == (3.0, "")


async def test_prometheus_endpoint_without_a_path(http_server, client) -> None:
    http_server.route("/api/v1/query", body={"data": {"result": [{"value": [1, "97.5"]}]}})
    target = MetricTarget(name="up", url=http_server.url("/api/v1/query"), unit="%", warn=99, below=True)
    snapshot = await MetricSource([target], client, ManualClock(T0)).poll_one("up")
    assert (snapshot.state, snapshot.value, snapshot.check.value) == (State.WARN, 97.5, "97.5%")


# config errors


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('method = "FETCH"', "health[0].method: unknown method 'FETCH': expected one of GET, POST"),
        ("headers = { X-Key = 5 }", "health[0].headers.X-Key: expected a string, got the number 5"),
        ('body = "a"\njson = { a = 1 }', "line 1: health[0]: give body (a string) or json (a table), not both"),
        ('json = "a"', "health[0].json: expected a table, got 'a'"),
    ],
)
def test_request_config_errors(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error_of(tmp_path, f'[[health]]\nname = "h"\nurl = "http://x/"\n{body}\n')


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('url = "http://x/"\npath = "items[?"', "metric[0].path: path 'items[?' is not a JMESPath expression"),
        ('url = "http://x/"\npattern = "("', "metric[0].pattern: pattern '(' is not a regular expression"),
        ('url = "http://x/"\npattern = "a"', "pattern 'a' has 0 groups; it needs exactly one"),
        ('url = "http://x/"\ncommand = ["x"]', "in [redis] are counted), not url and command"),
        ('path = "x"', "in [redis] are counted), one is required"),
        ("command = []", "command must name a program"),
        ('command = ["x"]\nmethod = "POST"', "method, headers, body, json, ca_file and proxy apply to a url"),
        ('url = "http://x/"\npath = "a"\npattern = "(a)"', "give path (in JSON) or pattern"),
        ('url = "http://x/"\nkind = "top"', 'kind = "top" needs columns'),
        ('url = "http://x/"\nkind = "top"\ncolumns = ["a"]\nsort = "b"', "sort 'b' is not one of the columns (a)"),
        ('url = "http://x/"\nlimit = 3', 'columns, sort and limit apply to kind = "top" only'),
        (
            'url = "http://x/"\nkind = "top"\ncolumns = ["a[", "b"]',
            "metric[0]: column 'a[' is not a JMESPath expression",
        ),
        ('url = "http://x/"\nkind = "list"', "metric[0].kind: expected 'value' or 'top', got 'list'"),
    ],
)
def test_metric_config_errors(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error_of(tmp_path, f'[[metric]]\nname = "m"\n{body}\n')


def test_a_secret_in_a_header_error_is_masked(tmp_path: Path) -> None:
    message = error_of(
        tmp_path, '[[health]]\nname = "h"\nurl = "http://x/"\nheaders = { A = "${TOKEN}" }\nmethod = 1\n'
    )
    assert TOKEN not in message
    text = '[[health]]\nname = "h"\nurl = "http://x/"\nmethod = "${TOKEN}"\n'
    assert TOKEN not in error_of(tmp_path, text) and "***" in error_of(tmp_path, text)


def test_the_config_docs_probe_examples_are_valid_config() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "config.md").read_text()
    section = doc[doc.index("### Probes that log in") : doc.index("## `[prometheus]`")]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)
    config = cfg.loads("\n".join(blocks), environ={"SENTRY_TOKEN": TOKEN, "GRAFANA_TOKEN": TOKEN, "API_KEY": TOKEN})
    assert [(m.method, m.kind, m.command is not None, m.redis_keys) for m in config.metric] == [
        ("POST", "value", False, None),
        ("POST", "value", False, None),
        ("GET", "value", True, None),
        ("GET", "top", False, None),
        ("GET", "value", False, "session:*"),
    ]


def test_a_literal_header_value_in_a_readable_file_is_warned_about(tmp_path: Path, capsys) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[health]]\nname = "h"\nurl = "http://x/"\nheaders = { Authorization = "Bearer abc" }\n')
    path.chmod(0o644)
    tmp_path.chmod(0o755)
    cfg.load(path, environ={})
    assert "line 4: health[0].headers.Authorization: holds a literal password or token" in capsys.readouterr().err
    path.write_text('[[health]]\nname = "h"\nurl = "http://x/"\nheaders = { Authorization = "Bearer ${TOKEN}" }\n')
    cfg.load(path, environ={"TOKEN": TOKEN})
    path.write_text('[[health]]\nname = "h"\nurl = "http://x/"\nheaders = { Accept = "application/json" }\n')
    cfg.load(path, environ={})
    assert capsys.readouterr().err == ""


async def test_a_secret_in_a_command_and_its_stderr_is_masked(tmp_path: Path) -> None:
    from console.clock import Clock
    from console.sources.base import build_feeds

    text = (
        '[[metric]]\nname = "m"\ncommand = ["sh", "-c", "echo denied for $TOKEN >&2; exit 3"]\n'
        'env = { TOKEN = "${TOKEN}" }\n'
    )
    config = load(tmp_path, text)
    feeds = build_feeds(config, Clock())
    snapshot = await feeds.polled[0].poll()
    assert (snapshot.state, snapshot.reason) == (State.DOWN, "sh exited 3: denied for ***")
    assert TOKEN not in json.dumps(snapshot.model_dump(mode="json"))
