"""The flight recorder's costs, each beside a baseline from the same run.

    .venv/bin/python benchmarks/record.py [--seconds 30] [--runs 2] [--hours 48] [--seeks 200] [--skip-idle]

(a) Idle CPU: the console under a 120x40 pty with 10 probes every 2 s, PostgreSQL and Redis (throwaway servers,
    when their binaries are installed) and two log panes (a line a second each), with `[record]` and without it,
    interleaved; exact CPU from schedstat (benchmarks/idle.py). Goal: recording ≤ 1.2x. Then the bytes per hour the
    recording grew by (the file after a checkpoint, over the span it holds).
(b) A synthetic recording of `--hours` (the same 14 feeds every 2 s, written through the real Writer): seeking to a
    random moment (every feed's sample at or before it, decoded) against reading the newest moment; goal ≤ 100 ms.
(c) Opening it (the trust checks, SQLite, the span and the first frame) against opening a recording of one sample;
    goal ≤ 1 s.
(d) Bytes per hour on disk: (a)'s recording, and (b)'s beside the same samples' JSON uncompressed (the baseline:
    what zstd and the deltas save).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.idle import PATHS, one_run
from benchmarks.ptyrun import print_table
from console.config.record import RecordSettings
from console.demo.service import DemoService
from console.models import State
from console.models.health import HealthSnapshot
from console.models.logs import LogStats
from console.models.postgres import PgSession, PostgresSnapshot
from console.models.redis import RedisSnapshot
from console.record.codec import Sample, payload
from console.record.reader import Reader
from console.record.writer import Writer
from console.redact import Redactor

INTERVAL = 2.0


def servers() -> tuple[object | None, object | None]:
    """Throwaway PostgreSQL and Redis when their binaries are installed (None for each that is not)."""
    from console.demo.servers import PostgresServer, RedisServer

    found: list[object | None] = []
    for kind in (PostgresServer, RedisServer):
        try:
            server = kind()
            server.start()
            found.append(server)
        except Exception as exc:  # no binary: measured without it, and said
            print(f"{kind.__name__}: not started ({exc})")
            found.append(None)
    return found[0], found[1]


def log_writer(paths: list[Path], stop: threading.Event) -> None:
    n = 0
    while not stop.wait(1.0):
        n += 1
        for path in paths:
            with path.open("a") as f:
                f.write(f"{datetime.now(UTC).isoformat()} {'ERROR' if n % 10 == 0 else 'INFO'} request {n} done\n")


def idle(args: argparse.Namespace) -> float:
    """(a): the CPU table; the recording's bytes per hour."""
    pg, redis = servers()
    stop = threading.Event()
    with DemoService(incident_after=1e9, seed=1) as service, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o700)
        logs = [folder / "app.log", folder / "worker.log"]
        for log in logs:
            log.write_text("")
        writer = threading.Thread(target=log_writer, args=(logs, stop), daemon=True)
        writer.start()
        body = "".join(
            f'[[health]]\nname = "probe {i}"\nurl = "{service.url}{PATHS[i % len(PATHS)]}"\n' for i in range(10)
        )
        body += "".join(f'[[logs]]\nname = "{log.stem}"\npath = "{log}"\n' for log in logs)
        if pg is not None:
            body += f'[postgres]\ndsn = "{pg.dsn}"\n'  # type: ignore[attr-defined]
        if redis is not None:
            body += f'[redis]\nurl = "{redis.url}"\n'  # type: ignore[attr-defined]
        base = f'[console]\nenvironment = "bench"\nrefresh = "2s"\njournal = "{tmp}/j.jsonl"\n{body}'
        plain, recording = folder / "plain.toml", folder / "recording.toml"
        plain.write_text(base)
        db = folder / "rec" / "bench.db"
        recording.write_text(f'{base}[record]\npath = "{db}"\n')
        for config in (plain, recording):
            config.chmod(0o600)
        with_record, without = [], []
        for _ in range(args.runs):
            without.append(one_run(plain, args.seconds)[1])
            with_record.append(one_run(recording, args.seconds)[1])
        stop.set()
        per_hour = bytes_per_hour(db)
    for server in (pg, redis):
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
    a, b = statistics.median(with_record), statistics.median(without)
    print_table(
        "(a) idle: 10 probes every 2 s, PostgreSQL, Redis, two log panes; % of a core (schedstat), median of runs",
        ["console", "CPU %", "runs", "ratio", "goal"],
        [
            ["without recording (baseline)", f"{b:.3f}", " ".join(f"{x:.3f}" for x in without), "1.00x", ""],
            ["with [record]", f"{a:.3f}", " ".join(f"{x:.3f}" for x in with_record), f"{a / b:.2f}x", "≤ 1.2x"],
        ],
    )
    print()  # a blank line ends a table for benchmarks/all.py
    return per_hour


