"""What the ledger reads back from the journal (the house's read-back rule, ARCHITECTURE "Reading the journal's
past"): the `change` entries of the last `WINDOW` (so a change is journaled once, by source and id, whichever console
saw it first), the console's own completed actions that change something (`console:actions`), and the latest
`change.baseline` of each built-in source, which the horizon's `Summary` carries past its start in every checkpoint.

The first `catch_up` reads the journal from its horizon (with the summary of what lies before) and the entries of
the last `WINDOW`; each later one only what was appended. It does file I/O: call it in a thread."""

from __future__ import annotations

from datetime import datetime, timedelta

from console.changes.model import Change
from console.clock import Clock
from console.journal import Journal
from console.journal.cursor import JournalCursor
from console.journal.horizon import BASELINE, REQUESTED, since
from console.timeparse import parse_timestamp

CHANGE = "change"  # one entry per change, deduplicated by source and id
ACTIONS = "console:actions"
WINDOW = timedelta(hours=24)


class JournalFollower:
    """The ledger's reader of one journal."""

    def __init__(self, journal: Journal, clock: Clock, *, writes: bool = True) -> None:
        self.journal = journal
        self.clock = clock
        self.writes = writes  # False: what would be journaled is only kept here (headless `changes` reads only)
        self.journaled: dict[tuple[str, str], Change] = {}  # every `change` entry of the window, by source and id
        self.baselines: dict[str, dict] = {}  # the latest change.baseline data by key
        self.actions: dict[int, Change] = {}  # completed changing actions, by their request's seq
        self._requests: dict[int, dict] = {}  # changing requests with no outcome yet, by seq
        self._cursor: JournalCursor | None = None

    def catch_up(self) -> None:
        if self._cursor is None:
            self._cursor = JournalCursor(self.journal)  # from the horizon
            entries, _ = self._cursor.read()
            self.baselines.update(self._cursor.start.summary.baselines)
            for entry in since(self.journal, self.clock.now() - WINDOW):
                self.see(entry)
        else:
            entries, restarted = self._cursor.read()
            if restarted:  # archived or replaced: what it held before the horizon is in the new start's summary
                self.baselines.update(self._cursor.start.summary.baselines)
        for entry in entries:
            self.see(entry)

    def see(self, entry: dict) -> None:
        kind, data = entry.get("kind"), entry.get("data")
        if not isinstance(data, dict):
            return
        if kind == CHANGE:
            time, live_at = parse_timestamp(data.get("time")), parse_timestamp(data.get("live_at"))
            if time is not None and isinstance(data.get("id"), str) and isinstance(data.get("source"), str):
                change = Change.from_json(data, time, live_at)
                self.journaled[change.key] = change
        elif kind == BASELINE and isinstance(data.get("key"), str):
            self.baselines[data["key"]] = data
        elif kind == REQUESTED and data.get("risk") not in (None, "read") and isinstance(entry.get("seq"), int):
            self._requests[entry["seq"]] = entry
        elif kind == "action.completed" and isinstance(corr := entry.get("corr"), int) and corr in self._requests:
            action = _action(self._requests.pop(corr), entry)
            if action is not None:
                self.actions[corr] = action
        elif isinstance(kind, str) and kind.startswith("action.") and isinstance(corr := entry.get("corr"), int):
            self._requests.pop(corr, None)  # failed or cancelled: nothing changed, as far as the console knows

    def seen(self, change: Change) -> bool:
        return change.key in self.journaled

    def record(self, changes: list[Change]) -> None:
        """Journal each change not journaled yet (by any console on this journal)."""
        for change in changes:
            if change.key not in self.journaled:
                if self.writes:
                    self.journal.append(CHANGE, {**change.to_json(), "live_known": change.live_known})
                self.journaled[change.key] = change

    def set_baseline(self, key: str, data: dict) -> None:
        if self.writes:
            self.journal.append(BASELINE, {"key": key, **data})
        self.baselines[key] = {"key": key, **data}

    def journaled_of(self, source: str, now: datetime) -> list[Change]:
        """The journaled changes of one source within the window."""
        return [c for c in self.journaled.values() if c.source == source and now - c.when <= WINDOW]


def _action(request: dict, outcome: dict) -> Change | None:
    """A completed action as a change: made when requested, live when it completed, by whoever ran it."""
    data = request["data"]
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    actor = request.get("actor")
    actor = actor if isinstance(actor, dict) else {}
    version = params.get("version")
    requested, completed = parse_timestamp(request.get("ts")), parse_timestamp(outcome.get("ts"))
    if requested is None or completed is None:
        return None
    return Change(
        id=f"action:{request['seq']}",
        source=ACTIONS,
        kind="action",
        time=requested,
        live_at=completed,
        version=version if isinstance(version, str) else None,
        summary=str(data.get("summary") or data.get("action") or "")[:300],
        author=f"{actor.get('user')}@{actor.get('host')}" if actor.get("user") else None,
        live_known=True,
    )
