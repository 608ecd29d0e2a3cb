"""`record` (poll every target and record what the console would see, until SIGTERM or SIGINT) and `record show --at
TIME` (the checks and models as the recording has them at TIME)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from console.clock import Clock
from console.commands import EXIT_OK, EXIT_USAGE
from console.commands import fail as _err
from console.config import Config
from console.live import LiveState
from console.output import json_text, out
from console.record.reader import FeedSample, Reader
from console.record.recorder import recorder_for, recording_path
from console.record.store import RecordError, file_problem
from console.redact import make_safe
from console.timeparse import iso, parse_moment


async def record(config: Config, clock: Clock | None = None) -> int:
    """Record until SIGTERM or SIGINT (exit 0); while another process holds the writer's lock, wait as a standby
    (saying so once). Exit 2 with one line when the recording cannot be used."""
    from console.polling import groups
    from console.sources.base import build_feeds, sustain_rules
    from console.stop_signals import on_stop_signals
    from console.sustain import Sustain

    clock = clock or Clock()
    live = LiveState(clock, Sustain(sustain_rules(config)))
    stop = asyncio.Event()
    feeds = build_feeds(config, clock)

    async def deliver(models: list[Any]) -> None:
        live.update(models)

    recorder = recorder_for(config, live, {feed.key: feed.interval for feed in feeds.polled}, _said)
    tasks: list[asyncio.Task[Any]] = []
    with on_stop_signals(lambda signal, why: stop.set()):
        recording = asyncio.create_task(recorder.run())
        stopped = asyncio.create_task(stop.wait())
        try:
            holding = asyncio.create_task(recorder.holding.wait())
            tasks.append(holding)
            await asyncio.wait([recording, stopped, holding], return_when="FIRST_COMPLETED")
            if recorder.holding.is_set():  # the writer now: poll (a standby polls nothing)
                tasks += [asyncio.create_task(group.run()) for group in groups(feeds.polled, deliver)]
                tasks += [asyncio.create_task(_drain(source)) for source in feeds.streams]
                if feeds.streams:
                    tasks.append(asyncio.create_task(_stats(feeds.streams, deliver, config.console.refresh)))
                await asyncio.wait([recording, stopped], return_when="FIRST_COMPLETED")
            if recording.done():
                recording.result()  # its RecordError, said below
                return EXIT_OK
        except RecordError as exc:
            _err(str(exc))
            return EXIT_USAGE
        finally:
            for task in [*tasks, recording, stopped]:
                task.cancel()
            for task in [*tasks, recording]:
                with contextlib.suppress(asyncio.CancelledError, RecordError):  # a RecordError was said above
                    await task
            await feeds.aclose()
    out(f"incident-console: record: stopped; {recorder.path} kept", err=True)
    return EXIT_OK


def _said(state: str) -> None:
    out(f"incident-console: record: {make_safe(state)}", err=True)


async def _drain(source: Any) -> None:
    """A log's lines are not recorded (they stay in their files): read and dropped, so its stats count them."""
    async for _ in source.stream():
        pass


async def _stats(streams: list[Any], deliver: Any, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        await deliver([source.stats() for source in streams])


def show(config: Config, when: str, *, as_json: bool, clock: Clock | None = None) -> int:
    """`record show --at TIME`: each feed's sample at or just before TIME. Exit 2 with one line when there is no
    recording, TIME is in the future or not a time, or the recording does not reach back to it."""
    now = (clock or Clock()).now()
    try:
        at = parse_moment(when, now, future=False, what="--at")
    except ValueError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if at > now:
        _err(f"--at {when}: {iso(at)} is in the future; the recording holds what was seen until now")
        return EXIT_USAGE
    try:
        reader = Reader(recording_path(config))
    except RecordError as exc:
        _err(str(exc))
        return EXIT_USAGE
    try:
        span = reader.span()
        if span is None or at.timestamp() < span[0]:
            since = f"it starts at {iso(datetime.fromtimestamp(span[0], UTC))}" if span else "it is empty"
            _err(f"--at {when}: the recording {reader.path} does not reach back to {iso(at)} ({since})")
            return EXIT_USAGE
        frame = reader.frame(at.timestamp())
    except RecordError as exc:
        _err(str(exc))
        return EXIT_USAGE
    finally:
        reader.close()
    if as_json:
        out(json_text(frame_json(at, frame), indent=2, sort_keys=True))
    else:
        for line in frame_lines(config, at, frame):
            out(make_safe(line))
    return EXIT_OK


def frame_json(at: datetime, frame: dict[str, FeedSample]) -> dict[str, Any]:
    """The contract's shape: `taken_at`, `age_s` and `stale` per feed key, the checks as `status --json` has them."""
    moment = at.timestamp()
    return {
        "at": iso(at),
        "taken_at": {feed: iso(datetime.fromtimestamp(s.taken_at, UTC)) for feed, s in frame.items()},
        "age_s": {feed: round(moment - s.taken_at, 3) for feed, s in frame.items()},
        "stale": {feed: s.stale(moment) for feed, s in frame.items()},
        "checks": [check.model_dump(mode="json") for s in frame.values() for check in s.sample.checks],
        "models": {feed: s.sample.model_json for feed, s in frame.items()},
    }


def frame_lines(config: Config, at: datetime, frame: dict[str, FeedSample]) -> list[str]:
    """As `status` prints them, then the feeds whose sample was stale at TIME."""
    from console.sources.status import StatusReport

    checks = [check for s in frame.values() for check in s.sample.checks]
    lines = StatusReport(environment=config.console.environment, taken_at=at, checks=checks).lines()
    moment = at.timestamp()
    for feed, s in frame.items():
        if s.stale(moment):
            taken = datetime.fromtimestamp(s.taken_at, UTC)
            lines.append(f"stale: {feed}: its last sample was taken at {iso(taken)}, {moment - s.taken_at:.0f}s before")
    return lines


def record_problem(config: Config) -> str | None:
    """`check`'s word on `[record]`: its file (or folder) others could change, or a file that is no recording."""
    if config.record is None:
        return None
    problem = file_problem(recording_path(config))
    return f"[record] {problem}" if problem else None
