"""The log pane and view: snapshots with fixed lines, and keyboard flows (f, /, n/N, T, y) driven by Pilot."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from textual.app import App, ComposeResult

from console.clock import ManualClock
from console.config import LogSettings
from console.models import State
from console.models.logs import LogLine, LogStats
from console.sources.logs.parse import LineParser
from tests.helpers import painted, settle, terminal_output
from widgets.log_pane import LogPane
from widgets.log_store import SWEEP_AFTER, LogStore
from widgets.log_view import FOLLOW_INTERVAL, LogView
from widgets.messages import DetailRequested, FilterRequested

START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"


def parse(name: str, texts: list[str], *, json_format: bool = False) -> list[LogLine]:
    settings = LogSettings(name=name, path=Path(f"{name}.log"), format="json" if json_format else "text")
    return LineParser(settings, ManualClock(START)).parse(texts)


def app_lines(count: int, start: float = 0) -> list[str]:
    out = []
    for i in range(count):
        at = stamp(start + i)
        if i % 10 == 7:
            out.append(f"{at} ERROR POST /api/checkout 500 {900 + i}ms upstream timeout trace_id=t{i:04d}")
        elif i % 10 == 3:
            out.append(f"{at} WARN GET /api/search 200 {400 + i}ms slow response")
        else:
            out.append(f"{at} INFO GET /api/items/{i} 200 {i % 50}ms trace_id=t{i:04d}")
    return out


def worker_lines(indexes: list[int]) -> list[str]:
    return [
        json.dumps(
            {
                "time": stamp(i + 0.5),
                "level": "error",
                "message": f"payment provider did not answer (request {i})",
                "trace_id": f"t{i:04d}",
                "outcome": "exception",
            }
        )
        for i in indexes
    ]


SNAPSHOT_STATS = [
    LogStats("app", lines=115, errors_per_min=42, status="following /var/log/app/app.log"),
    LogStats(
        "worker",
        lines=12,
        errors_per_min=3.5,
        status="command exited 1, restarting in 4s",
        exit_code=1,
        source_state=State.WARN,
    ),
]


class PaneApp(App):
    """Hosts a LogPane and feeds it fixed batches; records the requests the pane posts."""

    def __init__(
        self,
        sources: list[str],
        batches: list[list[LogLine]],
        *,
        max_lines: int = 100_000,
        stats: list[LogStats] | None = None,
    ) -> None:
        super().__init__()
        self.sources = sources
        self.batches = batches
        self.max_lines = max_lines
        self.stats = stats
        self.requests: list[object] = []

    def compose(self) -> ComposeResult:
        yield LogPane(self.sources, max_lines=self.max_lines)

    def on_mount(self) -> None:
        pane = self.query_one(LogPane)
        for batch in self.batches:
            pane.append(batch)
        if self.stats:
            pane.update_stats(self.stats)
        pane.view.focus()

    def on_filter_requested(self, message: FilterRequested) -> None:
        self.requests.append(message)

    def on_detail_requested(self, message: DetailRequested) -> None:
        self.requests.append(message)

    def on_log_view_trace_followed(self, message: LogView.TraceFollowed) -> None:
        self.requests.append(message)

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)


def snapshot_app() -> PaneApp:
    app = parse("app", [*app_lines(115), "2024-05-01T12:01:55.000Z WARN bad input \x1b]52;c;ZXZpbA==\x07 \x1b[2J"])
    worker = parse("worker", worker_lines([97, 107]), json_format=True)
    return PaneApp(["app", "worker"], [app, worker], max_lines=110, stats=SNAPSHOT_STATS)


def test_log_pane_80x24(snap_compare) -> None:
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=partial(settle, timers=FOLLOW_INTERVAL))


def test_log_pane_160x50(snap_compare) -> None:
    assert snap_compare(snapshot_app(), terminal_size=(160, 50), run_before=partial(settle, timers=FOLLOW_INTERVAL))


async def test_escape_sequences_in_lines_never_reach_the_terminal() -> None:
    lines = parse("app", ["evil \x1b]52;c;ZXZpbA==\x07 then \x1b[2J and \x9b31m c1"])
    app = PaneApp(["app"], [lines])
    async with app.run_test(size=(100, 10)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        output = terminal_output(app)
        shown = painted(app)
        screenshot = app.export_screenshot()
    assert "evil \\x1b]52;c;ZXZpbA==\\x07 then \\x1b[2J and \\x9b31m c1" in shown
    assert "\x1b]52" not in output and "\x1b[2J" not in output and "\x9b" not in output
    assert "\x07" not in output
    assert "\\x1b]52;c;ZXZpbA==\\x07" in screenshot


async def test_f_pauses_and_resumes_following() -> None:
    app = PaneApp(["app"], [parse("app", app_lines(40))])
    async with app.run_test(size=(100, 16)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        assert "GET /api/items/39 " in painted(app)
        await pilot.press("f")
        assert "⏸ PAUSED" in str(app.view.border_subtitle)
        app.view.append(parse("app", app_lines(5, start=100)))
        await settle(pilot, FOLLOW_INTERVAL)
        assert "GET /api/items/39 " in painted(app)
        assert "12:01:4" not in painted(app)
        await pilot.press("f")
        await settle(pilot, FOLLOW_INTERVAL)
        assert "▶ FOLLOW" in str(app.view.border_subtitle)
        assert "12:01:44 INFO  GET /api/items/4 " in painted(app)


async def test_right_and_left_scroll_lines_wider_than_the_view_that_has_no_scrollbar_row() -> None:
    wide = [f"{stamp(i)} INFO GET /api/items/{i} 200 {'x' * 90} end-of-line-{i}" for i in range(30)]
    app = PaneApp(["app"], [parse("app", wide)])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "end-of-line-29" not in painted(app)
        assert "cols 1-" in str(app.view.border_subtitle)
        rows = painted(app).splitlines()
        last_row = rows[next(y for y, row in enumerate(rows) if "FOLLOW" in row) - 1]  # above the bottom border
        assert "items/29 " in last_row, last_row  # the last line: no scrollbar row under it
        for _ in range(80):
            await pilot.press("right")
        await settle(pilot)
        assert "end-of-line-29" in painted(app)
        assert "cols 1-" not in str(app.view.border_subtitle)
        for _ in range(80):
            await pilot.press("left")
        await settle(pilot)
        assert "end-of-line-29" not in painted(app) and "cols 1-" in str(app.view.border_subtitle)


async def test_f_pauses_on_the_lines_last_drawn_though_the_full_ring_dropped_lines_since() -> None:
    app = PaneApp(["app"], [parse("app", app_lines(150))], max_lines=100)
    async with app.run_test(size=(100, 16)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        drawn = painted(app)
        assert "GET /api/items/149 " in drawn
        app.view.append(parse("app", app_lines(30, start=600)))  # 30 lines leave the top before the next paint
        app.view.action_toggle_follow()  # `f` before that paint
        await settle(pilot, FOLLOW_INTERVAL)
        assert "⏸ PAUSED" in str(app.view.border_subtitle)
        paused = painted(app)
        assert "12:10:" not in paused
        assert re.findall(r"\d\d:\d\d:\d\d .*? \d+ms", paused) == re.findall(r"\d\d:\d\d:\d\d .*? \d+ms", drawn)


async def test_slash_asks_for_a_filter_and_a_bad_regex_is_reported_without_changing_anything() -> None:
    app = PaneApp(["app"], [parse("app", app_lines(40))])
    async with app.run_test(size=(100, 16)) as pilot:
        await pilot.press("slash")
        await settle(pilot, FOLLOW_INTERVAL)
        assert [type(r) for r in app.requests] == [FilterRequested]
        assert app.requests[0].control is app.view and app.requests[0].current == ""
        assert app.view.set_filter("level=error") is None
        await settle(pilot, FOLLOW_INTERVAL)
        assert {line.level for line in app.view.lines} == {"error"}
        assert len(app.view.lines) == 4
        assert "4 of 40 lines" in str(app.view.border_subtitle)
        error = app.view.set_filter("(timeout")
        assert error is not None and error.startswith("not a valid regular expression: missing )")
        await settle(pilot, FOLLOW_INTERVAL)
        assert len(app.view.lines) == 4
        await pilot.press("slash")
        assert app.requests[-1].current == "level=error"
        assert app.view.set_filter("!level=info") is None
        assert len(app.view.lines) == 8


async def test_n_and_shift_n_jump_between_matches_showing_the_lines_around_them() -> None:
    app = PaneApp(["app"], [parse("app", app_lines(60))])
    async with app.run_test(size=(100, 16)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        app.view.set_filter("checkout")
        await settle(pilot, FOLLOW_INTERVAL)
        assert len(app.view.lines) == 6
        await pilot.press("n")
        await settle(pilot, FOLLOW_INTERVAL)
        assert len(app.view.lines) == 60
        assert app.view.current_line.text.startswith(stamp(57))
        await pilot.press("N")
        await settle(pilot, FOLLOW_INTERVAL)
        assert app.view.current_line.text.startswith(stamp(47))
        text = painted(app)
        assert "GET /api/items/46 " in text and "GET /api/items/48 " in text
        assert "find (n/N): checkout" in str(app.view.border_title)
        for _ in range(4):
            await pilot.press("N")
        assert app.view.current_line.text.startswith(stamp(7))
        await pilot.press("N")
        assert app.view.current_line.text.startswith(stamp(7))
        await pilot.press("n")
        assert app.view.current_line.text.startswith(stamp(17))


async def test_shift_t_follows_the_trace_id_of_the_line_across_sources_and_again_clears() -> None:
    worker = parse("worker", worker_lines([17, 27]), json_format=True)
    app = PaneApp(["app", "worker"], [parse("app", app_lines(30)), worker])
    async with app.run_test(size=(120, 20)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        await pilot.press("up", "up")
        assert app.view.current_line.trace_id == "t0027"
        await pilot.press("T")
        await settle(pilot, FOLLOW_INTERVAL)
        assert [(line.source, line.trace_id) for line in app.view.lines] == [("app", "t0027"), ("worker", "t0027")]
        text = painted(app)
        assert "app    POST /api/checkout 500 927ms upstream timeout trace_id=t0027" in text
        assert "worker payment provider did not answer (request 27)" in text
        assert "trace t0027" in str(app.view.border_title)
        await pilot.press("T")
        await settle(pilot, FOLLOW_INTERVAL)
        assert len(app.view.lines) == 32
        followed = [r.trace_id for r in app.requests if isinstance(r, LogView.TraceFollowed)]
        assert followed == ["t0027", None]


async def test_y_copies_the_current_line_and_enter_asks_for_its_detail() -> None:
    app = PaneApp(["worker"], [parse("worker", worker_lines([1, 2]), json_format=True)])
    async with app.run_test(size=(100, 12)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        await pilot.press("y")
        assert app.clipboard == app.view.lines[-1].text
        assert json.loads(app.clipboard)["message"] == "payment provider did not answer (request 2)"
        await pilot.press("enter")
        detail = app.requests[-1]
        assert isinstance(detail, DetailRequested)
        assert detail.title == "worker line 2"
        assert '  "outcome": "exception"' in detail.lines


async def test_the_ring_drops_the_oldest_lines_and_a_paused_view_stays_on_its_line() -> None:
    app = PaneApp(["app"], [parse("app", app_lines(250))], max_lines=100)
    async with app.run_test(size=(100, 16)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        assert len(app.view.lines) == 100 and app.view.dropped == 150
        assert "100 lines · 150 dropped" in str(app.view.border_subtitle)
        await pilot.press("home", *["down"] * 30)
        watched = app.view.current_line
        assert watched.text.startswith(stamp(180))
        app.view.append(parse("app", app_lines(20, start=300)))
        await settle(pilot, FOLLOW_INTERVAL)
        assert app.view.current_line.values is watched.values
        assert "GET /api/items/180 " in painted(app)
        assert app.view.dropped_by_source["app"] == 170


def test_a_flood_through_a_full_ring_never_piles_its_lines_up_for_the_garbage_collector() -> None:
    """A line dropped off a full ring counts as one object freed: with the console's thresholds the collector's
    count stood still while every new line waited in its youngest generation, up to a ring's worth, to be scanned
    at once (100,000 lines: 30-100 ms in benchmarks/logs.py). The store collects it every SWEEP_AFTER lines."""
    import gc

    from console.tui.collector import THRESHOLDS

    store = LogStore(40_000, merged=False)

    def add(first: int) -> None:
        texts = [f"line {seq}" for seq in range(first, first + 500)]
        store.add([LogLine("app", seq, START, text, text, order=seq) for seq, text in enumerate(texts, first)])

    before = gc.get_threshold()
    try:
        for first in range(0, 40_000, 500):
            add(first)
        gc.collect()  # the ring full of lines the collector has seen, as after the first seconds of a flood
        gc.set_threshold(*THRESHOLDS)
        waiting = []
        for first in range(40_000, 100_000, 500):
            add(first)
            waiting.append(len(gc.get_objects(generation=0)))
    finally:
        gc.set_threshold(*before)
    assert len(store.ring) == 40_000 and store.dropped == 60_000
    assert max(waiting) < SWEEP_AFTER + 2_000, max(waiting)


async def test_the_merged_view_orders_sources_by_time_and_tags_each_line() -> None:
    app_batch = parse("app", [f"{stamp(s)} INFO app at {s}" for s in (1, 3, 5)])
    worker_batch = parse(
        "worker",
        [json.dumps({"time": stamp(s), "level": "warn", "message": f"worker at {s}"}) for s in (2, 4)],
        json_format=True,
    )
    app = PaneApp(["app", "worker"], [app_batch, worker_batch])
    async with app.run_test(size=(100, 12)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        assert [line.message for line in app.view.lines] == [
            "app at 1",
            "worker at 2",
            "app at 3",
            "worker at 4",
            "app at 5",
        ]
        assert "12:00:02 WARN  worker worker at 2" in painted(app)


async def test_a_double_click_selects_the_view_and_a_triple_click_the_pane_without_leaving_the_app() -> None:
    app = PaneApp(["app"], [parse("app", app_lines(10))])
    async with app.run_test(size=(100, 16)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        await pilot.click(LogView, offset=(10, 3), times=2)
        await settle(pilot, FOLLOW_INTERVAL)
        assert app.is_running
        assert app.screen.get_selected_text() == "\n".join(rendered(app_lines(10)))
        await pilot.click(LogView, offset=(10, 3), times=3)
        await settle(pilot, FOLLOW_INTERVAL)
        assert app.is_running
        selected = app.screen.get_selected_text()
        assert selected == "\n".join(["● OK    app     0 err/min  10 lines  reading", *rendered(app_lines(10))])


async def test_a_mouse_drag_selects_text_across_lines_and_ctrl_c_copies_what_is_shown() -> None:
    app = PaneApp(["app"], [parse("app", app_lines(10))])
    async with app.run_test(size=(100, 16)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        await pilot.mouse_down(LogView, offset=(10, 3))  # line 2, on its level word (the border is at 0)
        await pilot.mouse_up(LogView, offset=(13, 5))  # line 4, end of its level word
        await pilot.press("ctrl+c")
        await settle(pilot, FOLLOW_INTERVAL)
        assert app.is_running
        lines = rendered(app_lines(10))
        assert app.clipboard == "\n".join([lines[2][9:], lines[3], lines[4][:13]])
        assert lines[4][:13] == "12:00:04 INFO"
        selection = app.screen.get_component_rich_style("screen--selection").bgcolor

        def highlighted(y: int) -> str:
            return "".join(seg.text for seg in app.view.render_line(y) if seg.style and seg.style.bgcolor == selection)

        assert [highlighted(y) for y in range(6)] == ["", "", lines[2][9:], lines[3], lines[4][:13], ""]
        await pilot.press("escape")
        assert app.screen.get_selected_text() is None and highlighted(3) == ""


async def test_a_selection_stays_on_its_lines_while_the_ring_drops_older_ones() -> None:
    texts = app_lines(40)
    lines = parse("app", texts)
    app = PaneApp(["app"], [lines[:20]], max_lines=20)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        await pilot.mouse_down(LogView, offset=(1, 6))  # line 5, from its start
        await pilot.mouse_up(LogView, offset=(8, 7))  # line 6, its time
        expected = "\n".join([rendered(texts)[5], rendered(texts)[6][:8]])
        assert app.screen.get_selected_text() == expected
        assert not app.view.following, "pressing the mouse pauses: the lines stay put while selecting"
        app.view.append(lines[20:23])
        await settle(pilot, FOLLOW_INTERVAL)
        assert app.screen.get_selected_text() == expected
        app.view.append(lines[23:40])
        await settle(pilot, FOLLOW_INTERVAL)
        assert app.screen.get_selected_text() is None


def test_the_view_reuses_no_name_textual_gives_a_meaning() -> None:
    """Textual calls query(), _render()... from its selection and copy paths: only its hooks may be overridden."""
    from textual.scroll_view import ScrollView

    class Bare(ScrollView, can_focus=True, inherit_bindings=False):
        """What Textual adds to any such subclass by itself (bindings, CSS and handler bookkeeping)."""

    hooks = {"__init__", "BINDINGS", "COMPONENT_CLASSES", "DEFAULT_CSS", "on_mount", "notify_style_update"}
    hooks |= {"render_line", "render_lines", "get_selection", "selection_updated"}
    hooks |= {"allow_horizontal_scroll", "watch_scroll_x"}  # "may be overridden"; the scroll_x watcher
    textual = set(dir(ScrollView)) | set(vars(ScrollView()))
    defined = (set(vars(LogView)) - set(vars(Bare))) | (set(vars(LogView(["a", "b"]))) - set(vars(ScrollView())))
    assert sorted(defined & textual - hooks) == []


def rendered(texts: list[str]) -> list[str]:
    """The lines of app_lines() as an unmerged view narrower than 100 cells shows them."""
    out = []
    for text in texts:
        stamp_, level, message = text.split(" ", 2)
        out.append(f"{stamp_[11:19]} {level:<5} {message}")
    return out


async def test_the_header_counts_the_first_batch_before_the_first_stats_tick() -> None:
    from textual.widgets import Static

    lines = parse("app", app_lines(45))
    worker = parse("worker", worker_lines([1, 2, 3]), json_format=True)
    app = PaneApp(["app", "worker", "audit"], [lines[:40], worker])
    async with app.run_test(size=(100, 16)) as pilot:
        await settle(pilot, FOLLOW_INTERVAL)
        pane = app.query_one(LogPane)
        header = str(pane.query_one(".log-pane--header", Static).render()).splitlines()
        assert header[0].split() == ["●", "OK", "app", "0", "err/min", "40", "lines", "reading"]
        assert header[1].split() == ["●", "OK", "worker", "0", "err/min", "3", "lines", "reading"]
        assert header[2].split() == ["?", "UNKNOWN", "audit", "0", "err/min", "0", "lines", "starting"]
        pane.append(lines[40:])
        pane.update_stats([LogStats("worker", lines=3, status="following worker.jsonl")])
        await settle(pilot, FOLLOW_INTERVAL)
        header = str(pane.query_one(".log-pane--header", Static).render()).splitlines()
        assert header[0].split()[-3:] == ["45", "lines", "reading"]  # counted until app's own tick
        pane.update_stats([LogStats("app", lines=46, status="following app.log")])
        await settle(pilot, FOLLOW_INTERVAL)
        header = str(pane.query_one(".log-pane--header", Static).render()).splitlines()
        assert header[0].split()[-4:] == ["46", "lines", "following", "app.log"]
