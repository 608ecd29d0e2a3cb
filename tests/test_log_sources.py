"""Log sources against real files and real processes: tail -F behaviour, commands restarted, lines made safe."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.clock import ManualClock
from console.config import LogSettings
from console.demo.logwriter import DemoLogWriter
from console.journal import Journal
from console.models import State
from console.models.logs import LogLine
from console.observer import Observer
from console.proc import CUT_MARKER, MAX_LINE
from console.redact import UNSAFE_CHARS, is_safe, make_safe
from console.sources.logs import CommandLogSource, FileLogSource, LogSource
from console.sources.logs.parse import LineParser
from tests.helpers import until

FIXTURES = Path(__file__).parent / "fixtures"
START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


class Follower:
    """Runs a source's stream in a task and keeps every line it yields."""

    def __init__(self, source: LogSource) -> None:
        self.source = source
        self.lines: list[LogLine] = []
        self.batches = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for batch in self.source.stream():
            self.batches += 1
            self.lines.extend(batch)

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    async def wait_for(self, condition: Callable[[list[str]], bool], timeout: float = 5.0) -> list[str]:
        def met() -> bool:
            if self.task.done():
                self.task.result()  # a follower that failed: its error rather than a timeout
            return condition(self.texts)

        await until(met, timeout, "the lines")
        return self.texts

    async def following(self) -> None:
        """Wait until the file is open (lines appended from now on are new, not part of the last-lines backlog)."""
        await until(lambda: self.source.stats().status.startswith("following"), 5, "the file open")

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def follow(source: LogSource) -> AsyncIterator[Follower]:
    follower = Follower(source)
    try:
        yield follower
    finally:
        await follower.stop()


def file_source(path: Path, **kwargs) -> FileLogSource:
    settings = LogSettings(name="app", path=path, **kwargs)
    return FileLogSource(settings, poll_interval=0.02, initial_lines=3)


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as out:
        out.write(data)


# ---- making untrusted text safe ----------------------------------------------------------------


def test_make_safe_shows_escape_sequences_and_controls_instead_of_passing_them_on() -> None:
    assert make_safe("\x1b]52;c;ZXZpbA==\x07 copied") == "\\x1b]52;c;ZXZpbA==\\x07 copied"
    assert make_safe("\x1b[2J\x1b[31mred") == "\\x1b[2J\\x1b[31mred"
    assert make_safe("csi \x9b2J del \x7f nul \x00 bell \x07") == "csi \\x9b2J del \\x7f nul \\x00 bell \\x07"
    assert make_safe("a\tb") == "a    b"
    assert make_safe("cr\rlf\n") == "cr\\x0dlf\\x0a"
    assert make_safe("bidi \u202e evil") == "bidi \\u202e evil"
    assert make_safe("plain ünïcode → ok") == "plain ünïcode → ok"


def test_is_safe_answers_from_isprintable_only_because_every_unsafe_character_is_non_printable() -> None:
    unsafe = [chr(code) for code in range(0x30000) if UNSAFE_CHARS.match(chr(code))]
    assert len(unsafe) == 32 + 33 + 2 + 5 + 4 and not any(char.isprintable() for char in unsafe)
    assert is_safe("plain ünïcode → ok") and is_safe("no\u00a0break, zero\u200dwidth joiner")
    assert not any(is_safe(f"a{char}b") for char in unsafe)


