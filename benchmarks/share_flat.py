"""How sharing grows: 1, 10 and 20 consoles plus 10 walls on one Redis stream (`[share]`), each a TUI on its own
pty with its own journal and host name; a note journaled on the first console's host, to its paint on a wall.

    .venv/bin/python benchmarks/share_flat.py [--sizes 1,10,20] [--walls 10] [--notes 20] [--seconds 20]

At each size: the incident is declared in the first console's journal, every console and wall starts, and once a
watched wall shows the incident a writer process appends `--notes` notes to that journal (0.2-1.2 s apart): the
latency runs from the writer's exit (the note fsynced) to its text on the wall's pty; the console's mirror takes it
to the stream and every wall's follower from there. Redis's CPU (on a CPU, schedstat) is read over the notes and
over `--seconds` at rest. The baseline is the smallest size in the same run: "/ smallest" near 1 is a flat cost.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.idle import on_cpu_ns
from benchmarks.ptyrun import PtyProcess, compile_tree, print_table
from console.demo.servers import RedisServer
from console.incident.commands import IncidentDesk
from console.journal import Journal

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = [sys.executable, "-P", "-m", "console.cli"]
TITLE = "checkout returns 500s"
WRITER = (
    "import sys; from console.journal import Journal; "
    "Journal(sys.argv[1], environment='production').append('note', {'text': sys.argv[2]})"
)
KEY = "a-benchmark-key-of-some-length"


def folder_for(tmp: Path, name: str, redis: RedisServer, stream: str) -> Path:
    folder = tmp / name
    folder.mkdir(mode=0o700)
    (folder / "config.toml").write_text(
        f'[console]\nenvironment = "production"\njournal = "{folder / "journal.jsonl"}"\n'
        f'[share]\nredis_url = "{redis.url}"\nkey = "{KEY}"\nhost = "{name}"\nstream = "{stream}"\n'
    )
    return folder


def one_size(tmp: Path, redis: RedisServer, consoles: int, walls: int, notes: int, seconds: float) -> dict:
    """Latencies (s) from note to paint on a wall, Redis CPU % over the notes and at rest."""
    stream = f"bench:{consoles}"
    folders = [folder_for(tmp, f"c{consoles}-console-{n}", redis, stream) for n in range(consoles)]
    folders += [folder_for(tmp, f"c{consoles}-wall-{n}", redis, stream) for n in range(walls)]
    journal = folders[0] / "journal.jsonl"
    IncidentDesk(Journal(journal, environment="production")).declare(TITLE, "SEV-2")
    runs: list[PtyProcess] = []
    redis_pid = redis.pid
    assert redis_pid is not None, "Redis is not running"
    try:
        for n, folder in enumerate(folders):
            extra = ["--wall"] if n >= consoles else []
            watched = n == len(folders) - 1  # the last wall: its screen is read
            argv = [*CONSOLE, "--config", str(folder / "config.toml"), *extra]
            runs.append(PtyProcess(argv, columns=120, rows=40, keep=watched, env={"PYTHONPATH": str(ROOT)}))
        wall = runs[-1]
        if wall.wait_for(TITLE.encode(), timeout=180) is None:
            raise SystemExit(f"the wall never showed the incident ({consoles} consoles)")
        time.sleep(5.0)  # every console and wall started and settled
        redis_ns, started = on_cpu_ns(redis_pid), time.monotonic()
        latencies = []
        for n in range(notes):
            time.sleep(random.uniform(0.2, 1.2))
            text = f"note {n:02d} from the bastion"
            since = wall.mark()
            writer = [sys.executable, "-c", WRITER, str(journal), text]
            subprocess.run(writer, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            written = time.monotonic()
            painted = wall.arrived(text.encode(), since=since, timeout=15)
            if painted is None:
                raise SystemExit(f"note {n} never showed on the wall ({consoles} consoles)")
            latencies.append(max(0.0, painted - written))
        busy = (on_cpu_ns(redis_pid) - redis_ns) / 1e9 / (time.monotonic() - started) * 100
        redis_ns, started = on_cpu_ns(redis_pid), time.monotonic()
        time.sleep(seconds)
        rest = (on_cpu_ns(redis_pid) - redis_ns) / 1e9 / (time.monotonic() - started) * 100
    finally:
        for run in runs:
            run.stop()
    return {"latencies": latencies, "busy": busy, "rest": rest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,20")
    parser.add_argument("--walls", type=int, default=10)
    parser.add_argument("--notes", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(os.popen("uptime").read().strip(), flush=True)
    compile_tree(ROOT)
    results = {}
    with RedisServer() as redis, tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            results[size] = one_size(Path(tmp), redis, size, args.walls, args.notes, args.seconds)
    rows, base = [], None
    for size in sizes:
        ms = sorted(v * 1000 for v in results[size]["latencies"])
        p50, p99 = statistics.median(ms), ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        base = base or (p50, p99, results[size]["rest"] or 1e-9)
        rows.append(
            [
                f"{size} consoles + {args.walls} walls" + (" (baseline)" if size == sizes[0] else ""),
                f"{p50:.0f}",
                f"{p99:.0f}",
                f"{p50 / base[0]:.2f}x",
                f"{results[size]['busy']:.2f}",
                f"{results[size]['rest']:.3f}",
                f"{results[size]['rest'] / base[2]:.2f}x",
                f"{results[size]['rest'] / (size + args.walls):.4f}",
            ]
        )
    header = ["size", "note->paint p50 ms", "p99 ms", "p50 / smallest", "Redis CPU % (notes)", "Redis CPU % at rest"]
    header += ["at rest / smallest", "at rest % per process"]
    title = f"sharing, one Redis stream: {args.notes} notes per size, 120x40 ptys; goal: note->paint p99 <= 1000 ms"
    print_table(title, header, rows)


if __name__ == "__main__":
    main()
