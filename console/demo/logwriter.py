"""The demo service's logs: a text log and a JSON log written as real files, with errors during the incident.

`app.log` is what a web server writes (`2024-05-01T12:00:00.123Z INFO GET /api/items 200 12ms trace_id=...`),
`worker.jsonl` what a Cloudflare-style worker writes (`{"time", "level", "message", "trace_id", "outcome"}`).
While `incident` is set, checkout requests fail in both with shared trace ids, so trace-id follow finds a
request in both logs, and the error rate climbs past the default spike threshold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from datetime import datetime
from pathlib import Path

from console.clock import Clock
from console.config import LogSettings

_ROUTES = ("/api/items", "/api/items/42", "/api/cart", "/api/profile", "/api/search?q=boots")


class DemoLogWriter:
    """Appends a few lines per second to `app.log` and `worker.jsonl` in `directory` (await start()/stop())."""

    def __init__(self, directory: Path, *, rate: float = 4.0, seed: int = 7, clock: Clock | None = None) -> None:
        self.directory = Path(directory)
        self.app_log = self.directory / "app.log"
        self.worker_log = self.directory / "worker.jsonl"
        self.rate = rate
        self.incident = False
        self.clock = clock or Clock()
        self._random = random.Random(seed)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def log_settings(self) -> list[LogSettings]:
        """The `[[logs]]` entries that follow these files."""
        return [
            LogSettings(name="app", path=self.app_log),
            LogSettings(name="worker", path=self.worker_log, format="json"),
        ]

    async def start(self) -> None:
        """Start writing in the background (an asyncio task) until stop()."""
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="demo-log-writer")

    async def stop(self) -> None:
        """Stop writing; returns after the write in flight (a thread cannot be cancelled) has finished."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await asyncio.to_thread(self.write_once)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 1 / self.rate)

    def write_once(self) -> None:
        """Write one request's lines (one to each file when the worker is involved)."""
        now = self.clock.now()
        trace = f"{self._random.getrandbits(64):016x}"
        failing = self.incident and self._random.random() < 0.6
        app_line, worker_entry = self._failure(now, trace) if failing else self._success(now, trace)
        with self.app_log.open("a", encoding="utf-8") as out:
            out.write(app_line + "\n")
        if worker_entry is not None:
            with self.worker_log.open("a", encoding="utf-8") as out:
                out.write(json.dumps(worker_entry) + "\n")

    def _success(self, now: datetime, trace: str) -> tuple[str, dict | None]:
        route = self._random.choice(_ROUTES)
        took = self._random.randint(4, 80)
        if self._random.random() < 0.05:
            line = f"{_iso(now)} WARN GET {route} 200 {took * 9}ms slow response trace_id={trace}"
        else:
            line = f"{_iso(now)} INFO GET {route} 200 {took}ms trace_id={trace}"
        worker = None
        if self._random.random() < 0.5:
            worker = {
                "time": _iso(now),
                "level": "info",
                "message": f"cache hit for {route}",
                "trace_id": trace,
                "outcome": "ok",
                "duration_ms": took // 2,
            }
        return line, worker

    def _failure(self, now: datetime, trace: str) -> tuple[str, dict]:
        took = self._random.randint(900, 3000)
        line = f"{_iso(now)} ERROR POST /api/checkout 500 {took}ms trace_id={trace} upstream timed out"
        worker = {
            "time": _iso(now),
            "level": "error",
            "message": "payment provider did not answer within 1000ms",
            "trace_id": trace,
            "outcome": "exception",
            "duration_ms": took,
        }
        return line, worker


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
