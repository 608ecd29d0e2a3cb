"""Log sources (no Textual): a file followed like `tail -F`, and a command's output, restarted with backoff.

Both yield BATCHES of parsed, terminal-safe lines from `async def stream()`, so a flood costs one append per
few hundred lines, and expose `stats()` (lines read, errors per minute, status words) for the pane and the
observer. Lines are untrusted: every control character and escape sequence is made visible by `make_safe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import re
import signal
import stat
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from console.clock import Clock
from console.config import LogSettings
from console.models import State, format_duration
from console.models.logs import ERROR_LEVELS, LogLine, LogStats, field_value, normalize_level

MAX_LINE = 64 * 1024
CUT_MARKER = " … [line cut at 64 KB]"
SLICE = 500  # lines parsed between two returns to the event loop
RATE_WINDOW = 60
STALL_AFTER = 10.0
T = TypeVar("T")

# Every C0/C1 control (tab becomes spaces), DEL, and the bidi overrides that reorder what is shown.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?")
_UPPER_LEVELS = (
    *("FATAL", "CRITICAL", "CRIT", "PANIC", "ERROR", "ERR"),
    *("WARNING", "WARN", "INFO", "NOTICE", "DEBUG", "TRACE"),
)
_LEVEL_WORD = re.compile(rf"({'|'.join(_UPPER_LEVELS)})\b")
_WORD_LEVELS = {word: normalize_level(word) for word in _UPPER_LEVELS}
_LEVEL_KEY = re.compile(r"\blevel\"?\s*[=:]\s*\"?([A-Za-z]+)")
_LEVEL_BRACKET = re.compile(r"\[(fatal|critical|error|warn|warning|info|notice|debug|trace)\]")
_LEVEL_TITLED = re.compile(r"(?:Fatal|Error|Warning):")
_HTTP_STATUS = re.compile(r"HTTP/[\d.]+\" ([45])\d\d ")
_TRACE = re.compile(
    r"(?i)\b(?:x-)?trace[-_]?id[\"']?\s*[=:]?\s*[\"']?(?=[\w.:-]*\d)([A-Za-z0-9][\w.:-]{3,})"
    r"|\btraceparent[\"']?\s*[=:]\s*[\"']?[0-9a-f]{2}-([0-9a-f]{32})-"
)
_HTTP_LEVEL = {"5": "error", "4": "warn"}
_fromisoformat = datetime.fromisoformat
_Parsed = tuple[str, datetime | None, str | None, str | None, dict[str, Any] | None]  # message, time, level...


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\t":
        return "    "
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def make_safe(text: str) -> str:
    """Untrusted text as the terminal may show it: ESC -> `\\x1b`, other controls `\\xNN`, tab -> spaces."""
    return _UNSAFE.sub(_visible, text) if _UNSAFE.search(text) else text


def parse_time(value: Any) -> datetime | None:
    """A UTC datetime from ISO 8601 text (naive means UTC) or epoch seconds/milliseconds; else None."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    elif isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class LineSplitter:
    """Bytes in, complete lines out (made safe later, by the parser).

    A partial last line is held until its newline arrives; a line longer than 64 KB is cut with a marker
    and the rest of it dropped as it arrives; invalid UTF-8 is replaced; CRLF endings are accepted.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._pending = b""
        self._skipping = False

    def feed(self, data: bytes) -> list[str]:
        end = data.rfind(b"\n")
        if end < 0:
            return self._hold(data)
        head, tail = data[:end], data[end + 1 :]
        if self._skipping:
            first = head.find(b"\n")
            head = head[first + 1 :] if first >= 0 else b""
            self._skipping = False
            if first < 0:
                return self._keep(tail, [])
        elif self._pending:
            head = self._pending + head
        self._pending = b""
        return self._keep(tail, self._decode(head))

    def flush(self) -> list[str]:
        """The held partial line, if any (at EOF of a command, or when a file is rotated away)."""
        pending, self._pending, self._skipping = self._pending, b"", False
        return self._decode(pending) if pending else []

    def _hold(self, data: bytes) -> list[str]:
        if self._skipping:
            return []
        self._pending += data
        if len(self._pending) <= self.max_line:
            return []
        cut = self._decode(self._pending[: self.max_line])[0] + CUT_MARKER
        self._pending, self._skipping = b"", True
        return [cut]

    def _keep(self, tail: bytes, lines: list[str]) -> list[str]:
        return lines + self._hold(tail) if tail else lines

    def _decode(self, data: bytes) -> list[str]:
        text = data.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        if len(text) > self.max_line:
            lines = [line[: self.max_line] + CUT_MARKER if len(line) > self.max_line else line for line in lines]
        return lines


class ErrorRate:
    """Error lines per minute over a sliding 60 s window of one-second buckets."""

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}

    def add(self, second: int, count: int = 1) -> None:
        self._buckets[second] = self._buckets.get(second, 0) + count

    def per_minute(self, now: datetime) -> float:
        horizon = int(now.timestamp()) - RATE_WINDOW
        for second in [s for s in self._buckets if s <= horizon]:
            del self._buckets[second]
        return float(sum(self._buckets.values()))


class LineParser:
    """Text lines of one source -> LogLines: time, level, message, trace id and (JSON) fields; counts errors."""

    def __init__(self, settings: LogSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.name = settings.name
        self.seq = 0
        self.rate = ErrorRate()
        self._last_order: float | None = None
        self._json = settings.format == "json"

    def parse(self, texts: list[str], *, backlog: bool = False) -> list[LogLine]:
        """Parse untrusted lines received now. Errors in a backlog count only if their own time is recent."""
        received = self.clock.now()
        stamp = received.timestamp()
        horizon = stamp - RATE_WINDOW
        unsafe = _UNSAFE.search("".join(texts)) is not None  # one scan per batch; almost always clean
        out: list[LogLine] = []
        append = out.append
        is_json = self._json
        name = self.name
        for raw in texts:
            self.seq += 1
            text = make_safe(raw) if unsafe else raw
            message, moment, level, trace_id, fields = (
                self._parse_json(raw, text) if is_json else self._parse_text(text)
            )
            if moment is not None:
                order = self._last_order = moment.timestamp()
            else:
                order = stamp if self._last_order is None else self._last_order
            if level in ERROR_LEVELS:
                when = order if moment is not None else (None if backlog else stamp)
                if when is not None and when > horizon:
                    self.rate.add(int(when))
            append(LogLine(name, self.seq, received, text, message, moment, level, trace_id, fields, order))
        return out

    def synthetic(self, message: str, level: str) -> LogLine:
        """A line the console itself adds (a command's exit): marked, never counted as an error of the log."""
        self.seq += 1
        received = self.clock.now()
        text = f"[incident-console] {message}"
        order = received.timestamp()
        return LogLine(self.name, self.seq, received, text, text, received, level, order=order)

    def _parse_text(self, text: str) -> _Parsed:
        """The message is what follows a leading timestamp and level word: the view shows both in columns."""
        message, moment = text, None
        found = _TIME.search(text, 0, 48)
        if found is not None:
            try:
                moment = _fromisoformat(found.group())
            except ValueError:
                pass
            else:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                if found.start() <= 1:
                    message = text[found.end() :].lstrip("] ")
        word = _LEVEL_WORD.match(message) if message is not text else None
        if word is not None:
            level = _WORD_LEVELS[word.group(1)]
            message = message[word.end() :].lstrip(":] ")
        else:
            level = _text_level(text)
        return message, moment, level, _text_trace(text), None

    def _parse_json(self, raw: str, text: str) -> _Parsed:
        try:
            fields = json.loads(raw)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            return self._parse_text(text)
        settings = self.settings
        level_value = field_value(fields, settings.level_field)
        level = normalize_level(level_value) if level_value is not None else _text_level(text)
        message = field_value(fields, settings.message_field)
        if message is None:
            message = text
        elif not isinstance(message, str):
            message = make_safe(json.dumps(message, ensure_ascii=False))
        else:
            message = make_safe(message)
        trace = field_value(fields, settings.trace_field)
        trace_id = make_safe(str(trace)) if trace not in (None, "") else _text_trace(text)
        return message, parse_time(field_value(fields, settings.time_field)), level, trace_id, fields


def _text_level(text: str) -> str | None:
    """The level a text line states: an upper-case word (ERROR, WARN...), level=..., [error], Error:, HTTP 4xx/5xx.

    Cheap substring checks guard the rarer patterns: this runs on every line of a flood.
    """
    found = _LEVEL_WORD.search(text)
    while found is not None:
        start = found.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
            return _WORD_LEVELS[found.group(1)]
        found = _LEVEL_WORD.search(text, found.end())
    if "level" in text and (found := _LEVEL_KEY.search(text)):
        return normalize_level(found.group(1))
    if "[" in text and (found := _LEVEL_BRACKET.search(text)):
        return normalize_level(found.group(1))
    if (found := _LEVEL_TITLED.search(text)) and (found.start() == 0 or text[found.start() - 1] == " "):
        return normalize_level(found.group()[:-1])
    if "HTTP/" in text and (found := _HTTP_STATUS.search(text)):
        return _HTTP_LEVEL[found.group(1)]
    return None


def _text_trace(text: str) -> str | None:
    at = text.find(" trace_id=")  # the common logfmt spelling, without the regex
    if at >= 0:
        end = text.find(" ", at + 10)
        value = text[at + 10 : end if end >= 0 else None]
        if len(value) >= 4 and value.isalnum():
            return value
    at = text.find("race")
    if at < 0:
        at = text.find("RACE")
        if at < 0:
            return None
    found = _TRACE.search(text, max(0, at - 4))  # start just before "x-trace" / "trace": skip the rest
    return None if found is None else found.group(1) or found.group(2)


class LogSource(ABC):
    """What both sources share: the parser, the status words and the stats snapshot."""

    def __init__(self, settings: LogSettings, clock: Clock | None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.parser = LineParser(settings, self.clock)
        self.status = "starting"
        self.source_state = State.UNKNOWN
        self.exit_code: int | None = None

    @abstractmethod
    def stream(self) -> AsyncIterator[list[LogLine]]:
        """Batches of new lines, forever (cancel the task to stop; files and processes are released)."""

    def stats(self) -> LogStats:
        """Lines read, errors per minute (against the spike threshold) and what the source is doing."""
        return LogStats(
            name=self.settings.name,
            lines=self.parser.seq,
            errors_per_min=self.parser.rate.per_minute(self.clock.now()),
            error_spike_per_min=self.settings.error_spike_per_min,
            status=self.status,
            source_state=self.source_state,
            exit_code=self.exit_code,
        )

    def _set(self, state: State, status: str) -> None:
        self.source_state, self.status = state, status

    async def _batches(self, texts: list[str], *, backlog: bool = False) -> AsyncIterator[list[LogLine]]:
        """Parse in slices, returning to the event loop between them so keys and frames never wait long."""
        for start in range(0, len(texts), SLICE):
            if start:
                await asyncio.sleep(0)
            yield self.parser.parse(texts[start : start + SLICE], backlog=backlog)

    async def _in_thread(self, what: str, call: Callable[..., T], *args: Any) -> T:
        """Run blocking I/O in a thread; while it hangs (a stuck NFS mount), say so instead of going quiet."""
        job: asyncio.Future[T] = asyncio.ensure_future(asyncio.to_thread(call, *args))
        before = (self.source_state, self.status)
        while True:
            done, _ = await asyncio.wait({job}, timeout=STALL_AFTER)
            if done:
                if self.status.startswith("stalled"):
                    self._set(*before)
                return job.result()
            self._set(State.DOWN, f"stalled: {what} has not answered for {format_duration(STALL_AFTER)}")


class _FileTail:
    """The blocking half of `tail -F` (run in a thread): open, read the last lines, read on, spot rotation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.identity: tuple[int, int] | None = None
        self.position = 0

    def open(self, last_lines: int | None) -> bytes:
        """Open the file; return its last `last_lines` lines (None: start at the beginning, a new file)."""
        fd = os.open(self.path, os.O_RDONLY)
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            os.close(fd)
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(self.path))
        self.fd, self.identity = fd, (info.st_dev, info.st_ino)
        if last_lines is None:
            self.position = 0
            return b""
        self.position = info.st_size
        return self._last_lines(fd, info.st_size, last_lines)

    def read(self, size: int) -> bytes:
        assert self.fd is not None
        data = os.pread(self.fd, size, self.position)
        self.position += len(data)
        return data

    def change(self) -> str | None:
        """'rotated': the path names another file; 'missing': nothing there now; 'truncated': the file shrank."""
        assert self.fd is not None
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return "missing"  # moved away and not yet recreated: keep reading the old file
        if (info.st_dev, info.st_ino) != self.identity:
            return "rotated"
        if os.fstat(self.fd).st_size < self.position:
            self.position = 0
            return "truncated"
        return None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
        self.fd = None

    @staticmethod
    def _last_lines(fd: int, size: int, count: int, block: int = 65536, limit: int = 8 * 1024 * 1024) -> bytes:
        """The end of the file holding its last `count` complete lines plus any partial line after them."""
        if count <= 0:
            return b""
        blocks: list[bytes] = []
        needed = count + 1  # the newline *before* the first wanted line
        start = size
        while start > 0 and size - start < limit:
            step = min(block, start)
            start -= step
            chunk = os.pread(fd, step, start)
            found = chunk.count(b"\n")
            if found >= needed:
                cut = len(chunk)
                for _ in range(needed):
                    cut = chunk.rfind(b"\n", 0, cut)
                blocks.append(chunk[cut + 1 :])
                return b"".join(reversed(blocks))
            blocks.append(chunk)
            needed -= found
        data = b"".join(reversed(blocks))
        if start == 0:
            return data
        first = data.find(b"\n")  # gave up before the start: drop the partial first line
        return data[first + 1 :] if first >= 0 else b""


class FileLogSource(LogSource):
    """Follows a file like `tail -F`: starts with its last lines, then appends; survives rotation by rename
    (a new inode at the path) and by truncation (the size shrank); waits for a file that does not exist yet.
    """

    def __init__(
        self,
        settings: LogSettings,
        clock: Clock | None = None,
        *,
        base_dir: Path | None = None,
        initial_lines: int = 200,
        poll_interval: float = 0.15,
        chunk_size: int = 256 * 1024,
    ) -> None:
        super().__init__(settings, clock)
        assert settings.path is not None, "FileLogSource needs settings.path"
        path = settings.path.expanduser()
        self.path = path if path.is_absolute() or base_dir is None else base_dir / path
        self.initial_lines = initial_lines
        self.poll_interval = poll_interval
        self.chunk_size = chunk_size

    async def stream(self) -> AsyncIterator[list[LogLine]]:
        tail = _FileTail(self.path)
        splitter = LineSplitter()
        first_open = True
        try:
            while True:
                if tail.fd is None:
                    backlog = await self._open(tail, first_open)
                    if self.source_state is State.UNKNOWN:
                        first_open = False  # a file created later is read from its start, as tail -F does
                    if backlog is None:
                        await asyncio.sleep(self.poll_interval)
                        continue
                    first_open = False
                    async for batch in self._batches(splitter.feed(backlog), backlog=True):
                        yield batch
                try:
                    texts, change = await self._in_thread(f"reading {self.path}", self._read, tail, splitter)
                except OSError as exc:
                    self._set(State.DOWN, f"cannot read {self.path}: {exc.strerror or exc}")
                    tail.close()
                    await asyncio.sleep(self.poll_interval)
                    continue
                if texts:
                    async for batch in self._batches(texts):
                        yield batch
                if texts is None or change is not None:
                    self._note(tail, change)
                    if change not in ("rotated", "truncated"):
                        await asyncio.sleep(self.poll_interval)
        finally:
            tail.close()

    async def _open(self, tail: _FileTail, first_open: bool) -> bytes | None:
        try:
            data = await self._in_thread(f"opening {self.path}", tail.open, self.initial_lines if first_open else None)
        except FileNotFoundError:
            self._set(State.UNKNOWN, f"waiting for file {self.path}")
            return None
        except OSError as exc:
            self._set(State.DOWN, f"cannot open {self.path}: {exc.strerror or exc}")
            return None
        self._set(State.OK, f"following {self.path}")
        return data

    def _read(self, tail: _FileTail, splitter: LineSplitter) -> tuple[list[str] | None, str | None]:
        """New complete lines (None: no new data) and, at the end of the data, what happened to the file."""
        data = tail.read(self.chunk_size)
        if data:
            return splitter.feed(data), None
        change = tail.change()
        if change == "rotated":  # what reached the old file just before the rename still counts
            lines = []
            for _ in range(16):
                if not (data := tail.read(self.chunk_size)):
                    break
                lines += splitter.feed(data)
            return lines + splitter.flush(), change
        if change == "truncated":
            return splitter.flush(), change
        return None, change

    def _note(self, tail: _FileTail, change: str | None) -> None:
        if change == "rotated":
            tail.close()
            self._set(State.OK, f"following {self.path} (reopened after rotation)")
        elif change == "truncated":
            self._set(State.OK, f"following {self.path} (truncated, reading from the start)")
        elif change == "missing":
            self._set(State.UNKNOWN, f"waiting for file {self.path} (moved away; reading the old one)")
        elif self.source_state is State.UNKNOWN:
            self._set(State.OK, f"following {self.path}")


class CommandLogSource(LogSource):
    """Follows a command's stdout and stderr (argv, no shell), restarting it with backoff when it exits.

    Each exit becomes a synthetic line and the status ("command exited 1, restarting in 4s"). The backoff
    doubles up to `max_backoff` and starts over once a run lasted `stable_after` seconds.
    """

    def __init__(
        self,
        settings: LogSettings,
        base_dir: Path,
        clock: Clock | None = None,
        *,
        min_backoff: float = 1.0,
        max_backoff: float = 30.0,
        stable_after: float = 30.0,
    ) -> None:
        super().__init__(settings, clock)
        assert settings.command, "CommandLogSource needs settings.command"
        program = settings.command[0]
        self.argv = [str(base_dir / program) if "/" in program and not program.startswith("/") else program]
        self.argv += settings.command[1:]
        self.base_dir = base_dir
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after

    async def stream(self) -> AsyncIterator[list[LogLine]]:
        backoff = self.min_backoff
        program = Path(self.argv[0]).name
        while True:
            started = time.monotonic()
            try:
                proc = await asyncio.create_subprocess_exec(
                    *self.argv,
                    cwd=self.base_dir,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    start_new_session=True,
                )
            except OSError as exc:
                reason = f"cannot start {program}: {exc.strerror or exc}, retrying in {format_duration(backoff)}"
                self._set(State.DOWN, reason)
                yield [self.parser.synthetic(reason, "error")]
            else:
                self._set(State.OK, f"running {program} (pid {proc.pid})")
                async for batch in self._follow(proc):
                    yield batch
                code = proc.returncode
                self.exit_code = code
                if time.monotonic() - started >= self.stable_after:
                    backoff = self.min_backoff
                ended = f"command killed by signal {-code}" if code and code < 0 else f"command exited {code}"
                status = f"{ended}, restarting in {format_duration(backoff)}"
                self._set(State.WARN, status)
                yield [self.parser.synthetic(status, "warn" if code == 0 else "error")]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _follow(self, proc: asyncio.subprocess.Process) -> AsyncIterator[list[LogLine]]:
        queue: asyncio.Queue[list[str] | None] = asyncio.Queue(maxsize=16)
        readers = [asyncio.create_task(_pump(pipe, queue)) for pipe in (proc.stdout, proc.stderr) if pipe]
        try:
            open_pipes = len(readers)
            while open_pipes:
                texts = await queue.get()
                if texts is None:
                    open_pipes -= 1
                    continue
                async for batch in self._batches(texts):
                    yield batch
            await proc.wait()
        finally:
            for reader in readers:
                reader.cancel()
            if proc.returncode is None:
                await _kill_group(proc)


async def _pump(pipe: asyncio.StreamReader, queue: asyncio.Queue[list[str] | None]) -> None:
    splitter = LineSplitter()
    while chunk := await pipe.read(256 * 1024):
        if lines := splitter.feed(chunk):
            await queue.put(lines)
    if rest := splitter.flush():
        await queue.put(rest)
    await queue.put(None)


async def _kill_group(proc: asyncio.subprocess.Process, grace: float = 2.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            await asyncio.wait_for(proc.wait(), grace)
            return
        except TimeoutError:
            continue


def log_source(settings: LogSettings, base_dir: Path, clock: Clock | None = None) -> LogSource:
    """The source a `[[logs]]` entry describes: a file to follow or a command to run."""
    if settings.path is not None:
        return FileLogSource(settings, clock, base_dir=base_dir)
    return CommandLogSource(settings, base_dir, clock)
