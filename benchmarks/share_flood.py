"""Key latency while a flood arrives on the shared stream: the console beside the same console with a quiet stream.

    .venv/bin/python benchmarks/share_flood.py [--junk 5000] [--notes 300] [--presses 20]

A console with `[share]` (Pilot, 120x40) follows a real Redis stream. In the baseline nothing arrives; in the flood,
`--junk` entries no console wrote (refused) and `--notes` genuine notes from another host's mirror arrive while
the operator presses `?` (help) and `escape`. For each press, the time until the screen it opens is up; p50 and p99
of both runs and the ratio, the toasts the share notices made, and the time until every genuine note was shown.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402

from actions.registry import build_runner  # noqa: E402
from benchmarks.ptyrun import print_table  # noqa: E402
from console import config as cfg  # noqa: E402
from console.demo.servers import RedisServer  # noqa: E402
from console.incident.commands import IncidentDesk  # noqa: E402
from console.journal import Journal  # noqa: E402
from console.share import start_mirror  # noqa: E402
from console.sources.base import Feeds  # noqa: E402
from console.tui.app import ConsoleApp  # noqa: E402
from console.tui.screens.help import HelpScreen  # noqa: E402

KEY = "benchmark-share-flood-key-0123"


def config_for(folder: Path, name: str, redis: RedisServer, stream: str) -> cfg.Config:
    home = folder / name
    home.mkdir(mode=0o700)
    text = (
        f'[console]\nenvironment = "production"\njournal = "{home / "journal.jsonl"}"\n'
        f'[share]\nredis_url = "{redis.url}"\nkey = "{KEY}"\nhost = "{name}"\nstream = "{stream}"\n'
    )
    return cfg.loads(text, source=home / "config.toml", environ={})


async def one_run(redis: RedisServer, junk: int, notes: int, presses: int) -> tuple[list[float], int, float]:
    """(seconds per press, share toasts shown, seconds until the last genuine note was shown)."""
    stream = f"bench:{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o700)
        bastion = config_for(folder, "bastion", redis, stream)
        desk = IncidentDesk(Journal(bastion.console.journal, environment="production"))
        desk.declare("checkout returns 500s", "SEV-1")
        mirror = start_mirror(bastion, desk.journal, host="bastion")
        console = config_for(folder, "console", redis, stream)
        app = ConsoleApp(console, build_runner(console), feeds=Feeds())
        client = aioredis.Redis.from_url(redis.url)
        last = f"note {notes - 1}"

        async def flood() -> None:
            rounds = max(1, junk // 250)
            for n in range(rounds):
                pipe = client.pipeline(transaction=False)
                for i in range(250 if junk else 0):
                    pipe.xadd(stream, {"entry": f"junk {n}-{i}", "host": "x"})
                await pipe.execute()
                for i in range(n * notes // rounds, (n + 1) * notes // rounds):
                    await asyncio.to_thread(desk.add_note, f"note {i}")
                await asyncio.sleep(0.05)

        latencies: list[float] = []
        try:
            async with app.run_test(size=(120, 40), notifications=True) as pilot:
                flooding = asyncio.create_task(flood())
                started = time.monotonic()
                while len(latencies) < presses:
                    pressed = time.monotonic()
                    await pilot.press("question_mark")
                    while not isinstance(app.screen, HelpScreen):
                        await asyncio.sleep(0.005)
                    latencies.append(time.monotonic() - pressed)
                    await pilot.press("escape")
                    while isinstance(app.screen, HelpScreen):
                        await asyncio.sleep(0.005)
                await flooding
                while not any((e.get("data") or {}).get("text") == last for e in app.incident.desk.tracker.recent):
                    await asyncio.sleep(0.05)
                arrived = time.monotonic() - started
                toasts = sum("share:" in str(t.render()) for t in app.screen.query("Toast"))
        finally:
            await mirror.stop()
            await client.aclose()
    return latencies, toasts, arrived


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--junk", type=int, default=5000)
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--presses", type=int, default=20)
    args = parser.parse_args()
    print(os.popen("uptime").read().strip())
    with RedisServer() as redis:
        quiet, _, _ = await one_run(redis, 0, 1, args.presses)
        flooded, toasts, arrived = await one_run(redis, args.junk, args.notes, args.presses)
    rows = [
        [
            "key p50 (open help)",
            f"{statistics.median(quiet) * 1000:.0f} ms",
            f"{statistics.median(flooded) * 1000:.0f} ms",
            f"{statistics.median(flooded) / statistics.median(quiet):.2f}x",
        ],
        [
            "key p99",
            f"{pct(quiet, 0.99) * 1000:.0f} ms",
            f"{pct(flooded, 0.99) * 1000:.0f} ms",
            f"{pct(flooded, 0.99) / pct(quiet, 0.99):.2f}x",
        ],
        ["share toasts", "-", str(toasts), "-"],
        [f"all {args.notes} genuine notes shown after", "-", f"{arrived:.1f} s", "-"],
    ]
    print_table(
        f"key latency, {args.presses} presses: a quiet stream vs {args.junk} junk entries and {args.notes} notes",
        ["measure", "quiet (baseline)", "flood", "flood/quiet"],
        rows,
    )


if __name__ == "__main__":
    asyncio.run(main())
