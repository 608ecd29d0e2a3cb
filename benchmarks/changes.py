"""What the change ledger costs: CPU per read of each source kind beside a health probe's, and the idle console with
10 probes with and without the change sources at their default 1 min interval, in one run.

    .venv/bin/python benchmarks/changes.py [--reads 50] [--seconds 61] [--runs 2]

Part 1, in this process: each kind read `--reads` times (after one warm-up read), CPU from getrusage of this process
and of its reaped children (git and the command are processes of their own): a `git` source on a 200-commit clone (a
commit a day) with 20 `v*` tags, an `http` source on the demo service's GET /api/releases (keep-alive), a `command`
source (a shell script printing wrangler-shaped JSON), `console:config` and `console:actions` (journal read-back),
`postgres:settings` and `redis:config` when the demo's throwaway servers can start, and the ranking every poll does
(no source due) on 230 changes; the baseline is a `[[health]]` probe's poll of GET /api/health through the same
client. Part 2: `benchmarks/idle.py`'s measure (schedstat CPU of the console under a 120x40 pty) with 10 probes every
2 s, with and without `[[changes]]` (git, http, command, all at the default 1m, plus the built-in ones), interleaved;
each window is 61 s so it holds one read of every source; and part 1's figures for a minute of that config (one read
of each source, a poll every 2 s) added to the idle console's, the steadier figure on a busy machine. Goal: <= 10 %
more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.idle import PATHS, one_run
from benchmarks.ptyrun import print_table
from console import config as config_module
from console.changes.builtins import builtins
from console.changes.journaled import JournalFollower
from console.changes.ledger import config_readers, journal_of, ledger_for
from console.clock import Clock
from console.demo.service import DemoService
from console.sources.base import Feeds
from console.sources.health import build as build_health

WRANGLER = [
    {"id": f"d{n}", "created_on": f"2026-12-0{1 + n % 7}T10:00:00Z", "annotations": {"workers/message": f"m{n}"}}
    for n in range(10)
]


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def per_read(read: Callable[[], Awaitable[Any]], reads: int) -> float:
    """Milliseconds of CPU per call (this process and its children), after one warm-up call."""
    await read()
    before = cpu()
    for _ in range(reads):
        await read()
    return (cpu() - before) / reads * 1000


def make_repo(folder: Path) -> Path:
    repo = folder / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@x", "GIT_COMMITTER_NAME": "ci"}
    env["GIT_COMMITTER_EMAIL"] = "ci@x"
    now = int(time.time())
    for n in range(200):  # one a day, the last one today: a first sync journals only the day's (the horizon)
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{now - (199 - n) * 86400} +0000"
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", f"c{n}"], check=True, env=env)
        if n % 10 == 0:
            subprocess.run(["git", "-C", str(repo), "tag", f"v1.{n}"], check=True)
    return repo


def sources(folder: Path, url: str) -> str:
    script = folder / "wrangler"
    script.write_text(f"#!/bin/sh\necho '{json.dumps(WRANGLER)}'\n")
    script.chmod(0o700)
    return (
        f'[[changes]]\nname = "repo"\nkind = "git"\nrepo = "{make_repo(folder)}"\ntags = "v*"\n'
        f'[[changes]]\nname = "releases"\nkind = "http"\nurl = "{url}/api/releases"\nitems = "releases"\n'
        'map = { id = "join(\'@\', [version, deployed_at])", version = "version", time = "deployed_at" }\n'
        f'[[changes]]\nname = "workers"\nkind = "command"\ncommand = ["{script}"]\n'
        'map = { id = "id", time = "created_on" }\n'
    )


async def part_one(folder: Path, url: str, reads: int, servers: str) -> dict[str, float]:
    path = folder / "one.toml"
    probe = f'[[health]]\nname = "api"\nurl = "{url}/api/health"\n'
    path.write_text(f'[console]\njournal = "{folder}/one.jsonl"\n{probe}{sources(folder, url)}{servers}')
    path.chmod(0o600)
    config = config_module.load(path, warn=False)
    clock = Clock()
    feeds = Feeds()
    build_health(config, clock, feeds)
    client = feeds.http_client
    follower = JournalFollower(journal_of(config), clock)
    await asyncio.to_thread(follower.catch_up)
    figures: dict[str, float] = {"health probe (baseline)": await per_read(feeds.polled[0].poll, reads)}
    kinds = {settings.name: settings.kind for settings in config.changes}
    for source in config_readers(config, client):
        figures[f"{source.name} ({kinds[source.name]})"] = await per_read(source.read, reads)
    for source in builtins(config, follower, clock):
        figures[source.name] = await per_read(source.read, reads)
    ledger = ledger_for(config, clock, client, None)
    await ledger.poll()  # every source read once: the next polls only rank
    figures["ranking, no source due (every poll)"] = await per_read(ledger.poll, reads)
    await feeds.aclose()
    return figures


def servers_if_any(stack: list[Any]) -> str:
    """The demo's throwaway PostgreSQL and Redis, when their binaries are here."""
    from console.demo.servers import PostgresServer, RedisServer

    text = ""
    try:
        pg = PostgresServer()
        pg.start()
        stack.append(pg)
        text += f'[postgres]\ndsn = "{pg.dsn}"\n'
    except Exception as exc:  # no binaries: the row is left out, and said
        print(f"postgres:settings not measured: {exc}")
    try:
        redis = RedisServer()
        redis.start()
        stack.append(redis)
        text += f'[redis]\nurl = "{redis.url}"\n'
    except Exception as exc:
        print(f"redis:config not measured: {exc}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=61.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--probes", type=int, default=10)
    args = parser.parse_args()
    print(os.popen("uptime").read().strip())
    stack: list[Any] = []
    with DemoService(incident_after=1e9, seed=1) as service, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o700)
        try:
            figures = asyncio.run(part_one(folder, service.url, args.reads, servers_if_any(stack)))
        finally:
            for server in stack:
                server.stop()
        probe = figures["health probe (baseline)"]
        rows = [[name, f"{ms:.3f}", f"{ms / probe:.1f}x"] for name, ms in figures.items()]
        title = f"CPU per read, ms (this process and its children; {args.reads} reads)"
        print_table(title, ["source", "ms", "/probe"], rows)
        probes = "".join(
            f'[[health]]\nname = "probe {i}"\nurl = "{service.url}{PATHS[i % len(PATHS)]}"\n'
            for i in range(args.probes)
        )
        head = f'[console]\nenvironment = "demo"\nrefresh = "2s"\njournal = "{tmp}/idle.jsonl"\n'
        without, with_changes = folder / "without.toml", folder / "with.toml"
        without.write_text(head + probes)
        (folder / "idle").mkdir()
        with_changes.write_text(head + probes + sources(folder / "idle", service.url))
        for path in (without, with_changes):
            path.chmod(0o600)
        runs: dict[str, list[float]] = {"without": [], "with": []}
        for _ in range(args.runs):  # interleaved: both see the same machine
            runs["without"].append(one_run(without, args.seconds)[1])
            runs["with"].append(one_run(with_changes, args.seconds)[1])
    base, found = statistics.median(runs["without"]), statistics.median(runs["with"])
    rows2 = [
        ["without [[changes]]", f"{base:.3f}", " ".join(f"{v:.3f}" for v in runs["without"]), "1.00x", "-"],
        [
            "with git, http, command + built-in",
            f"{found:.3f}",
            " ".join(f"{v:.3f}" for v in runs["with"]),
            f"{found / base:.2f}x" if base else "-",
            "<= 1.10x",
        ],
    ]
    # what part 1's figures add up to in a minute of part 2's config: one read of each source, a poll (the ranking and
    # console:actions) every 2 s; beside the measured idle console without them
    polls = 60 / 2.0
    per_minute = sum(
        figures[f"{name} ({kind})"] for name, kind in (("repo", "git"), ("releases", "http"), ("workers", "command"))
    )
    per_minute += polls * (figures["ranking, no source due (every poll)"] + figures["console:actions"])
    added = per_minute / 60_000 * 100
    rows2.append(
        [
            "part 1's reads for a minute, added",
            f"{base + added:.3f}",
            f"+{added:.3f}",
            f"{(base + added) / base:.2f}x",
            "<= 1.10x",
        ]
    )
    title = f"idle console, {args.probes} probes every 2 s, {args.runs} runs of {args.seconds:.0f} s, schedstat CPU %"
    print_table(title, ["console", "median %", "runs", "ratio", "goal"], rows2)


if __name__ == "__main__":
    main()
