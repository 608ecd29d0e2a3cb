"""Someone else is acting on the same target: two people rolling back, or terminating the same sessions, at once is
a classic incident failure. Before an action runs, the runner looks at what other consoles (on this host, through the
journal, or on others, through the shared stream) requested in the last WINDOW seconds on the same target, and a plan
that overlaps one asks for an explicit override, which is journaled.

A target is a set of keys (`touched`): the PostgreSQL sessions (`postgres:pid:N`) and database a kill names, the
Redis database and pattern a flush deletes, else the action itself (`action:NAME`, a command action or a runbook
step by its name); keys are compared within one environment. The keys are journaled with the request, so a console
compares what another recorded, never what it would compute today.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from console.models import Plan, format_duration
from console.timeparse import parse_timestamp

WINDOW = 600.0  # seconds: an action requested this recently on the same target counts, finished or not
OUTCOMES = ("action.completed", "action.failed", "action.cancelled")


@dataclass(frozen=True)
class Overlap:
    """Another console's request on the same target: its seq, who, where, how long ago and how it ended."""

    seq: int
    action: str
    who: str
    age_s: float
    status: str  # running, completed, failed, cancelled

    def text(self) -> str:
        return f"{self.action} by {self.who}, {format_duration(self.age_s)} ago: {self.status}"

    def record(self) -> dict[str, object]:
        return {"seq": self.seq, "action": self.action, "by": self.who, "status": self.status}


def touched(plan: Plan) -> list[str]:
    """The keys of what `plan` acts on (sorted, for the journal)."""
    pids = plan.detail.get("pids") if isinstance(plan.detail.get("pids"), list) else None
    if pids is not None:
        keys = {f"postgres:pid:{pid}" for pid in pids}
        database = plan.params.get("database")
        return sorted(keys | ({f"postgres:database:{database}"} if database else set()))
    inner = plan.params.get("flush")  # a runbook step offered as flush-cache keeps the flush's own params there
    flush = inner if isinstance(inner, dict) else plan.params if plan.action == "flush-cache" else None
    if flush is not None:
        return [f"redis:{flush.get('db') or 0}:{flush.get('pattern')}"]
    return [f"action:{plan.action}"]


def overlaps(
    plan: Plan, keys: Iterable[str], entries: Iterable[dict], *, environment: str, me: dict, now: datetime
) -> list[Overlap]:
    """The requests among `entries` (oldest first) by another console (another host or process than `me`, the
    actor this console journals as) in `environment`, within WINDOW of `now`, whose keys meet `keys`."""
    wanted = set(keys)
    requests: dict[tuple[str, int], dict] = {}
    ended: dict[tuple[str, int], str] = {}
    for entry in entries:
        actor = entry.get("actor") or {}
        host = str(actor.get("host", "?"))
        if entry.get("kind") == "action.requested" and isinstance(entry.get("seq"), int):
            requests[(host, entry["seq"])] = entry
        elif entry.get("kind") in OUTCOMES and isinstance(entry.get("corr"), int):
            ended[(host, entry["corr"])] = entry["kind"].split(".", 1)[1]
    found = []
    for (host, seq), entry in requests.items():
        actor = entry.get("actor") or {}
        if entry.get("environment") != environment or (host, actor.get("pid")) == (me.get("host"), me.get("pid")):
            continue
        data = entry.get("data") or {}
        theirs = data.get("touches") or [f"action:{data.get('action')}"]
        if not wanted & set(theirs):
            continue
        stamp = parse_timestamp(entry.get("ts"))
        if stamp is None:
            continue
        age = (now - stamp).total_seconds()
        if 0 <= age <= WINDOW:
            who = f"{actor.get('user', '?')}@{host} (pid {actor.get('pid', '?')})"
            found.append(Overlap(seq, str(data.get("action")), who, age, ended.get((host, seq), "running")))
    return sorted(found, key=lambda o: o.age_s)
