"""PostgreSQL figures: kill-idle on 500 sessions, server time of one refresh, CPU per refresh beside pg_activity.

.venv/bin/python benchmarks/pg.py [--only abc] [--seconds 20] [--refresh 1] [--pg-activity PATH] [--before TREE]
    [--sessions 300,3000]

(a) preview + terminate 500 idle sessions through the runner and journal (goal <= 1 s);
(b) server time of one full refresh with 5,000 pg_stat_statements entries and 300 connections (goal <= 50 ms),
    read from pg_stat_statements itself (the console's statements carry a /* incident-console */ mark);
(c) CPU per refresh, from /proc/<pid>/stat, of the console (headless source, and the Textual pane under a pty)
    beside pg_activity under a pty, at the same refresh interval on the same server, in one run. pg_activity is
    not a dependency: install it for the benchmark only, e.g.
    python3 -m venv /tmp/pgact && /tmp/pgact/bin/pip install pg_activity 'psycopg[binary]'
    The ratio row is the pane's CPU over pg_activity's (goal <= 1). `--before TREE` also runs the pane from another
    checkout (e.g. `git worktree add /tmp/before HEAD~1`) in the same window, for a before/after in one run.
    `--sessions 300,3000` runs (c) at each count of connections (the server holds the largest), each row with its
    cost per 1,000 sessions: how the cost grows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actions.registry import build_runner  # noqa: E402
from benchmarks.ptyrun import PtyProcess  # noqa: E402
from console import config as cfg  # noqa: E402
from console.config import PostgresSettings  # noqa: E402
from console.demo.servers import PostgresServer  # noqa: E402
from console.sources.postgres import PostgresSource  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
MARK = "/* incident-console */%"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def open_many(dsn: str, n: int, app: str) -> list[asyncpg.Connection]:
    gate = asyncio.Semaphore(20)

    async def one() -> asyncpg.Connection:
        async with gate:
            return await asyncpg.connect(dsn, server_settings={"application_name": app})

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def bench_kill(server: PostgresServer, tmp: Path, n: int = 500) -> list[tuple[str, str, str]]:
    conns = await open_many(server.dsn, n, "bench-idle")
    await asyncio.sleep(1.1)
    config = cfg.loads(
        f'[console]\nenvironment = "bench"\njournal = "{tmp / "journal.jsonl"}"\n[postgres]\ndsn = "{server.dsn}"\n'
    )
    runner = build_runner(config)
    started = time.perf_counter()
    plan = await runner.plan("kill-idle", {"older_than": "1s", "application": "bench-idle"})
    planned = time.perf_counter()
    outcome = await runner.execute(plan, confirmed=True)
    executed = time.perf_counter()
    admin = await asyncpg.connect(server.dsn)
    while await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bench-idle'"):
        await asyncio.sleep(0.005)
    gone = time.perf_counter()
    await admin.close()
    for conn in conns:
        conn.terminate()
    total = executed - started
    return [
        ("(a) preview of kill-idle", f"{(planned - started) * 1000:.0f} ms", f"{len(plan.rows)} sessions listed"),
        (
            "(a) terminate (one statement + 2 journal fsyncs)",
            f"{(executed - planned) * 1000:.0f} ms",
            ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items())),
        ),
        (
            "(a) preview + terminate 500 idle",
            f"{total * 1000:.0f} ms",
            f"goal <= 1000 ms: {'met' if total <= 1 else 'MISSED'}",
        ),
        ("(a) until every backend had exited", f"{(gone - started) * 1000:.0f} ms", "informational"),
    ]


async def load_server(server: PostgresServer, statements: int = 5000, connections: int = 300) -> list:
    """5,000 distinct statements in pg_stat_statements; 300 connections: idle, active, one lock chain."""
    admin = await asyncpg.connect(server.dsn)
    await admin.execute(
        "CREATE SCHEMA IF NOT EXISTS bench; CREATE TABLE IF NOT EXISTS bench.account (id int PRIMARY KEY, v int);"
        "INSERT INTO bench.account VALUES (1, 0) ON CONFLICT DO NOTHING;"
        + "".join(f"CREATE TABLE IF NOT EXISTS bench.t{j} (a int);" for j in range(100))
    )
    await admin.execute("SELECT pg_stat_statements_reset()")
    shapes = [f"SELECT {', '.join(['a'] * k)} FROM bench.t{j}" for j in range(100) for k in range(1, 51)]
    for start in range(0, statements, 500):
        await admin.execute(";".join(shapes[start : start + 500][: statements - start]))
    conns = await open_many(server.dsn, connections - 2, "bench-app")  # + the admin and the console's pool
    for conn in conns[:200]:
        await conn.execute("SELECT 1")
    holder, *waiters = conns[200:205]
    await holder.execute("BEGIN; UPDATE bench.account SET v = v + 1 WHERE id = 1")
    busy = [asyncio.create_task(w.execute("UPDATE bench.account SET v = v - 1 WHERE id = 1")) for w in waiters]
    busy += [asyncio.create_task(c.execute("SELECT pg_sleep(600)")) for c in conns[205:220]]
    await asyncio.sleep(0.5)
    count = await admin.fetchval("SELECT count(*) FROM pg_stat_statements")
    await admin.close()
    return [conns, busy, count]


async def bench_refresh(server: PostgresServer, entries: int, polls: int = 20) -> list[tuple[str, str, str]]:
    source = PostgresSource(PostgresSettings(dsn=server.dsn))
    admin = await asyncpg.connect(server.dsn)
    server_ms = "SELECT coalesce(sum(total_exec_time + total_plan_time), 0) FROM pg_stat_statements WHERE query LIKE $1"
    for _ in range(2):
        snap = await source.poll()
    before = await admin.fetchval(server_ms, MARK)
    started = time.perf_counter()
    for _ in range(polls):
        snap = await source.poll()
    wall = (time.perf_counter() - started) / polls * 1000
    per_refresh = (await admin.fetchval(server_ms, MARK) - before) / polls
    await admin.close()
    await source.close()
    clients = snap.total_connections
    return [
        (
            "(b) server time of one refresh",
            f"{per_refresh:.1f} ms",
            f"{entries} statements, {clients} connections, {len(snap.blocked)} blocked; goal <= 50 ms: "
            + ("met" if per_refresh <= 50 else "MISSED"),
        ),
        ("(b) wall time of one poll (loopback, decode, model)", f"{wall:.1f} ms", f"mean of {polls} polls"),
    ]


PANE = "console pane (Textual, 160x50 pty)"
ACTIVITY = "pg_activity (curses, 160x50 pty)"


def bench_cpu(
    server: PostgresServer,
    seconds: float,
    refresh: float,
    pg_activity: str | None,
    before: str | None = None,
    sessions: int = 300,
) -> list[tuple]:
    """Start every monitor together, let them warm up, then read their CPU over the same window."""
    me = [sys.executable, str(Path(__file__).resolve())]
    common = ["--dsn", server.dsn, "--refresh", str(refresh)]
    monitors: dict[str, tuple[subprocess.Popen, PtyProcess | None]] = {}
    headless = subprocess.Popen([*me, "--child", "source", *common], stdout=subprocess.DEVNULL, start_new_session=True)
    monitors["console source (headless)"] = (headless, None)
    pane = PtyProcess([*me, "--child", "pane", *common], columns=160, rows=50, keep=False)
    monitors[PANE] = (pane.proc, pane)
    if before:
        old = [sys.executable, str(Path(before).resolve() / "benchmarks" / "pg.py"), "--child", "pane", *common]
        earlier = PtyProcess(old, columns=160, rows=50, keep=False)
        monitors[f"console pane before ({before})"] = (earlier.proc, earlier)
    missing = None
    if pg_activity and Path(pg_activity).exists():
        argv = [pg_activity, "--refresh", f"{refresh:g}", "-h", server.host, "-p", str(server.port), "-U", "postgres"]
        activity = PtyProcess([*argv, "-d", "postgres"], columns=160, rows=50, keep=False)
        monitors[ACTIVITY] = (activity.proc, activity)
    else:
        missing = f"pg_activity not found at {pg_activity}: install it (see the docstring) to compare"
    rows: list[tuple] = []
    try:
        time.sleep(4.0)  # imports, first connection, first paint
        start = {name: cpu_seconds(p.pid) for name, (p, _) in monitors.items() if p.poll() is None}
        time.sleep(seconds)
        refreshes = seconds / refresh
        used_by: dict[str, float] = {}
        for name, (proc, term) in monitors.items():
            if proc.poll() is not None or name not in start:
                rows.append((f"(c) {name}", "exited", f"exit code {proc.returncode}"))
                continue
            used = used_by[name] = cpu_seconds(proc.pid) - start[name]
            shown = f", {term.bytes / seconds / 1024:.1f} KB/s to the terminal" if term else ""
            per_thousand = used / refreshes * 1000 / sessions * 1000
            rows.append(
                (
                    f"(c) {sessions} sessions: {name}",
                    f"{used / refreshes * 1000:.1f} ms CPU/refresh",
                    f"{per_thousand:.1f} ms per 1,000 sessions; {used:.2f} s CPU over {seconds:g} s at refresh "
                    f"{refresh:g} s{shown}",
                )
            )
        if used_by.get(ACTIVITY) and PANE in used_by:
            ratio = used_by[PANE] / used_by[ACTIVITY]
            verdict = "met" if ratio <= 1 else "MISSED"
            label = f"(c) {sessions} sessions: pane CPU / pg_activity CPU"
            rows.append((label, f"{ratio:.2f}", f"goal <= 1: {verdict}"))
    finally:
        for proc, term in monitors.values():
            if term is not None:
                term.stop(quit_keys=b"")
            elif proc.poll() is None:
                proc.terminate()
                proc.wait(5)
    if missing:
        rows.append(("(c) pg_activity", "not measured", missing))
    return rows


def child(kind: str, dsn: str, refresh: float) -> None:
    """The monitors measured in (c): a headless polling loop, or the Textual pane fed by the source."""
    source = PostgresSource(PostgresSettings(dsn=dsn))
    if kind == "source":

        async def loop() -> None:
            while True:
                await source.poll()
                await asyncio.sleep(refresh)

        asyncio.run(loop())
        return
    from textual import work
    from textual.app import App, ComposeResult

    from console.tui.collector import collect_less
    from widgets.postgres_pane import PostgresPane

    class PaneBench(App):
        def compose(self) -> ComposeResult:
            yield PostgresPane()

        def on_mount(self) -> None:
            self.set_interval(refresh, self.poll)
            self.poll()
            self.call_after_refresh(collect_less)  # as ConsoleApp does after its first paint

        @work(exclusive=True)
        async def poll(self) -> None:
            self.query_one(PostgresPane).update_model(await source.poll())

    PaneBench().run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU measurement window for (c)")
    parser.add_argument("--refresh", type=float, default=1.0, help="refresh interval for (c)")
    parser.add_argument("--pg-activity", default=shutil.which("pg_activity") or "/tmp/pgact/bin/pg_activity")
    parser.add_argument("--only", default="abc", help="which parts to run, e.g. c")
    parser.add_argument("--before", help="also run the pane from this source tree in (c)")
    parser.add_argument("--sessions", default="300", help="connections held while (c) runs, e.g. 300,3000")
    parser.add_argument("--child", choices=["source", "pane"], help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.dsn, args.refresh)
        return
    conf = {"pg_stat_statements.max": "10000", "pg_stat_statements.track_planning": "on"}
    sizes = [int(size) for size in args.sessions.split(",")]
    rows: list[tuple] = []
    largest = max(600, max(sizes) + 100)
    with PostgresServer(max_connections=largest, extra_conf=conf) as server, tempfile.TemporaryDirectory() as tmp:
        if "a" in args.only:
            rows += asyncio.run(bench_kill(server, Path(tmp)))

        async def loaded(sessions: int, first: bool) -> list[tuple]:
            conns, busy, count = await load_server(server, connections=sessions)
            try:
                found = await bench_refresh(server, count) if "b" in args.only and first else []
                if "c" in args.only:
                    cpu = (server, args.seconds, args.refresh, args.pg_activity, args.before, sessions)
                    found += await asyncio.to_thread(bench_cpu, *cpu)
                return found
            finally:
                for task in busy:
                    task.cancel()
                for conn in conns:
                    conn.terminate()

        for n, sessions in enumerate(sizes):
            rows += asyncio.run(loaded(sessions, n == 0))
    table = Table(title="PostgreSQL: actions, refresh cost, CPU beside pg_activity")
    for column in ("measure", "figure", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