def bytes_per_hour(db: Path) -> float:
    """The file's bytes (after a checkpoint) over the hours its samples span."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        first, last = conn.execute("SELECT min(at), max(at) FROM samples").fetchone()
    return db.stat().st_size / max(1.0, (last - first)) * 3600


def models(at: float, step: int) -> list[tuple[str, object]]:
    """The 14 feeds of (a), synthetic: numbers that move, a PostgreSQL snapshot with 40 sessions."""
    taken = datetime.fromtimestamp(at, UTC)
    rng = random.Random(step)
    found: list[tuple[str, object]] = []
    for i in range(10):
        latency = 20 + rng.random() * 30
        found.append((f"health:probe {i}", HealthSnapshot(
            name=f"probe {i}", url=f"http://127.0.0.1:8080{PATHS[i % 3]}", state=State.OK, status_code=200,
            latency_ms=latency, taken_at=taken, history=[20 + (step + k) % 7 for k in range(12)],
        )))  # fmt: skip
    sessions = [
        PgSession(
            pid=1000 + k,
            user="app",
            database="shop",
            application="web",
            client=f"10.0.0.{k % 9}",
            state="active" if k % 5 == 0 else "idle",
            query=f"SELECT * FROM orders WHERE id = {k}",
            query_seconds=float((step + k) % 40),
        )
        for k in range(40)
    ]
    found.append(("postgres", PostgresSnapshot(
        state=State.OK, server_version="16.4", database="shop", max_connections=200,
        connections={"active": 8 + step % 3, "idle": 32}, sessions=sessions,
    )))  # fmt: skip
    found.append(("redis", RedisSnapshot(
        state=State.OK, target="127.0.0.1:6379", ping_ms=0.3 + rng.random() / 10, used_memory=50_000_000 + step,
        max_memory=200_000_000, hit_ratio=0.9 + rng.random() / 20,
    )))  # fmt: skip
    for name in ("app", "worker"):
        found.append((f"logs:{name}", LogStats(name=name, lines=step * 2, errors_per_min=float(step % 6))))
    return found


POOL = 60  # distinct states per feed, cycled: building pydantic models would otherwise cost more than recording them


def synthetic(path: Path, hours: float) -> tuple[float, float]:
    """Write `hours` of the 14 feeds every 2 s through the real Writer (the models cycled from a pool of POOL
    states each); seconds it took, and the bytes of the samples' JSON before compression (the baseline of the
    recording's size)."""
    writer = Writer(path, RecordSettings(keep="365d", max_size="100GB"), Redactor())
    start = time.time() - hours * 3600
    pool = [[(feed, model, model.checks()) for feed, model in models(start, step)] for step in range(POOL)]  # type: ignore[attr-defined]
    plain = [sum(len(payload(Sample(feed, 0.0, INTERVAL, model, checks), Redactor())) for feed, model, checks in states)
             for states in pool]  # fmt: skip
    began = time.perf_counter()
    steps = int(hours * 3600 / INTERVAL)
    try:
        for chunk in range(0, steps, 500):
            batch = []
            for step in range(chunk, min(steps, chunk + 500)):
                at = start + step * INTERVAL
                batch += [Sample(feed, at, INTERVAL, model, checks) for feed, model, checks in pool[step % POOL]]
            writer.write(batch)
    finally:
        writer.close()
    return time.perf_counter() - began, float(sum(plain[step % POOL] for step in range(steps)))


