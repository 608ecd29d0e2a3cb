"""How the console's cost grows with its probes: 10, 100 and 1,000 health targets every 2 s, the whole TUI under a
120x40 pty; CPU per probe per poll and RSS per probe at each size, beside a bare Textual app in the same run.

    .venv/bin/python benchmarks/probes_flat.py [--sizes 10,100,1000] [--seconds 20] [--runs 2]

The targets answer from a separate process (a keep-alive asyncio server that counts the requests it answers), so
only the console's CPU is counted (schedstat, every thread), and the cost is per request answered in the window (a
poll of one probe), not per poll the config asks for. Each size and the bare app are run in turn, `--runs` times
(interleaved, so each sees the same machine); the table gives medians. "per unit / smallest" is the cost per probe
per poll over the same figure at the smallest size: 1.00x is a flat cost.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.idle import BARE, CONSOLE, on_cpu_ns
from benchmarks.ptyrun import PtyProcess, compile_tree, print_table

ROOT = Path(__file__).resolve().parents[1]
INTERVAL = 2.0


def serve(ports: Any, answered: Any) -> None:
    """Health endpoints that answer at once, with keep-alive; `answered` counts the requests."""
    body = b'{"status": "ok", "version": "v1.2.3"}'
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(reply)
                await writer.drain()
                with answered.get_lock():
                    answered.value += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=2048)
        ports.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def measure(argv: list[str], seconds: float, settle: float, answered: Any) -> tuple[float, float, int]:
    """(CPU seconds on a CPU over `seconds`, RSS MB at the end, requests answered meanwhile), after `settle` seconds
    of start and first polls."""
    run = PtyProcess(argv, keep=False, env={"PYTHONPATH": str(ROOT)})
    try:
        time.sleep(settle)
        ns, requests = on_cpu_ns(run.proc.pid), answered.value
        time.sleep(seconds)
        return (on_cpu_ns(run.proc.pid) - ns) / 1e9, run.rss_mb()[0], answered.value - requests
    finally:
        run.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(os.popen("uptime").read().strip(), flush=True)
    compile_tree(ROOT)
    ctx = mp.get_context("spawn")
    ports, answered = ctx.Queue(), ctx.Value("q", 0)
    server = ctx.Process(target=serve, args=(ports, answered), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{ports.get(timeout=30)}"
        with tempfile.TemporaryDirectory() as tmp:
            configs = {}
            for size in sizes:
                config = Path(tmp) / f"config-{size}.toml"
                probes = "".join(f'[[health]]\nname = "p{i}"\nurl = "{url}/health/{i}"\n' for i in range(size))
                config.write_text(
                    f'[console]\nenvironment = "bench"\nrefresh = "{INTERVAL:g}s"\njournal = "{tmp}/j{size}.jsonl"\n'
                    + probes
                )
                configs[size] = config
            figures: dict[int | str, list[tuple[float, float, int]]] = {size: [] for size in [*sizes, "bare"]}
            for _ in range(args.runs):
                for size in sizes:  # more targets take longer to mount and to poll the first time
                    argv = [*CONSOLE, "--config", str(configs[size])]
                    figures[size].append(measure(argv, args.seconds, 6.0 + size / 200, answered))
                figures["bare"].append(measure(BARE, args.seconds, 6.0, answered))
    finally:
        server.terminate()
    bare_cpu = statistics.median(cpu for cpu, _, _ in figures["bare"]) / args.seconds * 100
    bare_rss = statistics.median(rss for _, rss, _ in figures["bare"])
    asked = args.seconds / INTERVAL
    rows, first = [], None
    for size in sizes:
        cpu = statistics.median(c for c, _, _ in figures[size])
        rss = statistics.median(r for _, r, _ in figures[size])
        polls = statistics.median(n for _, _, n in figures[size])
        per_probe = cpu / max(polls, 1) * 1000  # ms of CPU per probe per poll (a request answered)
        first = first or per_probe
        rows.append(
            [
                f"{size:,} probes every {INTERVAL:g} s" + (" (baseline)" if size == sizes[0] else ""),
                f"{cpu / args.seconds * 100:.2f}",
                f"{bare_cpu:.3f}",
                f"{polls / (size * asked) * 100:.0f}",
                f"{per_probe:.3f}",
                f"{per_probe / first:.2f}x",
                f"{rss:.0f}",
                f"{(rss - bare_rss) / size * 1024:.0f}",
            ]
        )
    header = ["size", "CPU % of a core", "the bare app's %", "polls done %", "ms CPU per probe per poll"]
    header += ["per unit / smallest", "RSS MB", "KB over bare per probe"]
    print_table(f"probes, cost per unit: 120x40 pty, {args.runs} runs of {args.seconds:g} s", header, rows)
    print(f"bare Textual app (baseline): {bare_cpu:.3f} % of a core, RSS {bare_rss:.0f} MB")


if __name__ == "__main__":
    main()
