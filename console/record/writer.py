"""The recording's one writer: samples in, one transaction per batch; pruning by `keep` and `max_size`, oldest first.

Pruning drops whole segments (a keyframe and its deltas), so no delta outlives its keyframe: a feed's segment goes
once the next segment of that feed started before the cutoff (so what `keep` promises is always there), and, past
`max_size`, the oldest segments of all feeds go until the pages in use fit, then the file gives the pages back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from console.config.record import RecordSettings
from console.record.codec import Encoder, Sample, payload
from console.record.store import connect
from console.redact import Redactor

_PAGES = ("page_count", "freelist_count", "page_size")
SIZE_PRUNE_SHARE = 0.1  # past max_size, drop the oldest tenth of the segments at once (not a few rows per batch)


class Writer:
    """Holds the file open for writing; every method blocks (run it in a thread)."""

    def __init__(self, path: Path, settings: RecordSettings, redactor: Redactor) -> None:
        self.path = path
        self.settings = settings
        self.redactor = redactor
        self.db: sqlite3.Connection = connect(path, create=True)
        self._feeds: dict[str, int] = dict(self.db.execute("SELECT name, id FROM feeds").fetchall())
        self._checks: dict[str, int] = dict(self.db.execute("SELECT name, id FROM checks").fetchall())
        self._encoders: dict[str, Encoder] = {}
        self.written = 0

    def write(self, samples: list[Sample]) -> None:
        """Append the samples in one transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for sample in samples:
                feed = self._feed(sample)
                encoder = self._encoders.setdefault(sample.feed, Encoder())
                is_key, blob = encoder.encode(payload(sample, self.redactor))
                cursor = db.execute(
                    "INSERT INTO samples (feed, at, key, data) VALUES (?, ?, ?, ?)",
                    (feed, sample.at, None if is_key else encoder.key_id, blob),
                )
                if is_key:
                    encoder.key_id = cursor.lastrowid
                db.executemany(
                    "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?)",
                    [
                        (self._check(check.key), sample.at, check.number, check.state.value)
                        for check in sample.checks
                        if check.number is not None
                    ],
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._encoders.clear()  # their keyframes' rows were rolled back: start new segments
            self._feeds = dict(db.execute("SELECT name, id FROM feeds").fetchall())  # and new feeds' rows too
            self._checks = dict(db.execute("SELECT name, id FROM checks").fetchall())
            raise
        self.written += len(samples)

    def _check(self, key: str) -> int:
        found = self._checks.get(key)
        if found is None:
            cursor = self.db.execute("INSERT INTO checks (name) VALUES (?)", (key,))
            found = self._checks[key] = int(cursor.lastrowid or 0)
        return found

    def _feed(self, sample: Sample) -> int:
        found = self._feeds.get(sample.feed)
        if found is None:
            cursor = self.db.execute("INSERT INTO feeds (name, interval) VALUES (?, ?)", (sample.feed, sample.interval))
            found = self._feeds[sample.feed] = int(cursor.lastrowid or 0)
        return found

    def prune(self, now: float) -> int:
        """Drop what is older than `keep`, then the oldest segments while the pages in use pass `max_size`; give the
        freed pages back. Returns how many samples went."""
        cutoff = now - self.settings.keep
        dropped = 0
        for feed in self._feeds.values():
            old = self.db.execute(
                "SELECT id FROM samples WHERE feed = ? AND key IS NULL AND at < ? ORDER BY at DESC LIMIT -1 OFFSET 1",
                (feed, cutoff),
            ).fetchall()
            dropped += self._drop([row[0] for row in old])
        while self.used() > self.settings.max_size:
            keys = self.db.execute("SELECT count(*) FROM samples WHERE key IS NULL").fetchone()[0]
            oldest = self.db.execute(
                "SELECT id FROM samples WHERE key IS NULL ORDER BY at LIMIT ?", (max(1, int(keys * SIZE_PRUNE_SHARE)),)
            ).fetchall()
            gone = self._drop([row[0] for row in oldest])
            if not gone:
                break
            dropped += gone
        if dropped:
            self.db.executescript("PRAGMA incremental_vacuum")  # run to the end (execute would free one page)
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file shrinks once the log is written back
        return dropped

    def _drop(self, keys: list[int]) -> int:
        """Delete the segments whose keyframes are `keys`; how many samples went."""
        if not keys:
            return 0
        current = {encoder.key_id for encoder in self._encoders.values()}
        if current & set(keys):  # a segment still being written: its next delta would lose its keyframe
            self._encoders = {feed: e for feed, e in self._encoders.items() if e.key_id not in keys}
        gone = 0
        self.db.execute("BEGIN IMMEDIATE")
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            gone += self.db.execute(f"DELETE FROM samples WHERE key IN ({marks})", chunk).rowcount
            gone += self.db.execute(f"DELETE FROM samples WHERE id IN ({marks})", chunk).rowcount
        (oldest,) = self.db.execute("SELECT min(at) FROM samples").fetchone()
        for check in self._checks.values():  # a check's numbers go with the samples they came from
            self.db.execute("DELETE FROM points WHERE check_id = ? AND at < ?", (check, oldest or float("inf")))
        self.db.execute("COMMIT")
        return gone

    def used(self) -> int:
        """Bytes of the file's pages in use (the freelist is reused before the file grows)."""
        (pages,), (free,), (size,) = (self.db.execute(f"PRAGMA {name}").fetchone() for name in _PAGES)
        return int((pages - free) * size)

    def close(self) -> None:
        self.db.close()