def seeks(args: argparse.Namespace) -> tuple[float, float]:
    """(b) and (c): the table; the synthetic recording's bytes per hour on disk, and its samples' JSON per hour."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o700)
        path, small = folder / "long.db", folder / "one.db"
        took, plain = synthetic(path, args.hours)
        size = path.stat().st_size + (Path(f"{path}-wal").stat().st_size if Path(f"{path}-wal").exists() else 0)
        print(f"wrote {args.hours:g} h of 14 feeds every 2 s in {took:.0f} s: {size / 1e6:.0f} MB")
        per_hour = bytes_per_hour(path)
        synthetic(small, INTERVAL / 3600)
        reader = Reader(path)
        try:
            first, last = reader.span() or (0.0, 0.0)
            rng = random.Random(1)
            newest, anywhere = [], []
            for _ in range(args.seeks):
                began = time.perf_counter()
                reader.frame(last)
                newest.append(time.perf_counter() - began)
                fresh = Reader(path)  # a seek with nothing cached, as the first one after a jump
                began = time.perf_counter()
                frame = fresh.frame(rng.uniform(first, last))
                anywhere.append(time.perf_counter() - began)
                fresh.close()
                assert len(frame) == 14
        finally:
            reader.close()
        opened, opened_small = [], []
        for _ in range(5):
            for target, into in ((path, opened), (small, opened_small)):
                began = time.perf_counter()
                reader = Reader(target)
                span = reader.span()
                assert span is not None
                reader.frame(span[1])
                into.append(time.perf_counter() - began)
                reader.close()

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.1f}"

    p99 = sorted(anywhere)[int(len(anywhere) * 0.99) - 1]
    seek_ratio = statistics.median(anywhere) / statistics.median(newest)
    open_ratio = statistics.median(opened) / statistics.median(opened_small)
    print_table(
        f"(b) seek in a {args.hours:g} h recording, {args.seeks} seeks; (c) open it",
        ["what", "median ms", "p99 / max ms", "baseline ms", "ratio", "goal"],
        [
            [
                "seek to a random moment (cold reader)",
                ms(anywhere),
                f"{p99 * 1000:.1f}",
                ms(newest) + " (the newest moment, warm)",
                f"{seek_ratio:.1f}x",
                "≤ 100 ms",
            ],
            [
                "open: trust, SQLite, span, first frame",
                ms(opened),
                f"{max(opened) * 1000:.1f}",
                ms(opened_small) + " (a one-sample file)",
                f"{open_ratio:.1f}x",
                "≤ 1000 ms",
            ],
        ],
    )
    print()
    return per_hour, plain / args.hours


def sizes(console: float | None, synthetic_hour: float, plain_hour: float) -> None:
    """(d): bytes per hour on disk, beside the same samples' JSON uncompressed (what zstd and the deltas save)."""
    ratio = f"{synthetic_hour / plain_hour:.3f}x"
    rows = [["synthetic 14 feeds every 2 s (b)", f"{synthetic_hour / 1e6:.2f}", f"{plain_hour / 1e6:.2f}", ratio]]
    if console is not None:
        rows.insert(0, ["the console's recording in (a)", f"{console / 1e6:.2f}", "-", "-"])
    print_table(
        "(d) recording on disk: MB per hour (the file after a checkpoint, over the span its samples hold)",
        ["recording", "MB/h", "baseline MB/h (the samples' JSON)", "ratio"],
        rows,
    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--hours", type=float, default=48.0)
    parser.add_argument("--seeks", type=int, default=200)
    parser.add_argument("--skip-idle", action="store_true", help="only (b) and (c)")
    args = parser.parse_args()
    print(os.popen("uptime").read().strip())
    console = None if args.skip_idle else idle(args)
    synthetic_hour, plain_hour = seeks(args)
    sizes(console, synthetic_hour, plain_hour)


if __name__ == "__main__":
    main()
