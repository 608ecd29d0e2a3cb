"""A command's output as a log, restarted with backoff when it exits (argv, no shell; the group killed on stop)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

from console import proc as processes
from console.clock import Clock
from console.config import LogSettings
from console.models import State, format_duration
from console.models.logs import LogLine
from console.sources.logs.base import LogSource


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
                proc = await processes.spawn(
                    self.argv, self.base_dir, merge_stderr=False, env=self.settings.env or None
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
        readers = [asyncio.create_task(_forward(pipe, queue)) for pipe in (proc.stdout, proc.stderr) if pipe]
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
                await processes.kill_group(proc)


async def _forward(pipe: asyncio.StreamReader, queue: asyncio.Queue[list[str] | None]) -> None:
    async for lines in processes.line_batches(pipe):
        await queue.put(lines)
    await queue.put(None)
