"""CPU per keep-alive GET through the HTTP layer's `fetch`, beside aiohttp alone, on loopback.

    .venv/bin/python benchmarks/http_cpu.py [--requests 3000] [--rounds 3] [--before DIR]

The endpoint is served by another process (benchmarks/probes.py's server), so only the client's CPU is counted.
Each figure is one process (its imports alike): this checkout's `fetch`, aiohttp alone (`session.get` and `read`, for
the layer's own share) and, with `--before DIR`, an older checkout's `fetch` (its `make_client()` before the layer),
interleaved round by round.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.probes import _serve
from benchmarks.ptyrun import print_table

LOOP = """
import asyncio, resource, sys
import console.sources.http as probes
try:
    from console.http import HttpClient, fetch
except ImportError:  # before the HTTP layer
    from console.sources.http import fetch
    HttpClient = probes.make_client
if sys.argv[3] == "aiohttp":  # aiohttp alone, for the layer's own share
    import aiohttp

    class HttpClient(aiohttp.ClientSession):
        async def aclose(self):
            await self.close()

    async def fetch(session, url, timeout):
        async with session.get(url) as response:
            await response.read()

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

async def main(url, requests):
    client = HttpClient()
    for _ in range(200):
        await fetch(client, url, 2.0)
    started = cpu()
    for _ in range(requests):
        await fetch(client, url, 2.0)
    print((cpu() - started) / requests * 1000)
    await client.aclose()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def through(tree: Path | None, url: str, requests: int) -> list[float]:
    """One process's CPU per request: `fetch` of the checkout at `tree`, or aiohttp alone (None)."""
    here = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(tree or here)}
    done = subprocess.run(
        [sys.executable, "-P", "-c", LOOP, url, str(requests), "fetch" if tree else "aiohttp"],
        env=env, cwd=tree or here, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [float(done.stdout)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a checkout of the code before a change: measure it too")
    args = parser.parse_args()
    print(os.popen("uptime").read().strip())
    ports = mp.get_context("spawn").Queue()
    server = mp.get_context("spawn").Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{ports.get(timeout=30)}/health/1"
        here = Path(__file__).resolve().parents[1]
        rows: dict[str, list[float]] = {"fetch (console.http)": [], "aiohttp alone (session.get + read)": []}
        if args.before:
            rows[f"fetch before ({args.before})"] = []
        for _ in range(args.rounds):  # interleaved, so each sees the same machine
            rows["fetch (console.http)"] += through(here, url, args.requests)
            rows["aiohttp alone (session.get + read)"] += through(None, url, args.requests)
            if args.before:
                rows[f"fetch before ({args.before})"] += through(args.before, url, args.requests)
    finally:
        server.terminate()
        server.join()
    table = [[name, f"{min(v):.3f}", f"{max(v):.3f}"] for name, v in rows.items()]
    title = f"CPU per keep-alive GET, ms ({args.rounds} processes of {args.requests} each)"
    print_table(title, ["client", "min", "max"], table)


if __name__ == "__main__":
    main()
