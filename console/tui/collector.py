"""The garbage collector while the console runs: `collect_later()` as the TUI starts, `collect_less()` once the
dashboard is up and its first data shown.

Until then the collector does not run: starting allocates hundreds of thousands of objects (Textual, pydantic's
schemas, aiohttp), which the default thresholds scanned again and again, a full collection among them; the start
spent about a tenth of its time there (45 ms of 450 importing what the console needs on its way to the first
data). `collect_less()` then collects once (about 40 ms, after the tiles show data), moves what is left out of
the collector's scans (`gc.freeze`: no long pauses while logs flood) and runs it less often than Python's default
thresholds (700, 10, 10) say: a poll allocates tens of thousands of objects (3,000 PostgreSQL sessions are 3,000
models), few of them in reference cycles, which reference counting frees at once; with the defaults the collector
counted them again and again. The PostgreSQL pane at 3,000 sessions spent half its CPU there (25 s: 8 full
collections of ~90 ms, 97 of the middle generation; 1.37 s of 2.78 s), with these thresholds 0.44 s of 2.25 s and
no full collection (benchmarks/pg.py --sessions 300,3000). A cycle still goes at the next collection of its
generation: every 10,000 allocations net for the youngest.
A full log ring hides its churn from that count (each line dropped counts as one freed): widgets/log_store.py
sweeps the youngest generation itself.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 10)


def collect_later() -> None:
    """No collection while the console starts (`incident-console`, before Textual is imported)."""
    gc.disable()


def collect_less() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    gc.enable()