async def test_escape_sequences_in_a_file_reach_the_lines_made_visible(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    async with follow(file_source(path)) as tail:
        await tail.following()
        append(path, b"evil \x1b]52;c;ZXZpbA==\x07 and \x1b[2J clear\n")
        texts = await tail.wait_for(lambda t: len(t) == 1)
    assert texts == ["evil \\x1b]52;c;ZXZpbA==\\x07 and \\x1b[2J clear"]
    assert "\x1b" not in tail.lines[0].message


# ---- files: tail -F ----------------------------------------------------------------------------


async def test_starts_with_the_last_lines_then_follows_appends(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("".join(f"old {i}\n" for i in range(10)))
    source = file_source(path)
    async with follow(source) as tail:
        await tail.wait_for(lambda t: len(t) == 3)
        append(path, b"new 1\nnew 2\n")
        texts = await tail.wait_for(lambda t: len(t) == 5)
    assert texts == ["old 7", "old 8", "old 9", "new 1", "new 2"]
    assert source.stats().status == f"following {path}"
    assert source.stats().lines == 5


async def test_a_partial_last_line_is_held_until_it_is_completed(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    async with follow(file_source(path)) as tail:
        await tail.following()
        append(path, b"first line\nsecond li")
        await tail.wait_for(lambda t: len(t) == 1)
        await asyncio.sleep(0.2)  # a sleep by design: the half line must stay held while nothing completes it
        assert tail.texts == ["first line"]
        append(path, b"ne completed\n")
        texts = await tail.wait_for(lambda t: len(t) == 2)
    assert texts == ["first line", "second line completed"]


async def test_follows_rotation_by_rename(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"before rotation\n")
    source = file_source(path)
    async with follow(source) as tail:
        await tail.wait_for(lambda t: t == ["before rotation"])
        append(path, b"last words of the old file\n")
        path.rename(tmp_path / "app.log.1")
        path.write_bytes(b"first line of the new file\n")
        texts = await tail.wait_for(lambda t: len(t) == 3)
        append(path, b"second line of the new file\n")
        texts = await tail.wait_for(lambda t: len(t) == 4)
    assert texts == [
        "before rotation",
        "last words of the old file",
        "first line of the new file",
        "second line of the new file",
    ]
    assert "rotation" in source.stats().status


async def test_follows_truncation(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"a long line before the truncation\n")
    source = file_source(path)
    async with follow(source) as tail:
        await tail.wait_for(lambda t: len(t) == 1)
        with path.open("r+b") as out:
            out.truncate(0)
        await until(lambda: "truncated" in source.stats().status, what="the truncation seen")
        append(path, b"after\n")
        texts = await tail.wait_for(lambda t: len(t) == 2)
    assert texts == ["a long line before the truncation", "after"]
    assert "truncated" in source.stats().status


async def test_waits_for_a_file_that_does_not_exist_yet_and_reads_it_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "later.log"
    source = file_source(path)
    async with follow(source) as tail:
        await until(lambda: source.stats().status == f"waiting for file {path}", what="the source waiting")
        stats = source.stats()
        assert stats.source_state is State.UNKNOWN
        assert stats.status == f"waiting for file {path}"
        path.write_text("".join(f"line {i}\n" for i in range(5)))
        texts = await tail.wait_for(lambda t: len(t) == 5)
    assert texts == [f"line {i}" for i in range(5)]
    assert source.stats().source_state is State.OK


async def test_an_unreadable_file_is_down_with_a_reason(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory.log"
    directory.mkdir()
    source = file_source(directory)
    async with follow(source):
        await until(lambda: source.stats().source_state is State.DOWN, what="the source down")
    stats = source.stats()
    assert stats.source_state is State.DOWN
    assert stats.status == f"cannot open {directory}: Is a directory"
    assert stats.checks()[0].state is State.DOWN


async def test_a_one_megabyte_line_is_cut_with_a_marker_and_the_next_line_is_intact(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    async with follow(file_source(path)) as tail:
        await tail.following()
        append(path, b"x" * 1_000_000 + b"\nnext line\n")
        texts = await tail.wait_for(lambda t: len(t) == 2)
    assert texts[0] == "x" * MAX_LINE + CUT_MARKER
    assert texts[1] == "next line"


async def test_invalid_utf8_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    async with follow(file_source(path)) as tail:
        await tail.following()
        append(path, b"bad \xff\xfe bytes and a cut \xe2\x82\n")
        texts = await tail.wait_for(lambda t: len(t) == 1)
    assert texts == ["bad \ufffd\ufffd bytes and a cut \ufffd"]


async def test_a_flood_arrives_in_batches_not_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    async with follow(file_source(path)) as tail:
        await tail.following()
        append(path, b"".join(b"2024-05-01T12:00:00Z INFO line %d\n" % i for i in range(50_000)))
        texts = await tail.wait_for(lambda t: len(t) == 50_000, timeout=20)
    assert texts[-1] == "2024-05-01T12:00:00Z INFO line 49999"
    assert tail.batches <= 200  # a few hundred lines per batch, not one message per line


# ---- parsing -----------------------------------------------------------------------------------


def parser(**kwargs) -> LineParser:
    return LineParser(LogSettings(name="worker", path=Path("w.log"), **kwargs), ManualClock(START))


def test_text_lines_get_time_level_message_and_trace_id_from_common_patterns() -> None:
    lines = parser().parse(
        [
            "2024-05-01T12:00:01.250Z ERROR POST /api/checkout 500 trace_id=4bf92f3577b34da6",
            "[2024-05-01 12:00:02] level=warn msg=slow x-trace-id: abc-123-def",
            "Error: connect ECONNREFUSED 127.0.0.1:5432",
            '127.0.0.1 - - [01/May/2024:12:00:03 +0000] "GET / HTTP/1.1" 502 12 "-" "curl"',
            "handled [info] traceId 0af7651916cd43dd8448eb211c80319c",
            "just words, no level and no trace id",
        ]
    )
    assert [line.level for line in lines] == ["error", "warn", "error", "error", "info", None]
    assert [line.trace_id for line in lines] == [
        "4bf92f3577b34da6",
        "abc-123-def",
        None,
        None,
        "0af7651916cd43dd8448eb211c80319c",
        None,
    ]
    assert lines[0].time == datetime(2024, 5, 1, 12, 0, 1, 250000, tzinfo=UTC)
    assert lines[0].message == "POST /api/checkout 500 trace_id=4bf92f3577b34da6"
    assert lines[1].time == datetime(2024, 5, 1, 12, 0, 2, tzinfo=UTC)
    assert lines[2].time is None and lines[2].received == START
    assert [line.seq for line in lines] == [1, 2, 3, 4, 5, 6]


def test_json_lines_take_fields_from_configured_dotted_paths_and_keep_every_field() -> None:
    lines = parser(
        format="json",
        time_field="eventTimestamp",
        level_field="log.level",
        message_field="event.message",
        trace_field="event.request.headers.x-trace-id",
    ).parse(
        [
            json.dumps(
                {
                    "eventTimestamp": 1714564800500,
                    "outcome": "exception",
                    "log": {"level": "ERROR"},
                    "event": {"message": "boom\x1b[2J", "request": {"headers": {"x-trace-id": "t-42"}}},
                }
            ),
            "not json at all: WARN fallback",
        ]
    )
    first, second = lines
    assert first.time == datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)
    assert (first.level, first.message, first.trace_id) == ("error", "boom\\x1b[2J", "t-42")
    assert first.fields is not None and first.fields["outcome"] == "exception"
    assert (second.level, second.fields) == ("warn", None)


def test_lines_without_a_time_inherit_the_order_of_the_line_before_them() -> None:
    lines = parser().parse(["2024-05-01T11:00:00Z ERROR crash", "  at frame one", "  at frame two"])
    assert [line.order for line in lines] == [lines[0].time.timestamp()] * 3


# ---- error rate, thresholds, journal -----------------------------------------------------------


async def test_an_error_spike_goes_warn_then_crit_then_back_and_is_journaled(tmp_path: Path) -> None:
    clock = ManualClock(START)
    settings = LogSettings(name="app", path=tmp_path / "app.log", error_spike_per_min=30)
    source = FileLogSource(settings, clock)
    observer = Observer(Journal(tmp_path / "journal.jsonl", environment="test"))
    stamp = "2024-05-01T12:00:00Z"

    source.parser.parse([f"{stamp} ERROR db timeout"] * 20 + [f"{stamp} INFO fine"] * 100)
    assert source.stats().rate_state is State.OK
    source.parser.parse([f"{stamp} ERROR db timeout"] * 20)
    stats = source.stats()
    assert (stats.errors_per_min, stats.state, stats.rate_text) == (40, State.WARN, "40 err/min")
    check = stats.checks()[0]
    assert check.reason == "error spike: 40 err/min (threshold 30/min)"
    await observer.see(check.source, check.name, check.state, check.reason)
    source.parser.parse([f"{stamp} ERROR db timeout"] * 30)
    assert source.stats().state is State.CRIT
    clock.advance(61)
    assert source.stats().rate_state is State.OK

    entries = list(observer.journal.entries())
    assert [(e["kind"], e["data"]["name"], e["data"]["state"]) for e in entries] == [("observation", "app", "warn")]


def test_old_errors_in_the_backlog_do_not_count_as_a_spike() -> None:
    source = parser(error_spike_per_min=5)
    source.parse(["2024-05-01T11:00:00Z ERROR an hour ago"] * 50 + ["ERROR with no time"] * 50, backlog=True)
    assert source.rate.per_minute(START) == 0
    source.parse(["2024-05-01T11:59:30Z ERROR thirty seconds ago"] * 7, backlog=True)
    assert source.rate.per_minute(START) == 7


# ---- commands ----------------------------------------------------------------------------------


def command_source(tmp_path: Path, *args: str) -> CommandLogSource:
    settings = LogSettings(name="burst", command=["./log-burst", str(tmp_path / "runs"), *args])
    return CommandLogSource(settings, FIXTURES, min_backoff=0.1, max_backoff=0.2)


async def test_a_command_that_exits_is_shown_and_restarted(tmp_path: Path) -> None:
    source = command_source(tmp_path, "3")
    async with follow(source) as tail:
        texts = await tail.wait_for(lambda t: any(s.startswith("run 2 line 2") for s in t))
        stats = source.stats()
    run_one = [t for t in texts if t.startswith("run 1")]
    assert sorted(run_one) == [
        "run 1 ERROR something failed on stderr",
        "run 1 line 0 INFO working",
        "run 1 line 1 INFO working",
        "run 1 line 2 INFO working",
    ]
    exits = [line for line in tail.lines if line.text.startswith("[incident-console]")]
    assert exits[0].text == "[incident-console] command exited 3, restarting in 100ms"
    assert exits[0].level == "error"
    assert texts.index(exits[0].text) > max(texts.index(t) for t in run_one)
    assert stats.exit_code == 3
    assert (tmp_path / "runs").read_text() in ("2", "3")


async def test_a_command_that_cannot_start_is_down_and_retried(tmp_path: Path) -> None:
    settings = LogSettings(name="missing", command=["no-such-program-here", "-f"])
    source = CommandLogSource(settings, tmp_path, min_backoff=0.05, max_backoff=0.05)
    async with follow(source) as tail:
        await tail.wait_for(lambda t: len(t) >= 2)
    stats = source.stats()
    assert stats.source_state is State.DOWN
    assert stats.status.startswith("cannot start no-such-program-here: No such file or directory")
    assert tail.lines[0].level == "error"


async def test_stopping_the_stream_kills_the_command(tmp_path: Path) -> None:
    source = command_source(tmp_path, "--hang")
    async with follow(source) as tail:
        await tail.wait_for(lambda t: len(t) == 4)
        pid = int((tmp_path / "runs.pid").read_text())
        assert source.stats().status == f"running log-burst (pid {pid})"
    await until(lambda: not Path(f"/proc/{pid}").exists(), 5, "the command reaped")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# ---- the demo's log files ----------------------------------------------------------------------


async def test_the_demo_writes_a_text_and_a_json_log_with_shared_trace_ids_during_the_incident(tmp_path: Path) -> None:
    writer = DemoLogWriter(tmp_path, clock=ManualClock(START))
    for _ in range(20):
        writer.write_once()
    app_settings, worker_settings = writer.log_settings()
    calm = LineParser(app_settings, ManualClock(START)).parse(writer.app_log.read_text().splitlines())
    assert len(calm) == 20 and not any(line.is_error for line in calm)
    writer.incident = True
    for _ in range(40):
        writer.write_once()
    app = LineParser(app_settings, ManualClock(START)).parse(writer.app_log.read_text().splitlines())
    worker = LineParser(worker_settings, ManualClock(START)).parse(writer.worker_log.read_text().splitlines())
    app_errors = {line.trace_id for line in app if line.is_error}
    worker_errors = {line.trace_id for line in worker if line.is_error}
    assert len(app_errors) >= 10 and app_errors == worker_errors
    assert all(line.fields is not None and line.fields["outcome"] == "exception" for line in worker if line.is_error)
    assert all(line.time == START for line in app + worker)


async def test_the_demo_writer_runs_in_the_background_until_stopped(tmp_path: Path) -> None:
    writer = DemoLogWriter(tmp_path / "demo", rate=50)
    await writer.start()
    source = FileLogSource(writer.log_settings()[1], poll_interval=0.02)
    async with follow(source) as tail:
        await tail.wait_for(lambda t: len(t) >= 3)
    await writer.stop()
    size = writer.app_log.stat().st_size
    await asyncio.sleep(0.1)  # a sleep by design: nothing may be written after stop()
    assert writer.app_log.stat().st_size == size
    assert all(line.fields is not None for line in tail.lines)
