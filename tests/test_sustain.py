"""Sustained thresholds (`for`, `clear_for`) and warn + crit thresholds for PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console import config as cfg
from console.clock import ManualClock
from console.config import ConfigError
from console.journal import Journal
from console.live import LiveState
from console.models import State
from console.models.health import MetricSnapshot, threshold_state
from console.models.postgres import PgThresholds, PostgresSnapshot
from console.models.redis import RedisSnapshot
from console.observer import Observer
from console.sources.base import sustain_rules
from console.sustain import Sustain

START = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
METRIC = """
[console]
refresh = "10s"

[[metric]]
name = "error rate"
url = "http://127.0.0.1:9/m"
path = "errors"
warn = 2
crit = 5
for = "5m"
clear_for = "2m"
"""


def reading(value: float) -> MetricSnapshot:
    state, reason = threshold_state(value, 2, 5)
    return MetricSnapshot(name="error rate", state=state, reason=reason, value=value, warn=2, crit=5, taken_at=START)


def test_a_value_hovering_at_a_threshold_journals_one_observation(tmp_path: Path) -> None:
    clock = ManualClock(START)
    live = LiveState(clock, Sustain(sustain_rules(cfg.loads(METRIC))))
    journal = Journal(tmp_path / "journal.jsonl", environment="test", clock=clock.now)
    observer = Observer(journal)
    shown = []
    for step in range(90):  # 15 minutes at 10 s: flapping for 5, crit for 5, flapping around ok for 5
        value = (6.0 if step % 2 else 1.0) if step < 30 else 7.0 if step < 60 else (6.0 if step % 3 == 0 else 1.0)
        asyncio.run(observer.record(live.update([reading(value)])))
        shown.append(live.check("metric", "error rate"))
        clock.advance(10)
    observations = [e for e in journal.entries() if e["kind"] == "observation"]
    assert [(e["data"]["from"], e["data"]["state"]) for e in observations] == [("ok", "crit")]
    assert shown[58].state is State.OK and shown[58].reason.startswith("CRIT pending 4m/5m")
    assert shown[59].state is State.CRIT and shown[89].state is State.CRIT  # never 2 min below crit in a row
    assert live.model("metric:error rate").state is State.CRIT  # the tile shows the judged state too


def test_a_pending_state_reads_in_the_reason_and_clears_after_clear_for() -> None:
    clock = ManualClock(START)
    live = LiveState(clock, Sustain(sustain_rules(cfg.loads(METRIC))))
    live.update([reading(1)])
    for _ in range(12):
        clock.advance(10)
        changes = live.update([reading(9)])
    check = live.check("metric", "error rate")
    assert changes == [] and check.state is State.OK and check.number == 9
    assert check.reason.startswith("CRIT pending 1m/5m · above crit 5")
    clock.advance(190)
    assert [c.check.state for c in live.update([reading(9)])] == [State.CRIT]
    clock.advance(60)
    live.update([reading(3)])  # warn is better than crit: clear_for applies
    assert live.check("metric", "error rate").reason.startswith("WARN pending 0s/2m")
    clock.advance(120)
    assert [(c.check.state, c.before) for c in live.update([reading(1)])] == [(State.WARN, State.CRIT)]
    clock.advance(120)
    assert [c.check.state for c in live.update([reading(1)])] == [State.OK]


def test_a_check_without_for_changes_at_once_and_a_first_sighting_is_taken_as_is() -> None:
    clock = ManualClock(START)
    live = LiveState(clock, Sustain(sustain_rules(cfg.loads(METRIC))))
    assert [c.check.state for c in live.update([reading(9)])] == [State.CRIT]
    plain = LiveState(clock)
    plain.update([reading(1)])
    assert [c.check.state for c in plain.update([reading(9)])] == [State.CRIT]


def test_postgres_and_redis_take_a_section_wide_for() -> None:
    config = cfg.loads(
        '[postgres]\ndsn = "postgresql://a@h/db"\nfor = "1m"\n[redis]\nurl = "redis://h"\nclear_for = "30s"\n'
    )
    rules = sustain_rules(config)
    assert (rules["postgres"].for_s, rules["postgres"].clear_s) == (60, 60)
    assert (rules["redis"].for_s, rules["redis"].clear_s) == (0, 30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[health]]\nname = "api"\nurl = "http://h/"\nfor = "1s"\n', r"health\[0\]\.for 1s is shorter than the 2s"),
        (
            '[[health]]\nname = "api"\nurl = "http://h/"\ninterval = "1m"\nclear_for = "30s"\n',
            r"health\[0\]\.clear_for 30s is shorter than the 1m 00s",
        ),
        ('[redis]\nurl = "redis://h"\nfor = "1s"\n', r"redis\.for 1s is shorter"),
        ('[[metric]]\nname = "m"\nurl = "http://h/"\npath = "x"\nfor = "soon"\n', "for"),
        ('[postgres]\ndsn = "postgresql://h/db"\npool_crit_pct = 70\n', "pool_crit_pct 70 must be above pool_warn"),
        ('[redis]\nurl = "redis://h"\nhit_rate_crit_pct = 95\n', "hit_rate_crit_pct 95 must be below"),
        ('[redis]\nurl = "redis://h"\nmemory_warn_pct = 96\n', "memory_crit_pct 95 must be above memory_warn_pct 96"),
    ],
)
def test_sustain_and_threshold_mistakes_are_one_line_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        cfg.loads(text)
    assert "\n" not in str(caught.value)


def test_postgres_pool_has_warn_and_crit() -> None:
    def state(pct: int) -> State:
        snap = PostgresSnapshot(
            state=State.OK,
            max_connections=100,
            connections={"active": pct},
            thresholds=PgThresholds(pool_warn_pct=60, pool_crit_pct=75),
        )
        return next(c for c in snap.checks() if c.name == "connections").state

    assert [state(50), state(60), state(74), state(75)] == [State.OK, State.WARN, State.WARN, State.CRIT]


def test_redis_hit_ratio_and_memory_have_warn_and_crit() -> None:
    def checks(ratio: float, used: int) -> dict[str, State]:
        snap = RedisSnapshot(
            state=State.OK,
            hit_ratio_since_start=ratio,
            used_memory=used,
            max_memory=100,
            hit_rate_warn_pct=90,
            hit_rate_crit_pct=70,
            memory_warn_pct=50,
            memory_crit_pct=80,
        )
        return {c.name: c.state for c in snap.checks()}

    assert checks(0.95, 10) == {"ping": State.OK, "memory": State.OK, "hit ratio": State.OK}
    assert checks(0.80, 60) == {"ping": State.OK, "memory": State.WARN, "hit ratio": State.WARN}
    assert checks(0.50, 85) == {"ping": State.OK, "memory": State.CRIT, "hit ratio": State.CRIT}
    defaults = cfg.loads('[redis]\nurl = "redis://h"\n').redis
    assert (defaults.memory_warn_pct, defaults.memory_crit_pct, defaults.hit_rate_crit_pct) == (85, 95, None)


def pg_up(active: int) -> PostgresSnapshot:
    return PostgresSnapshot(
        state=State.OK, server_version="15.4", max_connections=100, connections={"active": active}, taken_at=START
    ).judged()


def test_a_postgres_outage_is_held_by_for_and_the_pane_keeps_its_last_reading() -> None:
    clock = ManualClock(START)
    live = LiveState(clock, Sustain(sustain_rules(cfg.loads('[postgres]\ndsn = "postgresql://a@h/db"\nfor = "1m"\n'))))
    live.update([pg_up(10)])
    down = PostgresSnapshot(state=State.DOWN, reason="connection refused")
    for seconds in (10, 30):
        clock.advance(seconds)
        assert live.update([down]) == []
    shown = live.model("postgres")
    assert shown.state is State.OK and shown.connections == {"active": 10}  # the last reading, not an empty pane
    assert shown.held == "connection DOWN pending 30s/1m"
    assert live.check("postgres", "connection").state is State.OK
    clock.advance(30)
    assert [(c.check.name, c.check.state, c.before) for c in live.update([down])] == [
        ("connection", State.DOWN, State.OK)
    ]
    assert live.model("postgres").state is State.DOWN and live.model("postgres").held == ""


def test_a_held_crossing_shows_the_new_reading_with_the_old_state_and_what_is_pending() -> None:
    clock = ManualClock(START)
    live = LiveState(clock, Sustain(sustain_rules(cfg.loads('[postgres]\ndsn = "postgresql://a@h/db"\nfor = "1m"\n'))))
    live.update([pg_up(10)])
    clock.advance(20)
    live.update([pg_up(95)])
    shown = live.model("postgres")
    assert (shown.state, shown.connections, shown.held) == (State.OK, {"active": 95}, "connections CRIT pending 0s/1m")
    clock.advance(60)
    live.update([pg_up(95)])
    assert (live.model("postgres").state, live.model("postgres").held) == (State.CRIT, "")


def test_a_redis_outage_is_held_by_for() -> None:
    clock = ManualClock(START)
    live = LiveState(clock, Sustain(sustain_rules(cfg.loads('[redis]\nurl = "redis://h"\nfor = "20s"\n'))))
    up = RedisSnapshot(state=State.OK, ping_ms=0.3, used_memory=1024, taken_at=START).evaluated()
    live.update([up])
    clock.advance(10)
    live.update([RedisSnapshot(state=State.DOWN, reason="connection refused")])
    shown = live.model("redis")
    assert (shown.state, shown.ping_ms, shown.held) == (State.OK, 0.3, "ping DOWN pending 0s/20s")
    clock.advance(20)
    live.update([RedisSnapshot(state=State.DOWN, reason="connection refused")])
    assert live.model("redis").state is State.DOWN
