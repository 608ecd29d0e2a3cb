"""The live state: latest model and checks per feed, changes, history and listeners (no Textual, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from console.clock import ManualClock
from console.live import LiveState, feed_key
from console.models import State
from console.models.health import MetricSnapshot
from console.models.logs import LogStats

START = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def metric(value: float, state: State) -> MetricSnapshot:
    return MetricSnapshot(name="error rate", state=state, value=value, unit="%", taken_at=START)


def test_updates_report_only_changes_and_keep_when_each_state_began() -> None:
    clock = ManualClock(START)
    live = LiveState(clock)
    first = live.update([metric(0.1, State.OK)])
    assert [(c.check.key, c.before) for c in first] == [("metric:error rate", None)]
    clock.advance(2)
    assert live.update([metric(0.2, State.OK)]) == []
    clock.advance(2)
    changes = live.update([metric(4.7, State.CRIT)])
    assert [(c.check.state, c.before) for c in changes] == [(State.CRIT, State.OK)]
    reading = live.reading("metric", "error rate")
    assert reading is not None
    assert (reading.since, reading.seen_at) == (clock.now(), clock.now())
    assert list(reading.history) == [0.1, 0.2, 4.7]
    assert live.check("metric", "error rate").number == 4.7
    assert live.model("metric:error rate").value == 4.7
    assert live.worst() is State.CRIT


def test_listeners_get_every_batch_until_they_unsubscribe() -> None:
    live = LiveState(ManualClock(START))
    seen: list[tuple[int, int]] = []
    unsubscribe = live.subscribe(lambda models, changes: seen.append((len(models), len(changes))))
    live.update([metric(0.1, State.OK), LogStats("app", lines=3)])
    live.update([metric(0.1, State.OK)])
    unsubscribe()
    live.update([metric(9, State.CRIT)])
    assert seen == [(2, 2), (1, 0)]


def test_checks_by_source_and_feed_keys() -> None:
    live = LiveState(ManualClock(START))
    live.update([metric(0.1, State.OK), LogStats("app", lines=3)])
    assert [c.key for c in live.checks()] == ["metric:error rate", "logs:app"]
    assert [c.key for c in live.checks("logs")] == ["logs:app"]
    assert feed_key(LogStats("worker")) == "logs:worker"
    assert live.check("redis", "ping") is None
    assert LiveState().worst() is State.UNKNOWN
