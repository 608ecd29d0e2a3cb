"""The garbage collector while the console runs: `collect_less()` once the dashboard is up.

Startup objects (modules, classes, Textual's screens) leave the collector's scans (`gc.freeze`): no long pauses
while logs flood. And it runs less often than Python's default thresholds (700, 10, 10) say: a poll allocates tens
of thousands of objects (3,000 PostgreSQL sessions are 3,000 models), few of them in reference cycles, which
reference counting frees at once; with the defaults the collector counted them again and again. The PostgreSQL pane
at 3,000 sessions spent half its CPU there (25 s: 8 full collections of ~90 ms, 97 of the middle generation; 1.37 s
of 2.78 s), with these thresholds 0.44 s of 2.25 s and no full collection (benchmarks/pg.py --sessions 300,3000).
A cycle still goes at the next collection of its generation: every 10,000 allocations net for the youngest.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 10)


def collect_less() -> None:
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
