"""HTTP probes at scale: 200 endpoints every 2 s, 5 of them hanging, one asyncio task per target as the app runs them.

.venv/bin/python benchmarks/probes.py [--targets 200] [--hanging 5] [--interval 2] [--duration 20] [--mixed]

--mixed: a quarter each of GET health probes, authenticated POST metrics with a JSON body, PromQL instant queries to
a real Prometheus (started here, scraping this benchmark's endpoint server) and command metrics (`echo` printing
JSON with a unit, no shell); the hanging ones are spread over the four (a PromQL query that hangs goes to a
"Prometheus" that never answers; a command that hangs is `sleep`, killed with its process group at its timeout).

The endpoints are served by a separate process (an asyncio HTTP/1.1 server with keep-alive on loopback), so only
the console side's CPU is measured. A healthy target is "on time" when each update came within one interval
(+10 % scheduling slack) of its previous one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import re
import resource
import statistics
import time
import urllib.request
from multiprocessing.queues import Queue
from pathlib import Path

from rich.console import Console
from rich.table import Table

from console.config import HealthTarget, MetricTarget, PrometheusSettings
from console.demo.servers import PrometheusServer
from console.http import HttpClient
from console.models import State
from console.sources.command_metric import CommandMetricSource
from console.sources.health import HealthSource
from console.sources.http import HttpPollingSource
from console.sources.metrics import MetricSource

SLACK = 1.10
KINDS = {"h": "health", "m": "metric", "p": "POST", "q": "PromQL", "c": "command"}
METRIC_SHARE = 0.25


def _serve(ports: Queue) -> None:
    """The endpoints: /health/N, /metric/N and /metrics (for Prometheus) answer at once; /hang/N never answers."""
    health, metric = b'{"status": "ok", "version": "v1.2.3"}', b'{"errorRate": 0.12, "p95": 180}'
    exposition = b"# TYPE bench_error_rate gauge\nbench_error_rate 0.12\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", request)
                if length:
                    await reader.readexactly(int(length.group(1)))  # a POST's body, before the next request
                path = request.split(b" ", 2)[1]
                if path.startswith(b"/hang/"):
                    await reader.read()  # never answer; wait for the client to hang up
                    return
                body = exposition if path == b"/metrics" else metric if path.startswith(b"/metric/") else health
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                writer.write(head + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        ports.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


async def _run_target(
    source: HttpPollingSource | CommandMetricSource, name: str, interval: float, start: float, end: float, updates: list
) -> None:
    """The app's loop for one target: poll_one on a fixed-rate schedule, skipping slots it overran."""
    due = start + random.uniform(0, interval)
    while due < end:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        snapshot = await source.poll_one(name)
        updates.append((name, time.monotonic(), snapshot))
        due += interval
        due = max(due, time.monotonic())


def _http_plan(targets: int, hanging: int, base: str) -> tuple[list[HealthTarget], list[MetricTarget]]:
    """A quarter of GET metrics, the rest GET health probes; the hanging ones spread over both."""
    metric_count = int(targets * METRIC_SHARE)
    hang_metric = hanging * metric_count // targets
    hang_health = hanging - hang_metric
    health_targets = [
        HealthTarget(name=f"h{i}", url=f"{base}/{'hang' if i < hang_health else 'health'}/{i}", warn_ms=500)
        for i in range(targets - metric_count)
    ]
    metric_targets = [
        MetricTarget(name=f"m{i}", url=f"{base}/{'hang' if i < hang_metric else 'metric'}/{i}", path="errorRate")
        for i in range(metric_count)
    ]
    return health_targets, metric_targets


