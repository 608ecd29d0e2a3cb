"""`[[metric]] command = [...]`: a number (or a `top` list) read from a program's stdout, on its interval.

The argv runs without a shell, in the config's folder (a relative program path too), in its own process group:
past its `timeout` the whole group is killed. Not found, a hang, a non-zero exit: down with the reason; nothing
printed: unknown. What it printed is read like a URL's body (console.sources.metrics.reading).
"""

from __future__ import annotations

import asyncio
import signal
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from console import proc as processes
from console.clock import Clock
from console.config import MetricTarget
from console.models import State, format_duration
from console.models.health import HISTORY, MAX_BODY, OVERSIZE
from console.redact import Redactor, make_safe
from console.sources.base import Feed, Feeds
from console.sources.metrics import Reading, fault, reading

KILL_GRACE = 0.5  # SIGTERM, then SIGKILL: the poll ends well within its feed's timeout (target timeout + 1 s)
STDERR_TAIL = 4096


@dataclass(frozen=True)
class Run:
    """What one run produced: a failure in words (state and reason), or its stdout."""

    stdout: bytes = b""
    state: State | None = None
    reason: str = ""


class CommandMetricSource:
    """Runs each target's command on its own interval; keeps each target's history and last snapshot."""

    section = "metric"

    def __init__(
        self,
        targets: Iterable[MetricTarget],
        base_dir: Path,
        clock: Clock | None = None,
        redactor: Redactor | None = None,
        history: int = HISTORY,
    ) -> None:
        self.targets = {t.name: t for t in targets}
        self.base_dir = base_dir
        self.clock = clock or Clock()
        self.redactor = redactor or Redactor()
        self.last: dict[str, Reading] = {}
        self._history: dict[str, deque[float]] = {name: deque(maxlen=history) for name in self.targets}

    def add_to(self, feeds: Feeds, refresh: float) -> None:
        """A feed per target, on its interval (else `refresh`), with its timeout and the kill grace."""
        for name, target in self.targets.items():
            feeds.polled.append(
                # until console/sources/base.py (the registry rework) lets a Feed be a Source: frozen, poll awaitable
                Feed(f"metric:{name}", target.interval or refresh, target.timeout + 1, partial(self.poll_one, name))
            )

    async def poll_one(self, name: str) -> Reading:
        """Run and judge one target's command (KeyError for an unknown name); never raises for its failures."""
        target = self.targets[name]
        run = await self.run(target)
        previous = getattr(self.last.get(name), "state", None)
        history = self._history[name]
        if run.state is not None:
            snapshot = fault(self, target, run.state, run.reason, history, previous)
        else:
            snapshot = reading(self, target, run.stdout, history, previous)
        self.last[name] = snapshot
        return snapshot

    async def run(self, target: MetricTarget) -> Run:
        """Run the argv under the target's timeout; the process group is killed on timeout or cancel."""
        assert target.command, "a command metric has a command"
        program = target.command[0]
        argv = [str(self.base_dir / program) if "/" in program and not program.startswith("/") else program]
        argv += target.command[1:]
        try:
            proc = await processes.spawn(argv, self.base_dir, merge_stderr=False, env=target.env or None)
        except OSError as exc:
            return Run(state=State.DOWN, reason=f"cannot run {program}: {exc.strerror or exc}")
        try:
            async with asyncio.timeout(target.timeout):
                (stdout, oversize), (stderr, _) = await asyncio.gather(
                    _read(proc.stdout, MAX_BODY), _read(proc.stderr, STDERR_TAIL, tail=True)
                )
                if oversize:
                    return Run(state=State.UNKNOWN, reason=f"stdout {OVERSIZE}")
                code = await proc.wait()
        except TimeoutError:
            await processes.kill_group(proc, KILL_GRACE)
            return Run(state=State.DOWN, reason=f"{program} timed out after {format_duration(target.timeout)}")
        finally:
            if proc.returncode is None:  # cancelled, or stopped reading past the cap: nothing may outlive the poll
                await processes.kill_group(proc, 0, signal.SIGKILL)
        if code != 0:
            last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            said = f": {make_safe(last[0])[:200]}" if last[0] else ""
            return Run(state=State.DOWN, reason=f"{program} exited {code}{said}")
        if not stdout.strip():
            return Run(state=State.UNKNOWN, reason=f"{program} printed nothing")
        return Run(stdout=stdout)


async def _read(pipe: asyncio.StreamReader | None, limit: int, *, tail: bool = False) -> tuple[bytes, bool]:
    """A pipe until EOF and whether it passed `limit` bytes: then reading stops (or, with `tail`, goes on keeping
    only the last `limit` bytes, so a chatty stderr never blocks the program)."""
    assert pipe is not None
    data = bytearray()
    over = False
    while chunk := await pipe.read(65536):
        data += chunk
        if len(data) > limit:
            over = True
            if not tail:
                return b"", True
            del data[:-limit]
    return bytes(data), over
