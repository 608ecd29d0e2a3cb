"""Which changes may have caused what is failing, ranked, each with its reason in words. The onset: with an incident
open, the incident's (`replay.onset`, carried in `LiveState.incident`); with none open but checks failing, when the
earliest failing check went bad. A change whose `service` is failing is judged against when that service's first
check went bad instead (an unrelated check failing since before a deploy does not clear the deploy). A change is a
suspect when it took effect before the onset (`live_at`, else its `time` when the source cannot say when it went
live) and within `WINDOW` of it; a change after the onset, or known not to be live yet, never is. Its score (0..1)
is the product of:

- how close before the onset it took effect: 1 at the onset, 1/2 at `HALF` before, 1/3 at twice that ...;
- whether it was still live at the onset (a newer change of the same source, service and kind replaced it: x0.3);
- whether its service is failing (its `service` is a failing check's name or `service`, or nothing fails: x1;
  another service: x0.4; no service said: x0.8);
- its kind (`KIND_WEIGHT`: a deploy weighs most, an action of the console least);
- whether it is known when it went live (a commit's time stands in: x0.8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from console.changes.model import FEED, Change, ChangeLedger, Suspect
from console.live import LiveState
from console.models import State, format_duration

UNHEALTHY = (State.WARN, State.CRIT, State.DOWN)
HALF = 600.0  # seconds before the onset at which the time factor is 1/2
WINDOW = timedelta(hours=24)  # older than this before the onset: not a suspect
KIND_WEIGHT = {"deploy": 1.0, "migration": 0.9, "config": 0.8, "flag": 0.8, "infra": 0.7, "action": 0.6}
REPLACED, OTHER_SERVICE, NO_SERVICE, UNKNOWN_LIVE = 0.3, 0.4, 0.8, 0.8


Failing = Mapping[str, tuple[datetime, str]]  # a failing check's name or service (lower case) -> when it went bad, said


def onset(live: LiveState, services: Mapping[str, str] | None = None) -> tuple[datetime | None, str, Failing]:
    """(the onset or None, what it is in words, when each failing check's name and service went bad) from the live
    state; `services` maps a check's key (`metric:error rate`) to its `service`."""
    failing = sorted(
        (r for r in live.readings.values() if r.check.state in UNHEALTHY and r.check.source != FEED),
        key=lambda reading: reading.since,
    )
    bad: dict[str, tuple[datetime, str]] = {}
    for reading in failing:
        check = reading.check
        said = f"the first {check.state.value.upper()} ({check.source} {check.name})"
        for label in (check.name, (services or {}).get(check.key)):
            if label:
                bad.setdefault(label.lower(), (reading.since, said))
    facts = live.incident
    if facts is not None and facts.onset is not None:
        return facts.onset, f"the onset of {facts.id}", bad
    if not failing:
        return None, "", bad
    return failing[0].since, bad[failing[0].check.name.lower()][1], bad


def against(
    ledger: ChangeLedger, live: LiveState | None, services: Mapping[str, str] | None = None
) -> ChangeLedger:
    """The ledger with its suspects ranked against the live state's onset now (none without a live state)."""
    moment, words, failing = onset(live, services) if live is not None else (None, "", {})
    return replace(ledger, onset=moment, onset_words=words, suspects=rank(ledger.changes, moment, words, failing))


def rank(
    changes: Sequence[Change], moment: datetime | None, words: str, failing: Failing
) -> dict[tuple[str, str], Suspect]:
    """The suspects among `changes` against the onset `moment` (described by `words`), keyed by change key. A
    change whose service is failing is judged against when its service first went bad (`failing`), which is what
    it could have caused; the others against the onset."""
    if moment is None:
        return {}
    scored: list[tuple[float, Change, str]] = []
    for change in changes:
        judged = _judge(change, changes, moment, words, failing)
        if judged is not None:
            scored.append((judged[0], change, judged[1]))
    scored.sort(key=lambda item: (-item[0], -item[1].when.timestamp()))
    return {change.key: Suspect(n, score, reason) for n, (score, change, reason) in enumerate(scored, 1)}


def _judge(
    change: Change, changes: Sequence[Change], moment: datetime, words: str, failing: Failing
) -> tuple[float, str] | None:
    if change.live_known and change.live_at is None:
        return None  # known not to be live yet
    served = _served(change.service, failing) if change.service else None
    if served is not None:
        moment, words = served
    before = (moment - change.when).total_seconds()
    if before < 0 or before > WINDOW.total_seconds():
        return None
    score = HALF / (HALF + before) * KIND_WEIGHT.get(change.kind, 0.6)
    ago = format_duration(before) if before >= 1 else "less than 1s"
    if change.live_known:
        parts = [f"{change.label} went live {ago} before {words}"]
    else:
        score *= UNKNOWN_LIVE
        parts = [f"{change.label} was made {ago} before {words} (not known when it went live)"]
    replaced_by = _replaced_by(change, changes, moment)
    if replaced_by is not None:
        score *= REPLACED
        parts.append(f"no longer live at the onset ({replaced_by.label} replaced it)")
    if change.service:
        if served is not None or not failing:  # nothing failing (an incident alone): no judgement
            parts.append(f"on {change.service}")
        else:
            score *= OTHER_SERVICE
            parts.append(f"on {change.service}, which is not failing")
    else:
        score *= NO_SERVICE
    parts.append(f"a {change.kind}")
    if change.author:
        parts.append(f"by {change.author}")
    return round(min(max(score, 0.0), 1.0), 3), ", ".join(parts)


def _replaced_by(change: Change, changes: Sequence[Change], moment: datetime) -> Change | None:
    """The change of the same source, service and kind that took effect after it and before the onset, if any."""
    newer = [
        c
        for c in changes
        if (c.source, c.service, c.kind) == (change.source, change.service, change.kind)
        and change.when < c.when <= moment
        and not (c.live_known and c.live_at is None)
    ]
    return min(newer, key=lambda c: c.when, default=None)


def _served(service: str, failing: Failing) -> tuple[datetime, str] | None:
    """When the first failing check of `service` went bad (its name is the service or has it as a word, `api` in
    `api latency`, or its `service` is it), said; None when none is failing."""
    service = service.lower()
    found = [
        bad
        for name, bad in failing.items()
        if name == service or service in name.replace("-", " ").replace("_", " ").split()
    ]
    return min(found, default=None)