def _mixed_plan(targets: int, hanging: int, base: str) -> dict[str, list]:
    """A quarter each of GET health, POST JSON metrics, PromQL queries and command metrics (`hang` lists the
    PromQL ones sent to a Prometheus that never answers); the hanging ones spread over the four."""
    quarter = targets // 4
    hang = [hanging // 4 + (i < hanging % 4) for i in range(4)]
    health = [
        HealthTarget(name=f"h{i}", url=f"{base}/{'hang' if i < hang[0] else 'health'}/{i}", warn_ms=500)
        for i in range(targets - 3 * quarter)
    ]
    posts = [
        MetricTarget(
            name=f"p{i}",
            url=f"{base}/{'hang' if i < hang[1] else 'metric'}/{i}",
            method="POST",
            headers={"Authorization": "Bearer benchmark-token"},
            json={"query": "errorRate", "window": "5m"},
            path="errorRate",
        )
        for i in range(quarter)
    ]
    queries = [MetricTarget(name=f"q{i}", promql=f"bench_error_rate * {i + 1}", warn=50) for i in range(quarter)]
    commands = [
        MetricTarget(
            name=f"c{i}",
            command=["sleep", "3600"] if i < hang[3] else ["echo", '{"CPUPerc": "12.34%"}'],
            path="CPUPerc",
            unit="%",
        )
        for i in range(quarter)
    ]
    return {"health": health, "post": posts, "promql": queries[hang[2] :], "hang": queries[: hang[2]], "cmd": commands}


def _wait_for_scrape(prometheus: str, timeout: float = 20.0) -> None:
    """Until Prometheus has scraped the endpoint server once (an empty vector would read as UNKNOWN)."""
    query = f"{prometheus}/api/v1/query?query=bench_error_rate"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(query, timeout=2) as answer:
            if json.load(answer)["data"]["result"]:
                return
        time.sleep(0.2)
    raise SystemExit(f"Prometheus at {prometheus} did not scrape the endpoint server within {timeout:g}s")


async def measure(
    targets: int, hanging: int, interval: float, duration: float, port: int, *, prometheus: str | None = None
) -> list[tuple[str, str]]:
    mixed = prometheus is not None
    base = f"http://127.0.0.1:{port}"
    client = HttpClient()
    if mixed:
        plan = _mixed_plan(targets, hanging, base)
        sources = [
            HealthSource(plan["health"], client),
            MetricSource(plan["post"], client),
            MetricSource(plan["promql"], client, prometheus=PrometheusSettings(url=prometheus)),
            MetricSource(plan["hang"], client, prometheus=PrometheusSettings(url=f"{base}/hang/prometheus")),
            CommandMetricSource(plan["cmd"], Path.cwd()),
        ]
        hung = {t.name for t in [*plan["health"], *plan["post"]] if "/hang/" in (t.url or "")}
        hung |= {t.name for t in plan["hang"]} | {t.name for t in plan["cmd"] if t.command[0] == "sleep"}
        counts = [len(plan["health"]), len(plan["post"]), len(plan["promql"]) + len(plan["hang"]), len(plan["cmd"])]
    else:
        health_targets, metric_targets = _http_plan(targets, hanging, base)
        sources = [HealthSource(health_targets, client), MetricSource(metric_targets, client)]
        hung = {t.name for t in [*health_targets, *metric_targets] if "/hang/" in t.url}
        counts = [len(health_targets), len(metric_targets)]
    updates: list = []
    start = time.monotonic() + 0.1
    warm_until, end = start + interval, start + interval + duration
    tasks = [
        asyncio.create_task(_run_target(source, name, interval, start, end, updates))
        for source in sources
        for name in source.targets
    ]
    await asyncio.sleep(max(0.0, warm_until - time.monotonic()))
    cpu_before, children_before, wall_before = _cpu(), _cpu(resource.RUSAGE_CHILDREN), time.monotonic()
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    cpu, wall = _cpu() - cpu_before, time.monotonic() - wall_before
    children = _cpu(resource.RUSAGE_CHILDREN) - children_before
    await asyncio.gather(*tasks)
    await client.aclose()

    last: dict[str, float] = {}
    gaps: list[float] = []
    late: dict[str, int] = {}  # late updates per kind (the name's first letter: h, p, q, c or m)
    latencies: list[float] = []
    timeouts = healthy_failures = 0
    for name, when, snapshot in updates:
        if name in hung:
            timeouts += "timeout" in snapshot.reason or "timed out" in snapshot.reason
            continue
        healthy_failures += snapshot.state is not State.OK
        if getattr(snapshot, "latency_ms", None) is not None:
            latencies.append(snapshot.latency_ms)
        if name in last and when >= warm_until:
            gaps.append(when - last[name])
            if gaps[-1] > interval * SLACK:
                late[name[0]] = late.get(name[0], 0) + 1
        last[name] = when
    on_time = sum(gap <= interval * SLACK for gap in gaps) / len(gaps) if gaps else 0.0
    percentiles = statistics.quantiles(latencies, n=100)
    kinds = "GET health + POST JSON + PromQL + command" if mixed else "health + metric"
    return [
        (f"targets ({kinds})", " + ".join(map(str, counts))),
        ("hanging (timeout 3s)", str(len(hung))),
        ("interval / measured", f"{interval:g} s / {wall:.1f} s"),
        ("polls done", f"{len(updates):,}"),
        ("healthy updated within each interval", f"{on_time:.1%}"),
        ("max gap between updates (healthy)", f"{max(gaps, default=0):.2f} s"),
        ("late updates by kind", ", ".join(f"{KINDS[k]} {n}" for k, n in sorted(late.items())) or "none"),
        ("healthy polls not OK", str(healthy_failures)),
        ("hanging polls ended as timeout", str(timeouts)),
        ("poll latency p50 / p99 (health)", f"{percentiles[49]:.1f} / {percentiles[98]:.1f} ms"),
        ("CPU (one core)", f"{cpu / wall:.1%}"),
        *([("CPU of the commands run (one core)", f"{children / wall:.1%}")] if mixed else []),
    ]


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--hanging", type=int, default=5)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured after a one-interval warm-up")
    parser.add_argument("--mixed", action="store_true", help="GET, POST with JSON, PromQL and commands, a quarter each")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    ports = ctx.Queue()
    server = ctx.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    prometheus = None
    try:
        port = ports.get(timeout=30)
        if args.mixed:
            prometheus = PrometheusServer([f"127.0.0.1:{port}"])
            prometheus.start()
            _wait_for_scrape(prometheus.url)
        url = prometheus.url if prometheus else None
        rows = asyncio.run(measure(args.targets, args.hanging, args.interval, args.duration, port, prometheus=url))
    finally:
        if prometheus is not None:
            prometheus.stop()
        server.terminate()
        server.join()
    what = "mixed probes" if args.mixed else "HTTP probes"
    table = Table(title=f"{what}: one task per target, poll_one on its interval with its own timeout")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
