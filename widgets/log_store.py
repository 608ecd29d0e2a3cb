"""The lines behind a LogView: a bounded ring, the subset a filter or trace id lets through, drops per source."""

from __future__ import annotations

import gc
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from console.logfilter import LogFilter, merge_by_time, trace_filter
from console.models.logs import LogLine

_SOURCE, _ORDER = LogLine.SOURCE, LogLine.ORDER
SWEEP_AFTER = 10_000  # lines gone from a full ring between two collections of the youngest generation (~4 ms each)


class LineList(Sequence[LogLine]):
    """Stored line values seen as LogLines (the store keeps bare tuples: see LogLine)."""

    __slots__ = ("_values",)

    def __init__(self, values: deque[tuple]) -> None:
        self._values = values

    def __len__(self) -> int:
        return len(self._values)

    # Sequence's __getitem__ also takes a slice: a deque cannot be sliced and no reader slices lines, so only an int
    def __getitem__(self, index: int) -> LogLine:  # type: ignore[override]
        return LogLine.of(self._values[index])

    def __iter__(self) -> Iterator[LogLine]:
        return map(LogLine.of, self._values)

    def __reversed__(self) -> Iterator[LogLine]:
        return map(LogLine.of, reversed(self._values))


class LogStore:
    """Lines of one or several sources (merged by time) in a ring of `max_lines`, oldest dropped first.

    `stored` is what a view shows: the whole ring, or the lines passing `log_filter` (unless `hide_unmatched`
    is off: then the filter only finds) and `trace_id`. Indexes into `stored` are the view's line numbers.
    """

    def __init__(self, max_lines: int, *, merged: bool) -> None:
        self.max_lines = max_lines
        self.merged = merged
        self.log_filter: LogFilter | None = None
        self.hide_unmatched = True
        self.trace_id: str | None = None
        self.dropped_by_source: Counter[str] = Counter()
        self.ring: deque[tuple] = deque(maxlen=max_lines)
        self.shown: deque[tuple] | None = None  # None: every line in the ring is shown
        self._unswept = 0  # lines gone from the ring since the last sweep (see _sweep)

    @property
    def stored(self) -> deque[tuple]:
        return self.ring if self.shown is None else self.shown

    @property
    def dropped(self) -> int:
        return sum(self.dropped_by_source.values())

    def add(self, batch: Sequence[LogLine]) -> int:
        """Store a batch; returns how many lines left the top of `stored` to make room (their indexes moved)."""
        ring, shown = self.ring, self.shown
        lines = list(batch)
        if self.merged and ring and min(line.order for line in lines) < ring[-1][_ORDER]:
            lines = self._reorder_tail(lines)
        if len(lines) > self.max_lines:
            self.dropped_by_source.update(line.source for line in lines[: -self.max_lines])
            lines = lines[-self.max_lines :]
        overflow = len(ring) + len(lines) - self.max_lines
        gone = 0
        if overflow > 0:
            self._unswept += overflow
            if shown is None and not self.merged:
                self.dropped_by_source[lines[0].source] += overflow
                gone = overflow
            else:
                for values in islice(ring, overflow):
                    self.dropped_by_source[values[_SOURCE]] += 1
                    if shown is None:
                        gone += 1
                    elif shown and shown[0] is values:
                        shown.popleft()
                        gone += 1
        ring.extend(line.values for line in lines)
        if shown is not None:
            keep = self.predicate()
            shown.extend(line.values for line in lines if keep is None or keep(line))
        if self._unswept >= SWEEP_AFTER:
            self._sweep()
        return gone

    def _sweep(self) -> None:
        """Collect the youngest generation now: a full ring hides its new lines from the garbage collector.

        The collector runs when the objects allocated minus those freed pass a threshold (10,000 in the console:
        console/tui/collector.py). Each line stored is a tuple more, each line dropped off a full ring one freed: in a
        flood the count stood still while the new lines waited in the youngest generation, up to a ring's worth,
        until something else passed the threshold. That collection scanned them all at once: 100,000 lines, 30-100
        ms with a key waiting (benchmarks/logs.py). Swept every SWEEP_AFTER lines, the same lines are scanned once
        (then left out of later scans: strings and numbers only) in pauses of ~4 ms.
        """
        self._unswept = 0
        gc.collect(0)

    def _reorder_tail(self, lines: list[LogLine]) -> list[LogLine]:
        """Take back the ring's newest lines that are later than the batch, and merge them with it by time."""
        earliest = min(line.order for line in lines)
        ring, shown = self.ring, self.shown
        taken: list[tuple] = []
        while ring and ring[-1][_ORDER] > earliest:
            taken.append(ring.pop())
        if shown is not None and taken:
            ids = {id(values) for values in taken}
            while shown and id(shown[-1]) in ids:
                shown.pop()
        taken.reverse()
        return merge_by_time(map(LogLine.of, taken), lines)

    def predicate(self) -> Callable[[LogLine], bool] | None:
        """What a line must pass to be shown (None: every line is)."""
        tests = []
        if self.trace_id is not None:
            tests.append(trace_filter(self.trace_id).matches)
        if self.log_filter is not None and self.hide_unmatched:
            tests.append(self.log_filter.matches)
        if not tests:
            return None
        if len(tests) == 1:
            return tests[0]
        first, second = tests
        return lambda line: first(line) and second(line)

    def rebuild(self) -> None:
        """Work `stored` out again after the filter, its mode or the trace id changed."""
        predicate = self.predicate()
        if predicate is None:
            self.shown = None
        else:
            self.shown = deque(values for values in self.ring if predicate(LogLine.of(values)))

    def find(self, start: int, step: int) -> int | None:
        """Index of the first line from `start` on (step 1) or back (step -1) that the filter matches."""
        stored, log_filter = self.stored, self.log_filter
        assert log_filter is not None
        if step > 0:
            start = max(0, start)
            candidates: Iterable[tuple[int, tuple]] = enumerate(islice(stored, start, None), start)
        else:
            if start < 0:
                return None
            start = min(start, len(stored) - 1)
            backwards = islice(reversed(stored), len(stored) - 1 - start, None)
            candidates = ((start - offset, values) for offset, values in enumerate(backwards))
        return next((index for index, values in candidates if log_filter.matches(LogLine.of(values))), None)

    def index_of(self, wanted: LogLine) -> int | None:
        """Where this very line is in `stored`, if it is there."""
        target = wanted.values
        for index, values in enumerate(self.stored):
            if values is target:
                return index
        return None
