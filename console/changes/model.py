"""The ledger's data: a change, a suspect (rank, score, reason) and the ledger as the live state keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.models import Check, State
from console.timeparse import iso

FEED = "changes"  # the ledger's feed key and its checks' source (`changes.suspects`)


@dataclass(frozen=True)
class Change:
    """One change. `live_at` None with `live_known` means it is known not to be live yet (a deploy still pending);
    without `live_known` the source cannot say when it went live (a commit), so its `time` stands in."""

    id: str
    source: str
    kind: str
    time: datetime
    live_at: datetime | None = None
    service: str | None = None
    version: str | None = None
    summary: str = ""
    author: str | None = None
    url: str | None = None
    live_known: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.id)

    @property
    def when(self) -> datetime:
        """When it took effect as far as is known: `live_at`, else `time`."""
        return self.live_at or self.time

    @property
    def label(self) -> str:
        """How a line names it: its version, else its summary's start, else its id."""
        return self.version or (self.summary[:40] if self.summary else self.id[:12])

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "kind": self.kind,
            "time": iso(self.time),
            "live_at": iso(self.live_at) if self.live_at else None,
            "service": self.service,
            "version": self.version,
            "summary": self.summary,
            "author": self.author,
            "url": self.url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], time: datetime, live_at: datetime | None) -> Change:
        """A change as a `change` journal entry holds it (times already parsed by the caller; `live_known` beside
        the `changes --json` fields)."""
        text = {name: data[name] if isinstance(data.get(name), str) else None for name in _TEXT}
        return cls(
            id=str(data.get("id")),
            source=str(data.get("source")),
            kind=str(data.get("kind") or "deploy"),
            time=time,
            live_at=live_at,
            service=text["service"],
            version=text["version"],
            summary=text["summary"] or "",
            author=text["author"],
            url=text["url"],
            live_known=data["live_known"] if isinstance(data.get("live_known"), bool) else live_at is not None,
        )


_TEXT = ("service", "version", "summary", "author", "url")


@dataclass(frozen=True)
class Suspect:
    """Why a change may have caused the incident: its place (1 the likeliest), a score from 0 to 1, in words."""

    rank: int
    score: float
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "score": self.score, "reason": self.reason}


@dataclass(frozen=True)
class ChangeLedger:
    """Every change read, newest first by `when`, the sources that failed (name -> reason), the onset the suspects
    were ranked against (None: nothing is failing) and the suspects by change key."""

    changes: tuple[Change, ...] = ()
    errors: tuple[tuple[str, str], ...] = ()
    onset: datetime | None = None
    onset_words: str = ""
    suspects: dict[tuple[str, str], Suspect] = field(default_factory=dict)
    feed_key: str = FEED

    def checks(self) -> list[Check]:
        """One check, `changes.suspects`: how many changes are suspects (never unhealthy itself: a change is not a
        failure, and an observation of one would move the onset it is ranked against)."""
        count = len(self.suspects)
        return [Check(source=FEED, name="suspects", state=State.OK, value=str(count), number=float(count))]

    def suspect(self, change: Change) -> Suspect | None:
        return self.suspects.get(change.key)

    def ranked(self) -> list[tuple[Change, Suspect]]:
        """The suspects, likeliest first."""
        found = [(change, s) for change in self.changes if (s := self.suspects.get(change.key)) is not None]
        return sorted(found, key=lambda pair: pair[1].rank)

    def top(self) -> Change | None:
        ranked = self.ranked()
        return ranked[0][0] if ranked else None

    def previous(self, change: Change) -> Change | None:
        """The newest change older than `change` from the same source, service and kind (what a rollback returns
        to), or None."""
        older = [
            c
            for c in self.changes
            if (c.source, c.service, c.kind) == (change.source, change.service, change.kind)
            and c.when < change.when
            and c.id != change.id
        ]
        return max(older, key=lambda c: c.when, default=None)

    def to_json(self) -> dict[str, Any]:
        """The `changes --json` document."""
        return {
            "onset": iso(self.onset) if self.onset else None,
            "errors": [{"source": name, "reason": reason} for name, reason in self.errors],
            "changes": [
                {**change.to_json(), "suspect": s.to_json() if (s := self.suspect(change)) else None}
                for change in self.changes
            ],
        }
