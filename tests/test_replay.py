"""`incident-console replay`: the dashboard (and the wall) at a recorded moment, read-only, the scrubber's keys moving
the moment (a sample, a minute, a journal entry, a typed time, play at 1x/10x/60x), the incident header and the
timeline following it; the banner saying where the moment stands against the declaration; snapshots."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from actions.registry import build_runner
from console.clock import ManualClock
from console.config import Config, ConfigError, load
from console.config.record import RecordSettings
from console.incident.commands import IncidentDesk
from console.journal import Journal
from console.models import State
from console.models.health import MetricSnapshot
from console.record.codec import Sample
from console.record.recorder import recording_path
from console.record.writer import Writer
from console.redact import Redactor
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from console.tui.controllers.replay import open_replay
from tests.helpers import cli, config_file, painted, settle, until
from tests.incident_flow import ACTOR

START = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)  # the recording: 03:00:00 to 03:09:58, a sample every 2 s
DECLARED = START + timedelta(minutes=5)
NOTED = START + timedelta(minutes=6, seconds=40)


def latency(at: datetime) -> float:
    """Quiet for four minutes, then climbing: 10 ms, then 10 ms more every 2 s."""
    return 10.0 + max(0.0, (at - START).total_seconds() - 240) * 5


def _metric(at: datetime) -> MetricSnapshot:
    value = latency(at)
    state = State.CRIT if value >= 500 else State.WARN if value >= 200 else State.OK
    return MetricSnapshot(name="latency", state=state, value=value, unit="ms", warn=200, crit=500, taken_at=at)


def make_recording(tmp_path: Path) -> Config:
    """A config whose recording holds ten minutes of one metric, and whose journal a declaration and a note."""
    path = config_file(
        tmp_path / "cfg",
        f'[[metric]]\nname = "latency"\nurl = "http://127.0.0.1:9/"\nunit = "ms"\nwarn = 200\ncrit = 500\n'
        f'[record]\npath = "{tmp_path / "state" / "staging.db"}"\n',
    )
    config = load(path)
    writer = Writer(recording_path(config), RecordSettings(), Redactor())
    try:
        samples = []
        for step in range(300):
            at = START + timedelta(seconds=2 * step)
            model = _metric(at)
            samples.append(Sample("metric:latency", at.timestamp(), 2.0, model, model.checks()))
        writer.write(samples)
    finally:
        writer.close()
    clock = ManualClock(DECLARED)
    journal = Journal(Path(str(config.console.journal)), environment="staging", clock=clock.now, actor=ACTOR)
    desk = IncidentDesk(journal, clock)
    desk.declare("checkout is slow", "SEV-2")
    clock.advance((NOTED - DECLARED).total_seconds())
    desk.add_note("latency climbing since 03:04")
    return config


def replay_app(config: Config, *, at: str | None = None, incident: str | None = None, wall: bool = False):
    runner = build_runner(config, read_only=True)
    start = open_replay(config, runner.journal, at, incident, ManualClock(START + timedelta(hours=1)))
    clock = ManualClock(START + timedelta(minutes=10))
    return ConsoleApp(config, runner, clock=clock, feeds=Feeds(), replay=start, wall=wall)


def bar(app: ConsoleApp) -> str:
    return next(line for line in painted(app).splitlines() if "REPLAY" in line).strip()


async def wait_shown(pilot, app: ConsoleApp, text: str) -> None:
    async def shown() -> bool:
        await settle(pilot)
        return text in bar(app)

    await until(shown, 10, f"{text!r} in the replay bar")


async def test_the_scrubber_moves_the_moment_and_the_incident_follows(tmp_path: Path) -> None:
    app = replay_app(make_recording(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_shown(pilot, app, "REPLAY 03:09:58 · 4m after the declaration · paused (1x)")
        assert "checkout is slow" in painted(app) and "latency climbing" in painted(app)
        await pilot.press("left_square_bracket")  # the note
        await wait_shown(pilot, app, "REPLAY 03:06:40 · 1m after the declaration")
        await pilot.press("left_square_bracket")  # the declaration
        await wait_shown(pilot, app, "REPLAY 03:05:00 · 0s after the declaration")
        assert "latency climbing" not in painted(app)  # the note was written later: the timeline follows
        await pilot.press("comma")  # a sample back: before the declaration, no incident in the header
        await wait_shown(pilot, app, "REPLAY 03:04:58 · 2s before the declaration")
        assert "checkout is slow" not in painted(app)
        await pilot.press("less_than_sign")  # a minute back: the metric was still quiet
        await wait_shown(pilot, app, "REPLAY 03:03:58 · 1m before the declaration")
        assert f"{latency(START + timedelta(minutes=3, seconds=58)):.0f} ms" in painted(app)
        await pilot.press("greater_than_sign", "full_stop")
        await wait_shown(pilot, app, "REPLAY 03:05:00 · 0s after the declaration")
        assert f"{latency(DECLARED):.0f} ms" in painted(app)
        await pilot.press("right_square_bracket")
        await wait_shown(pilot, app, "REPLAY 03:06:40")


async def test_go_to_a_typed_time_and_play_at_10x(tmp_path: Path) -> None:
    app = replay_app(make_recording(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_shown(pilot, app, "REPLAY 03:09:58")
        await pilot.press("g")
        await settle(pilot)
        await pilot.press(*"yesterday-ish", "enter")
        await settle(pilot)
        assert "go to: expected a time like" in painted(app)  # said in the prompt, which stays open
        await pilot.press("ctrl+u", *"2026-01-15T03:02:00Z", "enter")
        await wait_shown(pilot, app, "REPLAY 03:02:00 · 3m before the declaration · paused (1x)")
        await pilot.press("W", "w")  # 10x, then play
        await wait_shown(pilot, app, "▶ 10x")
        await pilot.pause(1.2)  # a sleep by design: the play rate over 1.2 s of the wall clock
        await settle(pilot)
        moment = bar(app).split()[1]
        assert "03:02:10" <= moment <= "03:02:40", moment  # 0.5 s a tick, 5 s of the recording each
        await pilot.press("w")
        await wait_shown(pilot, app, "paused (10x)")


async def test_a_replay_acts_on_nothing_and_its_keys_are_in_the_help(tmp_path: Path) -> None:
    config = make_recording(tmp_path)
    app = replay_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_shown(pilot, app, "REPLAY")
        for refused in ("command_palette", "note", "incident", "triage", "page"):
            assert not app.check_action(refused, ())
        await pilot.press("question_mark")
        await settle(pilot)
        rows = {row[3]: row for row in app.screen.rows}
    for binding in ("replay.sample_back", "replay.minute_forward", "replay.entry_back", "replay.goto", "replay.play"):
        assert rows[binding][0] == "replay"
    assert rows["replay.minute_back"][1] == "<" and rows["replay.entry_forward"][1] == "]"
    assert app.feeds is not None and not app.feeds.polled  # nothing was polled: the recording is the source


async def test_the_scrubber_keys_are_remapped_by_binding_id(tmp_path: Path) -> None:
    from console.config import loads

    keys = loads('[keys]\n"replay.entry_back" = "b"\n"replay.play" = "less_than_sign,greater_than_sign"\n').keys
    assert keys["replay.play"] == "less_than_sign,greater_than_sign"  # `<` and `>` by Textual's names for them
    config = make_recording(tmp_path)
    config = config.model_copy(update={"keys": {"replay.entry_back": "b", "replay.play": "less_than_sign"}})
    app = replay_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_shown(pilot, app, "REPLAY 03:09:58")
        await pilot.press("b")
        await wait_shown(pilot, app, "REPLAY 03:06:40")


async def test_replay_of_an_incident_starts_at_its_onset(tmp_path: Path) -> None:
    config = make_recording(tmp_path)
    journal = build_runner(config, read_only=True).journal
    incident = next(e for e in journal.entries() if e["kind"] == "incident.declared")["incident"]
    app = replay_app(config, incident=incident)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_shown(pilot, app, "REPLAY 03:05:00 · 0s after the declaration")


def test_replay_refuses_with_one_line(tmp_path: Path) -> None:
    config = make_recording(tmp_path)
    runner = build_runner(config, read_only=True)
    later = ManualClock(START + timedelta(hours=1))
    outside = "holds 2026-01-15T03:00:00.000Z to now, not 2026-01-15T02:00:00.000Z"
    with pytest.raises(ConfigError, match=re.escape(outside)):
        open_replay(config, runner.journal, "02:00 UTC", None, later)
    with pytest.raises(ConfigError, match="no incident with this id"):
        open_replay(config, runner.journal, None, "INC-nope", later)
    empty = config_file(tmp_path / "other", f'[record]\npath = "{tmp_path / "state" / "none.db"}"\n')
    refused = cli("replay", "--config", empty)
    assert refused.returncode == 2 and "replay: " in refused.stderr and "no recording" in refused.stderr
    assert refused.stderr.count("\n") == 1
    both = cli("replay", "--at", "5m", "--incident", "x", "--config", empty)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_replay_snapshot(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    app = replay_app(make_recording(tmp_path), at="2026-01-15T03:06:00Z")

    async def shown(pilot) -> None:
        await wait_shown(pilot, app, "REPLAY 03:06:00")

    assert snap_compare(app, terminal_size=size, run_before=shown)


def test_replay_wall_snapshot(snap_compare, tmp_path: Path) -> None:
    app = replay_app(make_recording(tmp_path), at="2026-01-15T03:06:00Z", wall=True)

    async def shown(pilot) -> None:
        await wait_shown(pilot, app, "REPLAY 03:06:00")

    assert snap_compare(app, terminal_size=(80, 24), run_before=shown)


async def open_chart(pilot, app: ConsoleApp, check: str = "metric:latency") -> None:
    from console.tui.screens.chart import ChartScreen

    await pilot.press("h")
    await settle(pilot)
    await pilot.press("enter")  # the focused pane's first check, else the first: the only one here

    async def charted() -> bool:
        await settle(pilot)
        return isinstance(app.screen, ChartScreen) and "┤" in painted(app) and check in painted(app)

    await until(charted, 10, f"the chart of {check}")


async def test_a_chart_of_the_replayed_moment_with_thresholds_and_markers(tmp_path: Path) -> None:
    app = replay_app(make_recording(tmp_path), at="2026-01-15T03:08:00Z")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_shown(pilot, app, "REPLAY 03:08:00")
        await open_chart(pilot, app)
        screen = painted(app)
        assert "metric:latency · 1h · replay · warn 200 ms · crit 500 ms" in screen
        assert "warn 200 ms" in screen.split("metric:latency")[1] and "crit 500 ms" in screen
        assert "▲1 03:05 declared SEV-2: checkout is slow" in screen
        assert "▲2 03:06 note: latency climbing since 03:04" in screen or "▲2 03:06" in screen
        assert "03:00" in screen  # the time axis
        await pilot.press("r")  # 6h
        for _ in range(50):
            await settle(pilot)
            if "· 6h ·" in painted(app):
                break
        await pilot.press("plus", "plus", "plus", "plus")  # 6h / 16: 22.5m
        for _ in range(50):
            await settle(pilot)
            if "· 22.5m ·" in painted(app):
                break
        assert "· 22.5m ·" in painted(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "REPLAY 03:08:00" in painted(app)


@pytest.mark.parametrize(("size", "theme"), [((80, 24), "incident-mono"), ((160, 50), "incident-dark")])
def test_chart_snapshot(snap_compare, tmp_path: Path, size: tuple[int, int], theme: str) -> None:
    config = make_recording(tmp_path)
    config = config.model_copy(update={"console": config.console.model_copy(update={"theme": theme})})
    app = replay_app(config, at="2026-01-15T03:08:00Z")

    async def shown(pilot) -> None:
        await wait_shown(pilot, app, "REPLAY 03:08:00")
        await open_chart(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=shown)


@pytest.mark.parametrize("wall", [False, True], ids=["dashboard", "wall"])
async def test_a_replayed_moment_with_no_incident_lists_no_bookkeeping(tmp_path: Path, wall: bool) -> None:
    """Before the declaration the timeline lists the journal's recent entries: a change.baseline is not one."""
    from widgets.timeline import Timeline
    from widgets.wall_timeline import WallTimeline

    config = make_recording(tmp_path)
    clock = ManualClock(START + timedelta(minutes=2))
    journal = Journal(Path(str(config.console.journal)), environment="staging", clock=clock.now, actor=ACTOR)
    journal.append("note", {"text": "before the incident"})
    journal.append("change.baseline", {"key": "redis:config", "values": {"maxmemory": "0"}})
    app = replay_app(config, at="2026-01-15T03:04:00Z", wall=wall)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_shown(pilot, app, "REPLAY 03:04:00")
        if wall:
            kinds = [entry["kind"] for entry in app.screen.query_one(WallTimeline).entries]
        else:
            table = app.screen.query_one(Timeline).table
            kinds = [str(table.get_row_at(row)) for row in range(table.row_count)]
        assert len(kinds) == 1 and "baseline" not in str(kinds), kinds
