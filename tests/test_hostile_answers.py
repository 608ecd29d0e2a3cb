"""Hostile answers (JSON nested 100,000 deep) become a state with a reason, and never stop the other probes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from console import config as cfg
from console.clock import Clock
from console.models import State
from console.polling import PollGroup
from console.share.codec import Refused, decode, encode
from console.sources.base import Feed, build_feeds
from console.sources.logs.parse import LineParser
from tests.helpers import until

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


def config_for(tmp_path: Path, server) -> cfg.Config:
    path = tmp_path / "config.toml"
    path.write_text(
        '[console]\nenvironment = "test"\nrefresh = "1s"\n'
        f'[[health]]\nname = "deep"\nurl = "{server.url("/deep")}"\nexpect_json = {{ status = "ok" }}\n'
        f'[[health]]\nname = "fine"\nurl = "{server.url("/fine")}"\n'
        f'[[metric]]\nname = "deep metric"\nurl = "{server.url("/deep-object")}"\npath = "a"\nwarn = 1\ncrit = 2\n'
    )
    return cfg.load(path, environ={})


async def test_deep_json_is_a_state_with_a_reason_and_the_group_keeps_polling(http_server, tmp_path: Path) -> None:
    http_server.route("/deep", body=DEEP)
    http_server.route("/deep-object", body=DEEP_OBJECT)
    http_server.route("/fine", body=b"ok")
    feeds = build_feeds(config_for(tmp_path, http_server), Clock())
    seen: dict[str, list[Any]] = {}

    async def deliver(models: list[Any]) -> None:
        for model in models:
            seen.setdefault(model.feed_key, []).append(model)

    group = PollGroup(feeds.polled, 0.2, deliver)
    task = asyncio.create_task(group.run())
    try:
        await until(lambda: len(seen.get("health:fine", [])) >= 2)
        http_server.route("/fine", status=503)  # the other probe on the interval still moves on
        await until(lambda: seen["health:fine"][-1].state is State.DOWN)
    finally:
        task.cancel()
        await feeds.aclose()
    deep = seen["health:deep"][-1]
    assert deep.state is State.CRIT and deep.reason == "not JSON: nested more than 200 levels deep"
    metric = seen["metric:deep metric"][-1]
    assert metric.state is State.UNKNOWN and "not JSON" in metric.reason


async def test_a_poll_that_raises_is_reported_and_its_group_goes_on() -> None:
    calls = {"good": 0}

    async def broken() -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    async def good() -> Any:
        calls["good"] += 1
        return None

    errors: list[tuple[str, str]] = []
    group = PollGroup(
        [Feed("metric:broken", 0.1, 1, broken), Feed("metric:good", 0.1, 1, good)],
        0.1,
        deliver=lambda models: asyncio.sleep(0),
        on_error=lambda key, exc: errors.append((key, type(exc).__name__)),
    )
    task = asyncio.create_task(group.run())
    try:
        await until(lambda: calls["good"] >= 3)
    finally:
        task.cancel()
    assert errors and set(errors) == {("metric:broken", "RecursionError")}


def test_a_deep_json_log_line_is_read_as_text(tmp_path: Path) -> None:
    settings = cfg.LogSettings(name="app", path=tmp_path / "app.log", format="json")
    [line] = LineParser(settings, Clock()).parse([DEEP.decode()])
    assert line.message.startswith("[[[")


def test_a_deep_shared_entry_is_refused() -> None:
    fields = encode({"seq": 1, "hash": "sha256:x"}, "host-a", None, 0, "s")
    fields["entry"] = DEEP_OBJECT.decode()
    with pytest.raises(Refused, match="not a journal entry"):
        decode({k.encode(): v.encode() for k, v in fields.items()}, None, "s")


