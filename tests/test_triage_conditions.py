"""The triage condition language: parser (hostile input included), three-valued evaluation, sustained conditions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.clock import ManualClock
from console.live import LiveState
from console.models import State
from console.models.health import HealthSnapshot, MetricSnapshot
from console.models.logs import LogStats
from console.models.postgres import PostgresSnapshot
from console.models.redis import RedisSnapshot
from console.triage.conditions import (
    Compare,
    ConditionError,
    Logic,
    Not,
    Quantified,
    StateTest,
    Truth,
    evaluate,
    names,
    parse,
)
from console.triage.sustained import Sustained

START = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def health(name: str, state: State, latency: float | None = 120.0) -> HealthSnapshot:
    return HealthSnapshot(name=name, url="http://x", state=state, latency_ms=latency, taken_at=START)


def metric(value: float | None, state: State) -> MetricSnapshot:
    return MetricSnapshot(name="error rate", state=state, value=value, unit="%", taken_at=START)


def postgres(total: int, max_connections: int = 100) -> PostgresSnapshot:
    return PostgresSnapshot(state=State.OK, max_connections=max_connections, connections={"active": total}).judged()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def live(clock: ManualClock) -> LiveState:
    state = LiveState(clock)
    state.update(
        [
            metric(4.7, State.CRIT),
            health("api", State.DOWN, None),
            health("web", State.OK),
            postgres(85),
            RedisSnapshot(state=State.OK, ping_ms=0.4, hit_ratio=0.8, lookups=1000),
            LogStats("app", errors_per_min=12.0, error_spike_per_min=30),
        ]
    )
    return state


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('metric."error rate" > 1', Compare("metric", "error rate", ">", 1.0, "")),
        ("health.api is down", StateTest("health", "api", False, "down")),
        ("health.api IS NOT ok", StateTest("health", "api", True, "ok")),
        ("postgres.connections >= 80%", Compare("postgres", "connections", ">=", 80.0, "%")),
        ("postgres.long-running > 0", Compare("postgres", "long-running", ">", 0.0, "")),
        ("health.api > 1.5s", Compare("health", "api", ">", 1.5, "s")),
        ("any health is down", Quantified("any", "health", False, "down")),
        ("all health is not unhealthy", Quantified("all", "health", True, "unhealthy")),
        (
            'not (logs.app > 10 or redis."hit ratio" < 90)\n and health.web is ok',
            Logic(
                "and",
                (
                    Not(
                        Logic(
                            "or", (Compare("logs", "app", ">", 10.0, ""), Compare("redis", "hit ratio", "<", 90.0, ""))
                        )
                    ),
                    StateTest("health", "web", False, "ok"),
                ),
            ),
        ),
    ],
)
def test_the_grammar(text: str, tree: object) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("", 1, 1, "empty condition"),
        ("   \n  ", 2, 3, "empty condition"),
        ('metric."error rate > 1', 1, 8, "unterminated quoted name"),
        ('metric."" > 1', 1, 8, "empty quoted name"),
        ("(health.api is down", 1, 20, "expected a closing parenthesis"),
        ("health.api is down)", 1, 19, "expected and, or or the end"),
        ("health.api => 1", 1, 12, "unknown operator '='"),
        ("health.api ~ 1", 1, 12, "unexpected character '~'"),
        ("health.api > 1 1", 1, 16, "expected and, or or the end"),
        ("health.api > 2x", 1, 14, "unknown unit"),
        ("health.api > 1.2.3", 1, 14, "malformed number"),
        ("health.api is sideways", 1, 15, "expected a state"),
        ("health.api", 1, 11, "expected a comparison or is"),
        ("disk.sda > 1", 1, 1, "expected a source"),
        ("health.api is down and\n  metric.é > 1", 2, 10, "unexpected character 'é'"),
        ('health."api" is down and ☃', 1, 26, "unexpected character '☃'"),
        ("any health > 1", 1, 12, "expected is"),
        ("(" * 500 + "health.api is ok" + ")" * 500, 1, 41, "nested more than 40 deep"),
        ("not " * 100 + "health.api is ok", 1, 161, "nested more than 40 deep"),
        ("health.api is ok or " * 300, 1, 1, "longer than"),
    ],
)
def test_hostile_input_is_one_error_with_line_and_column(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"line {line}, column {column}: ")


def test_names_lists_every_check_read() -> None:
    expr = parse('metric."error rate" > 1 and (any health is down or not postgres.blocked > 0)')
    assert names(expr) == [("metric", "error rate"), ("health", None), ("postgres", "blocked")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('metric."error rate" > 1', Truth.PASS),
        ('metric."error rate" <= 1', Truth.FAIL),
        ("health.api is down", Truth.PASS),
        ("health.api is not ok", Truth.PASS),
        ("health.api is unhealthy", Truth.PASS),
        ("health.web is unhealthy", Truth.FAIL),
        ("health.api > 100", Truth.UNKNOWN),  # down: no number to compare
        ("health.web > 0.1s", Truth.PASS),  # 120 ms > 100 ms
        ("health.missing is down", Truth.UNKNOWN),
        ("postgres.connections >= 80", Truth.PASS),
        ("postgres.connections is warn", Truth.PASS),
        ("postgres.blocked == 0", Truth.PASS),
        ('postgres."cache hit" > 90', Truth.UNKNOWN),  # never measured: unknown state
        ('redis."hit ratio" < 90', Truth.PASS),
        ("logs.app > 10", Truth.PASS),
        ("any health is down", Truth.PASS),
        ("all health is ok", Truth.FAIL),
        ("any metric is crit", Truth.PASS),
        ("not health.missing is down", Truth.UNKNOWN),
        ("health.missing is down and health.web is down", Truth.FAIL),
        ("health.missing is down and health.web is ok", Truth.UNKNOWN),
        ("health.missing is down or health.web is ok", Truth.PASS),
        ("health.missing is down or health.web is down", Truth.UNKNOWN),
        ("not (health.api is down)", Truth.FAIL),
    ],
)
def test_three_valued_evaluation(live: LiveState, text: str, value: Truth) -> None:
    assert evaluate(text, live).value is value


def test_evidence_is_in_words(live: LiveState) -> None:
    result = evaluate('metric."error rate" > 1 and health.api is down', live)
    assert result.evidence == ("metric error rate 4.7% (crit) > 1", "health api - (down) is down")
    assert "no reading" in evaluate("redis.nothing > 1", live).text
    assert "no number to compare" in evaluate("health.api > 1", live).text
    failing = evaluate("health.api is down and health.web is down", live)
    assert failing.value is Truth.FAIL
    assert failing.evidence == ("health web 120 ms (ok) is not down",)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("health.web is unhealthy", "health web 120 ms (ok) is not unhealthy"),
        ("health.web is not ok", "health web 120 ms (ok) is ok"),
        ("not health.web is ok", "health web 120 ms (ok) is ok"),
        ('metric."error rate" < 1', "metric error rate 4.7% (crit) >= 1"),
        ("postgres.blocked != 0", "postgres blocked 0 (ok) == 0"),
    ],
)
def test_a_failed_test_is_worded_as_what_holds(live: LiveState, text: str, words: str) -> None:
    result = evaluate(text, live)
    assert result.value is Truth.FAIL and result.text == words


def test_an_unknown_state_never_passes_unless_asked_for(clock: ManualClock) -> None:
    live = LiveState(clock)
    live.update([metric(None, State.UNKNOWN)])
    assert evaluate('metric."error rate" is not ok', live).value is Truth.UNKNOWN
    assert evaluate('metric."error rate" is unknown', live).value is Truth.PASS
    assert evaluate("any health is down", live).value is Truth.UNKNOWN  # no health checks at all


def test_a_sustained_condition_passes_only_after_holding_for_its_duration(live: LiveState, clock: ManualClock) -> None:
    sustained = Sustained('metric."error rate" > 1', 300, clock)
    first = sustained.poll(live)
    assert (first.value, first.waiting, first.since) == (Truth.UNKNOWN, True, START)
    clock.advance(299)
    assert sustained.poll(live).waiting
    clock.advance(1)
    held = sustained.poll(live)
    assert held.value is Truth.PASS and held.held_s == 300
    assert "held 5m 00s" in held.text
    live.update([metric(0.2, State.OK)])  # a dip resets it
    assert sustained.poll(live).value is Truth.FAIL
    live.update([metric(4.0, State.CRIT)])
    clock.advance(60)
    assert sustained.poll(live).since == clock.now()


@pytest.mark.parametrize(
    "text",
    [
        'metric."error rate" > 1',
        'metric."error rate" <= 1 and not health.api is down',
        "any health is down or all metric is ok",
        "all health is not ok",
        "any health is unhealthy and (metric.missing > 3 or health.api is warn)",
        "not (health.api is unknown)",
        "any redis is down",
        "health.nowhere is ok or metric.\"error rate\" >= 0.5",
    ],
)
def test_the_fast_value_agrees_with_the_worded_evaluation(text: str) -> None:
    from console.triage.truth import truth

    for states in ((State.OK, State.OK), (State.DOWN, State.CRIT), (State.UNKNOWN, State.WARN), (State.WARN, State.OK)):
        live = LiveState()
        live.update(
            [
                HealthSnapshot(name="api", url="u", state=states[0], taken_at=START, latency_ms=12.0),
                HealthSnapshot(name="web", url="u", state=states[1], taken_at=START, latency_ms=30.0),
                MetricSnapshot(name="error rate", state=states[1], value=0.7, unit="%", taken_at=START),
            ]
        )
        assert truth(text, live) is evaluate(text, live).value, (text, states)
