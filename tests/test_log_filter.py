"""Filter expressions and the merged, time-ordered view of several sources (pure functions, real parsed lines)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.clock import ManualClock
from console.config import LogSettings
from console.logfilter import FilterError, compile_filter, merge_by_time, trace_filter
from console.models.logs import LogLine
from console.sources.logs.parse import LineParser

START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def parse(name: str, texts: list[str], *, json_format: bool = False) -> list[LogLine]:
    settings = LogSettings(name=name, path=Path(f"{name}.log"), format="json" if json_format else "text")
    return LineParser(settings, ManualClock(START)).parse(texts)


TEXT = parse(
    "app",
    [
        "2024-05-01T12:00:01Z INFO GET /api/items 200 trace_id=aaa111",
        "2024-05-01T12:00:02Z ERROR POST /api/checkout 500 upstream Timeout trace_id=bbb222",
        "2024-05-01T12:00:03Z WARN slow query outcome=exception",
        "2024-05-01T12:00:04Z INFO GET /healthcheck 200",
    ],
)
WORKER = parse(
    "worker",
    [
        json.dumps({"level": "error", "message": "payment failed", "trace_id": "bbb222", "outcome": "exception"}),
        json.dumps({"level": "info", "message": "cache hit", "trace_id": "aaa111", "outcome": "ok"}),
        json.dumps({"level": "info", "message": "post", "event": {"request": {"method": "POST"}}, "outcome": "ok"}),
    ],
    json_format=True,
)
ALL = TEXT + WORKER


def kept(expression: str, lines: list[LogLine] = ALL) -> list[str]:
    query = compile_filter(expression)
    assert query is not None
    return [line.message for line in lines if query.matches(line)]


def test_plain_text_is_a_case_insensitive_regex_and_bang_inverts() -> None:
    assert kept("timeout") == ["POST /api/checkout 500 upstream Timeout trace_id=bbb222"]
    assert kept("GET /(api|health)") == ["GET /api/items 200 trace_id=aaa111", "GET /healthcheck 200"]
    assert kept("!healthcheck", TEXT) == [line.message for line in TEXT[:3]]


def test_an_invalid_regex_is_an_error_in_words_and_empty_means_no_filter() -> None:
    with pytest.raises(FilterError, match=r"^not a valid regular expression: missing \), unterminated subpattern"):
        compile_filter("(unclosed")
    with pytest.raises(FilterError, match="needs something to invert"):
        compile_filter("!")
    assert compile_filter("   ") is None


def test_level_filters_every_line_and_fields_filter_json_lines() -> None:
    assert kept("level=error") == ["POST /api/checkout 500 upstream Timeout trace_id=bbb222", "payment failed"]
    assert kept("level=WARNING") == ["slow query outcome=exception"]
    assert kept("outcome=exception") == ["slow query outcome=exception", "payment failed"]
    assert kept("event.request.method=post") == ["post"]
    assert kept("source!=app level=info") == ["cache hit", "post"]


def test_terms_and_text_combine_and_quoted_text_is_literal() -> None:
    assert kept("level=error payment") == ["payment failed"]
    assert kept('"/api/items 200"') == ["GET /api/items 200 trace_id=aaa111"]
    assert kept("!level=info") == [
        "POST /api/checkout 500 upstream Timeout trace_id=bbb222",
        "slow query outcome=exception",
        "payment failed",
    ]


def test_trace_filter_finds_one_request_in_every_source() -> None:
    assert [(line.source, line.message) for line in ALL if trace_filter("bbb222").matches(line)] == [
        ("app", "POST /api/checkout 500 upstream Timeout trace_id=bbb222"),
        ("worker", "payment failed"),
    ]
    assert kept("trace=AAA111") == ["GET /api/items 200 trace_id=aaa111", "cache hit"]


def test_spans_mark_where_the_text_matches_for_highlighting() -> None:
    query = compile_filter("level=error o")
    assert query is not None
    assert query.spans("foo boo") == [(1, 2), (2, 3), (5, 6), (6, 7)]
    inverted = compile_filter("!foo")
    assert inverted is not None and inverted.spans("foo") == []


def test_merge_orders_by_time_and_keeps_untimed_lines_after_their_parent() -> None:
    app = parse(
        "app",
        [
            "2024-05-01T12:00:01Z INFO one",
            "2024-05-01T12:00:04Z ERROR four: crash",
            "    at frame a",
            "    at frame b",
            "2024-05-01T12:00:06Z INFO six",
        ],
    )
    worker = parse(
        "worker",
        [
            json.dumps({"time": "2024-05-01T12:00:02Z", "level": "info", "message": "two"}),
            json.dumps({"time": "2024-05-01T12:00:04Z", "level": "info", "message": "four too"}),
            json.dumps({"time": 1714564805, "level": "info", "message": "five"}),
        ],
        json_format=True,
    )
    merged = merge_by_time(app, worker)
    assert [(line.source, line.message) for line in merged] == [
        ("app", "one"),
        ("worker", "two"),
        ("app", "four: crash"),
        ("app", "    at frame a"),
        ("app", "    at frame b"),
        ("worker", "four too"),
        ("worker", "five"),
        ("app", "six"),
    ]


def test_lines_without_any_time_keep_arrival_order() -> None:
    first = parse("cmd", ["no time a", "no time b"])
    second = parse("other", ["no time c"])
    assert [line.text for line in merge_by_time(first, second)] == ["no time a", "no time b", "no time c"]
