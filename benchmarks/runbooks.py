"""Runbook parsing speed: the runbooks named on the command line and synthetic ones of 1, 2.5 and 5 MB.

.venv/bin/python benchmarks/runbooks.py [FILE.md ...] [--repeat 5]

Goal: at most 50 ms per real runbook, and time linear in size (MB/s about the same at 1, 2.5 and 5 MB). Wall and
CPU time are both shown (on a shared machine the wall time includes waiting for a core); the goal is judged on CPU.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from console.runbooks.model import load_runbook

GOAL_MS = 50.0
SIZES_MB = (1.0, 2.5, 5.0)
SECTION = """## Check shard {n}

The shard can fall behind after a deploy; look at it before touching anything, and say so in the channel.

1. List what runs:

   ```console
   $ kubectl -n <namespace> get pods -l shard={n}
   NAME          READY   STATUS
   shard-{n}-0   1/1     Running
   ```

2. Count what is stuck:

   ```sql
   SELECT count(*) FROM jobs WHERE shard = {n} AND state = 'stuck';
   ```

```bash
kubectl -n <namespace> rollout restart statefulset/shard-{n} \\
  --timeout=120s
```

```yaml
shard: {n}
replicas: 3
```

"""


def synthetic(directory: Path, megabytes: float) -> Path:
    """A runbook of about `megabytes` MB made of realistic sections (prose, a session, SQL, a script, YAML)."""
    size = int(megabytes * 2**20)
    parts, total, n = ["# Synthetic runbook\n\n"], 0, 0
    while total < size:
        section = SECTION.format(n=n)
        parts.append(section)
        total += len(section)
        n += 1
    path = directory / f"synthetic-{megabytes:g}MB.md"
    path.write_text("".join(parts))
    return path


def measure(path: Path, repeat: int) -> tuple[float, float, int]:
    """(median wall seconds, median CPU seconds to read and parse, number of steps)."""
    walls, cpus, steps = [], [], 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        steps = len(load_runbook(path, {}).steps)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="real runbooks to time")
    parser.add_argument("--repeat", type=int, default=5, help="runs per file (the median is shown)")
    args = parser.parse_args()
    table = Table(title=f"runbook parsing (median of {args.repeat}; goal ≤ {GOAL_MS:.0f} ms per real runbook)")
    for column in ("runbook", "size", "steps", "wall ms", "CPU ms", "MB/s (CPU)", "goal"):
        table.add_column(column, justify="left" if column == "runbook" else "right")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(f, True) for f in args.files] + [(synthetic(Path(tmp), mb), False) for mb in SIZES_MB]
        for path, real in rows:
            wall, cpu, steps = measure(path, args.repeat if real else max(1, args.repeat // 2))
            size = path.stat().st_size
            goal = ("ok" if cpu * 1000 <= GOAL_MS else "SLOW") if real else ""
            table.add_row(
                path.name,
                f"{size / 1024:,.0f} KB",
                str(steps),
                f"{wall * 1000:,.1f}",
                f"{cpu * 1000:,.1f}",
                f"{size / 2**20 / cpu:.2f}",
                goal,
            )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
