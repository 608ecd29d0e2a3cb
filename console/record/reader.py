"""Reading a recording: what every feed showed at a moment (its sample at or just before it), and the moments
around one (the scrubber's next and previous sample). Any number of readers, beside the writer (WAL).

Every call blocks (an indexed lookup and at most two decompressions per feed: a moment of 14 feeds in a 48 h
recording took 3.5 to 6.3 ms median, 6 to 16 ms p99, with a fresh reader; benchmarks/record.py); the TUI runs them in a
thread.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from console.models import State
from console.record.codec import Decoded, Decoder, decode
from console.record.store import RecordError, connect


@dataclass(frozen=True)
class Bucket:
    """One slice of a chart: when it starts, its lowest and highest number, its worst state."""

    at: float
    low: float
    high: float
    state: State


@dataclass(frozen=True)
class FeedSample:
    """A feed as it was: when its sample was taken, its poll interval, and the sample."""

    feed: str
    taken_at: float
    interval: float
    sample: Decoded

    def stale(self, at: float) -> bool:
        """Older than twice its feed's interval at `at`: the feed had stopped answering or being recorded."""
        return at - self.taken_at > 2 * self.interval


class Reader:
    """A recording opened for reading; `close()` when done."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db: sqlite3.Connection = connect(self.path, create=False)
        self.db.execute("PRAGMA query_only=1")
        self._decoder = Decoder()

    def feeds(self) -> dict[str, tuple[int, float]]:
        """Every recorded feed: its row id and poll interval, by feed key."""
        return {name: (feed, interval) for feed, name, interval in self.db.execute("SELECT * FROM feeds")}

    def span(self) -> tuple[float, float] | None:
        """The first and last sample's time, or None when nothing is recorded yet."""
        # two queries: SQLite answers a lone min() or max() from the index's ends, both at once by scanning it all
        (first,) = self.db.execute("SELECT min(at) FROM samples").fetchone()
        (last,) = self.db.execute("SELECT max(at) FROM samples").fetchone()
        return None if first is None else (first, last)

    def frame(self, at: float) -> dict[str, FeedSample]:
        """Each feed's sample at or just before `at` (a feed with none before it is left out), by feed key."""
        found: dict[str, FeedSample] = {}
        for name, (feed, interval) in self.feeds().items():
            row = self.db.execute(
                "SELECT id, at, key, data FROM samples WHERE feed = ? AND at <= ? ORDER BY at DESC LIMIT 1",
                (feed, at),
            ).fetchone()
            if row is not None:
                found[name] = FeedSample(name, row[1], interval, self._decode(row[0], row[2], row[3]))
        return found

    def _decode(self, row: int, key: int | None, blob: bytes) -> Decoded:
        try:
            if key is None:
                raw = self._decoder.keyframe(row, blob)
            else:
                key_row = self.db.execute("SELECT data FROM samples WHERE id = ?", (key,)).fetchone()
                if key_row is None:
                    raise ValueError("its keyframe is gone")
                raw = self._decoder.delta(key, key_row[0], blob)
            return decode(raw)
        except Exception as exc:  # zstd, JSON or a model's validation: the file, not the console, is wrong
            raise RecordError(f"{self.path}: sample {row} cannot be read ({exc}); the recording is damaged") from None

    def after(self, at: float) -> float | None:
        """The time of the first sample after `at` (any feed), or None."""
        return self.db.execute("SELECT min(at) FROM samples WHERE at > ?", (at,)).fetchone()[0]

    def before(self, at: float) -> float | None:
        """The time of the last sample before `at` (any feed), or None."""
        return self.db.execute("SELECT max(at) FROM samples WHERE at < ?", (at,)).fetchone()[0]

    def checks(self) -> list[str]:
        """Every check key that has numbers recorded (`health:api`, `postgres:connections`), first seen first."""
        return [name for (name,) in self.db.execute("SELECT name FROM checks ORDER BY id")]

    def series(self, check: str, start: float, end: float, buckets: int) -> list[Bucket]:
        """A check's numbers from `start` to `end` in `buckets` equal slices: each slice's lowest and highest number
        and worst state (slices without a sample are left out). One range scan of the check's points."""
        width = (end - start) / max(1, buckets)
        try:
            rows = self._buckets(check, start, end, width)
        except sqlite3.DatabaseError as exc:
            raise RecordError(f"{self.path}: cannot read {check}'s numbers ({exc})") from None
        return [
            Bucket(start + min(b, buckets - 1) * width, low, high, State.worst(State(s) for s in states.split(",")))
            for b, low, high, states in rows
        ]

    def _buckets(self, check: str, start: float, end: float, width: float) -> list[tuple[int, float, float, str]]:
        return self.db.execute(
            "SELECT CAST((p.at - ?) / ? AS INTEGER) AS b, min(p.number), max(p.number), group_concat(DISTINCT p.state)"
            " FROM points p JOIN checks c ON c.id = p.check_id WHERE c.name = ? AND p.at >= ? AND p.at <= ?"
            " GROUP BY b ORDER BY b",
            (start, width, check, start, end),
        ).fetchall()

    def close(self) -> None:
        self.db.close()
