"""`h` on a live dashboard: the chart of a check from the recording, following it; and what it says without one."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from actions.registry import build_runner
from console.config import load
from console.config.record import RecordSettings
from console.models import State
from console.models.health import MetricSnapshot
from console.record.codec import Sample
from console.record.recorder import recording_path
from console.record.writer import Writer
from console.redact import Redactor
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from tests.helpers import config_file, painted, settle, toasts, until

METRIC = '[[metric]]\nname = "latency"\nurl = "http://127.0.0.1:9/"\nunit = "ms"\nwarn = 200\ncrit = 500\n'


def metric(value: float, at: float) -> MetricSnapshot:
    state = State.WARN if value >= 200 else State.OK
    taken = datetime.fromtimestamp(at, UTC)
    return MetricSnapshot(name="latency", state=state, value=value, unit="ms", warn=200, crit=500, taken_at=taken)


async def chart_shows(pilot, app: ConsoleApp, text: str) -> str:
    async def shown() -> bool:
        await settle(pilot)
        return text in painted(app)

    await until(shown, 10, f"{text!r} on the chart")
    return painted(app)


async def test_a_live_chart_reads_the_recording_and_follows_it(tmp_path: Path) -> None:
    # no [record]: the chart reads the default recording (`incident-console record`'s), the console records nothing
    config = load(config_file(tmp_path / "cfg", METRIC))
    now = time.time()
    writer = Writer(recording_path(config), RecordSettings(), Redactor())
    try:
        samples = [metric(50.0 + (i % 5) * 100, now - 1800 + i * 10) for i in range(180)]
        writer.write([Sample("metric:latency", m.taken_at.timestamp(), 10.0, m, m.checks()) for m in samples])
    finally:
        writer.close()
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(100, 30)) as pilot:
        app.live.update([metric(120.0, now)])
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        await pilot.press("enter")
        screen = await chart_shows(pilot, app, "metric:latency · 1h · live · warn 200 ms · crit 500 ms")
        assert "warn 200 ms" in screen.split("live")[1]
        assert "525 ┤" in screen  # the axis reaches past crit (500) and the highest number recorded (450)
        assert any(0x2801 <= ord(char) <= 0x28FF for char in screen)  # the recorded line, in braille dots
        await pilot.press("left")
        await chart_shows(pilot, app, "· 1h · panned")
        await pilot.press("end", "minus")
        await chart_shows(pilot, app, "· 2h · live")


async def test_a_chart_without_a_recording_says_so(tmp_path: Path) -> None:
    path = config_file(tmp_path / "cfg", METRIC)
    config = load(path)
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.press("h")
        await settle(pilot)
        assert "No check has a number to chart yet." in " ".join(toasts(app))
        app.live.update([metric(120.0, time.time())])
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        await pilot.press("enter")
        await chart_shows(pilot, app, "no recording")


def named(name: str, value: float, at: float) -> MetricSnapshot:
    taken = datetime.fromtimestamp(at, UTC)
    return MetricSnapshot(name=name, state=State.OK, value=value, unit="ms", taken_at=taken)


def record(config, models: list[MetricSnapshot]) -> None:
    writer = Writer(recording_path(config), RecordSettings(), Redactor())
    try:
        writer.write([Sample(f"metric:{m.name}", m.taken_at.timestamp(), 10.0, m, m.checks()) for m in models])
    finally:
        writer.close()


async def test_the_picker_lists_every_recorded_check_and_marks_those_not_live(tmp_path: Path) -> None:
    from console.tui.screens.pick import PickScreen

    queue = METRIC.replace('"latency"', '"queue"')  # configured, but its probe has not answered yet
    config = load(config_file(tmp_path / "cfg", METRIC + queue))
    now = time.time()
    record(config, [named(name, 7.0, now - 600 + i * 10) for i in range(50) for name in ("latency", "gone", "queue")])
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(100, 30)) as pilot:
        app.live.update([metric(120.0, now)])
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, PickScreen)
        assert app.screen.options == [
            ("metric:latency", "metric:latency  120 ms"),
            ("metric:gone", "metric:gone  (recorded, not live)"),  # removed from the config
            ("metric:queue", "metric:queue  (recorded, not live)"),
        ]
        await pilot.press("down", "enter")
        await chart_shows(pilot, app, "metric:gone · 1h · live")


async def test_in_a_replay_the_picker_lists_checks_recorded_after_the_moment(tmp_path: Path) -> None:
    from console.tui.screens.pick import PickScreen
    from tests.test_replay import START, make_recording, replay_app

    config = make_recording(tmp_path)
    later = START.timestamp() + 480  # 03:08, after the moment shown
    record(config, [named("later", 3.0, later + i * 2) for i in range(50)])
    app = replay_app(config, at="2026-01-15T03:06:00Z")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, PickScreen)
        assert [value for value, _ in app.screen.options] == ["metric:latency", "metric:later"]
        assert app.screen.options[1][1] == "metric:later  (recorded, not at this moment)"
        await pilot.press("down", "enter")
        await chart_shows(pilot, app, "metric:later · 1h · replay")
