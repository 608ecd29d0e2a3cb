"""Run the benchmark set and print one table: figure / baseline / ratio per row (the README's performance table).

    .venv/bin/python benchmarks/all.py [--quick] [--only flush,startup] [--keep DIR]

Prints `uptime` first (the machine is shared: every figure sits beside a baseline measured in the same run).
Each script runs in its own process with its own output kept (`--keep DIR`, default a temporary directory, one
NAME.txt per script); the summary reads the scripts' own tables back: Rich tables (`│` cells) and the plain
tables of benchmarks/ptyrun.print_table. In a table, the row whose label says `baseline` (or `bare`, or the
runbook's pipeline in flush.py) is the baseline of the other rows; a column headed `baseline`, `bare app` or
`before` is the baseline of its row; else the row has none. `runbooks` runs when benchmarks/runbooks.py is
present, `pg` when PostgreSQL's binaries (initdb, pg_ctl) are on the PATH. The flat-cost scripts (probes_flat,
journal_start, share_flat, pg at 300 and 3,000 sessions) label their smallest size the baseline: their ratio is
the cost per unit over the smallest size's. `--quick` shrinks every script's
workload (a smoke run, not figures to publish).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ptyrun import print_table  # noqa: E402


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    figure: str = ""  # a regex naming the column of the figure (default: the first numeric column)
    timeout: float = 900


BENCHES = [
    Bench("journal", quick=("--n", "300"), figure="entries/s"),
    Bench("startup", quick=("--runs", "2"), figure="median"),
    Bench("idle", quick=("--runs", "1", "--seconds", "10"), figure="median"),
    Bench("bytes", quick=("--runs", "1", "--seconds", "10"), figure="incident$"),
    Bench("probes", quick=("--targets", "50", "--duration", "6")),
    Bench("logs", quick=("--lines", "100000", "--probes", "5", "--no-toolong")),
    Bench("flush", quick=("--sessions", "100000", "--others", "20000", "--runs", "1")),
    Bench("incident_replay", quick=("--sizes", "1000,10000", "--repeat", "2"), figure="full replay"),
    Bench("triage", quick=("--refreshes", "30"), figure="CPU ms median"),
    Bench("share", quick=("--n", "500", "--down", "100"), figure="entries/s"),
    Bench("wall", quick=("--notes", "5", "--seconds", "8")),
    Bench("runbooks", quick=("--repeat", "1"), figure="CPU ms"),
    Bench("pg", args=("--sessions", "300,3000"), quick=("--seconds", "5")),
    Bench(
        "probes_flat",
        args=("--runs", "1"),
        quick=("--sizes", "10,100", "--seconds", "8", "--runs", "1"),
        figure="per probe per poll",
    ),
    Bench(
        "journal_start",
        args=("--sizes", "1000,100000,1000000", "--runs", "1", "--idle", "30"),
        quick=("--sizes", "100,10000", "--runs", "1", "--idle", "10"),
        figure="median",
        timeout=1800,
    ),
    Bench("share_flat", quick=("--sizes", "1,2", "--walls", "2", "--notes", "5", "--seconds", "5"), figure="p99"),
    Bench("record", quick=("--runs", "1", "--seconds", "10", "--hours", "1", "--seeks", "20"), timeout=1800),
]
BASELINE_ROW = re.compile(r"baseline|\bbare\b|^runbook", re.I)
BASELINE_COLUMN = re.compile(r"^(?:idle )?\(?baseline|^bare|^before|^dashboard$", re.I)
FLUSH_ROW = re.compile(
    r"^(runbook: .*?|console flush-cache \(run \d+\))\s+([\d.]+)s\s.*?([\d.]+)ms\s+([\d.]+)ms\s+([\d.]+)ms"
)
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
BOX = "┃│║"


def available(bench: Bench) -> str | None:
    """Why a script is skipped, or None."""
    if not (ROOT / "benchmarks" / f"{bench.name}.py").exists():
        return "not present"
    if bench.name == "pg" and not (shutil.which("initdb") and shutil.which("pg_ctl")):
        return "no PostgreSQL binaries on the PATH"
    return None


BASELINE_TOOLS = {  # the other tool a script measures beside the console, installed by hand (each script's docstring)
    "logs": ("/tmp/tl/bin/tl", "python3 -m venv /tmp/tl && /tmp/tl/bin/pip install toolong"),
    "pg": (
        "/tmp/pgact/bin/pg_activity",
        "python3 -m venv /tmp/pgact && /tmp/pgact/bin/pip install pg_activity 'psycopg[binary]'",
    ),
}


def missing_baseline(bench: Bench) -> str | None:
    """How to install the tool a script compares the console with, when it is not there (its rows then have none)."""
    tool = BASELINE_TOOLS.get(bench.name)
    return None if tool is None or Path(tool[0]).exists() else f"{tool[0]} is not installed: {tool[1]}"


def run(bench: Bench, quick: bool, keep: Path) -> tuple[str, float]:
    """Run one script; (its output, seconds). The output is also kept in keep/NAME.txt."""
    argv = [sys.executable, str(ROOT / "benchmarks" / f"{bench.name}.py"), *(bench.quick if quick else bench.args)]
    if bench.name == "logs" and missing_baseline(bench) and "--no-toolong" not in argv:
        argv.append("--no-toolong")  # Toolong is installed by hand for that benchmark, never by this script
    env = {**os.environ, "COLUMNS": "220", "PYTHONPATH": str(ROOT)}  # Rich tables wide enough not to wrap
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=bench.timeout, env=env, cwd=ROOT)
        text = done.stdout + (f"\n[exit {done.returncode}]\n{done.stderr[-2000:]}" if done.returncode else "")
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        text = f"{out}\n[timed out after {bench.timeout:g} s]"
    (keep / f"{bench.name}.txt").write_text(text)
    return text, time.monotonic() - started


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """(header, rows) of every table in a script's output: Rich box tables and print_table's plain ones."""
    found: list[tuple[list[str], list[list[str]]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("┃"):
            header = _cells(line)
            while i + 1 < len(lines) and lines[i + 1].startswith("┃"):  # a header wrapped on several lines
                i += 1
                header = [f"{a} {b}".strip() for a, b in zip(header, _cells(lines[i]), strict=False)]
            rows = []
            while i + 1 < len(lines) and not lines[i + 1].startswith("└"):
                i += 1
                if lines[i].startswith("│"):
                    rows.append(_cells(lines[i]))
            found.append((header, rows))
        elif i + 1 < len(lines) and re.fullmatch(r"-+(  -+)+", lines[i + 1].strip()):
            spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[i + 1])]
            header = [line[a:b].strip() for a, b in _widen(spans)]
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip():
                rows.append([lines[i][a:b].strip() for a, b in _widen(spans)])
                i += 1
            found.append((header, rows))
        i += 1
    return found


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in re.split(f"[{BOX}]", line)[1:-1]]


def _widen(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """print_table right-justifies: a cell runs from the end of the previous column to the end of its own."""
    return [(0 if n == 0 else spans[n - 1][1], end) for n, (_, end) in enumerate(spans)]


def number(cell: str) -> float | None:
    found = NUMBER.search(cell)
    return float(found.group().replace(",", "")) if found else None


def summary(name: str, text: str, figure: str = "") -> list[list[str]]:
    """Rows of (script, measure, figure, baseline, ratio) read from a script's tables."""
    out: list[list[str]] = []
    if name == "flush":  # its own layout: contenders against the runbook's pipeline, the first row
        found = [m for line in text.splitlines() if (m := FLUSH_ROW.match(line))]
        for m in found:
            base = found[0]
            for what, col, unit in (("time", 2, "s"), ("PING p99", 4, "ms")):
                ratio = f"{float(m[col]) / float(base[col]):.2f}x" if m is not base and float(base[col]) else "-"
                baseline = f"{base[col]}{unit}" if m is not base else "-"
                out.append([name, f"{m[1]} [{what}]", f"{m[col]}{unit}", baseline, ratio])
    for header, rows in tables(text):
        if not rows:
            continue
        named = [n for n, h in enumerate(header) if n and figure and re.search(figure, h, re.I)]
        figure_col = named[0] if named else next((n for n, c in enumerate(rows[0]) if n and number(c) is not None), 1)
        base_col = next((n for n, h in enumerate(header) if n and BASELINE_COLUMN.search(h)), None)
        base_row = next((row for row in rows if BASELINE_ROW.search(row[0])), None)
        what = header[figure_col] if figure_col < len(header) else ""
        for row in rows:
            if figure_col >= len(row) or not row[figure_col]:
                continue
            label = f"{row[0]} [{what}]" if what else row[0]
            baseline = row[base_col] if base_col is not None and base_col < len(row) else None
            if baseline is None and base_row is not None and row is not base_row:
                baseline = base_row[figure_col]
            value, base = number(row[figure_col]), number(baseline or "")
            ratio = f"{value / base:.2f}x" if value is not None and base else "-"
            out.append([name, label[:70], row[figure_col], baseline or "-", ratio])
    for line in text.splitlines():  # the verdict lines some scripts print under their tables
        if re.search(r"goal\s*(<=|>=|≤|≥)", line) and not line.lstrip().startswith(("│", "┃")):
            out.append([name, line.strip()[:90], "", "", ""])
    return out or [[name, "(no table found: see its output)", "", "", ""]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small workloads: a smoke run")
    parser.add_argument("--only", help="comma-separated script names (default: all)")
    parser.add_argument("--keep", type=Path, help="keep each script's output here (NAME.txt)")
    args = parser.parse_args()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    only = set(args.only.split(",")) if args.only else None
    keep = args.keep or Path(tempfile.mkdtemp(prefix="benchmarks-"))
    keep.mkdir(parents=True, exist_ok=True)
    rows: list[list[str]] = []
    for bench in BENCHES:
        if only is not None and bench.name not in only:
            continue
        if (why := available(bench)) is not None:
            rows.append([bench.name, f"skipped: {why}", "", "", ""])
            continue
        print(f"running {bench.name}...", file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        text, seconds = run(bench, args.quick, keep)
        load = f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
        rows += summary(bench.name, text, bench.figure)
        if (missing := missing_baseline(bench)) is not None:
            rows.append([bench.name, f"(no baseline: {missing})", "", "", ""])
        rows.append([bench.name, f"(its {seconds:.0f} s; load average, 1 min, at its start / end)", load, "", ""])
        print(f"  {bench.name}: {seconds:.0f} s, load {load}", file=sys.stderr, flush=True)
    print()
    print_table(
        f"benchmarks{' (quick)' if args.quick else ''}; each script's output in {keep}",
        ["script", "measure", "figure", "baseline", "ratio"],
        rows,
    )
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
