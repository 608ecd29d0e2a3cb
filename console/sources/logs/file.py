"""A log file followed like `tail -F`: last lines first, then appends; rotation, truncation, late files."""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

from console.clock import Clock
from console.config import LogSettings
from console.models import State
from console.models.logs import LogLine
from console.proc import LineSplitter
from console.sources.logs.base import LogSource


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


