"""Snapshots of the dashboard and its modal screens, with a fixed clock and fixed models (no live polling)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Input

from actions.registry import build_runner
from console import config as cfg
from console.clock import ManualClock
from console.models import ConfirmLevel, Plan, Risk, State
from console.models.health import HealthSnapshot, MetricSnapshot
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from tests.helpers import painted, until

NOW = datetime(2026, 11, 23, 3, 4, 5, tzinfo=UTC)
CONFIG = """
[console]
environment = "{environment}"
journal = "{journal}"
read_only = {read_only}

[[health]]
name = "api"
url = "http://127.0.0.1:9/api/health"
[[health]]
name = "database"
url = "http://127.0.0.1:9/api/health/db"
[[health]]
name = "cache"
url = "http://127.0.0.1:9/api/health/cache"

[[metric]]
name = "error rate"
url = "http://127.0.0.1:9/api/metrics/errors"
path = "errorRate"
unit = "%"
warn = 0.5
crit = 1.0
[[metric]]
name = "p95 latency"
url = "http://127.0.0.1:9/api/metrics/latency"
path = "p95"
unit = "ms"
[[metric]]
name = "cache hit rate"
url = "http://127.0.0.1:9/api/metrics/cache"
path = "hitRate"
unit = "%"
below = true

[actions.rollback]
command = ["./scripts/rollback.sh", "--environment", "{{environment}}", "--version", "{{version}}"]
params = {{ version = "release to roll back to, e.g. v1.2.2" }}
risk = "destructive"
"""

MODELS = [
    HealthSnapshot(
        name="api",
        url="",
        state=State.CRIT,
        reason="HTTP 503",
        status_code=503,
        latency_ms=1143,
        taken_at=NOW,
        history=[12, 14, 13, 40, 180, 600, 1143],
    ),
    HealthSnapshot(
        name="database",
        url="",
        state=State.WARN,
        reason="above warn 500 ms",
        latency_ms=612,
        taken_at=NOW,
        history=[5, 6, 80, 300, 612],
    ),
    HealthSnapshot(name="cache", url="", state=State.DOWN, reason="connection refused", taken_at=NOW),
    MetricSnapshot(
        name="error rate",
        state=State.CRIT,
        reason="above crit 1%",
        value=4.2,
        unit="%",
        warn=0.5,
        crit=1.0,
        taken_at=NOW,
        history=[0.1, 0.1, 0.4, 1.9, 4.2],
    ),
    MetricSnapshot(name="p95 latency", state=State.OK, value=183, unit="ms", taken_at=NOW, history=[180, 185, 183]),
    MetricSnapshot(name="cache hit rate", state=State.UNKNOWN, reason="no number at hitRate", unit="%", taken_at=NOW),
]


def make_app(
    tmp_path: Path, *, theme: str = "incident-dark", environment: str = "production", read_only: bool = False
) -> ConsoleApp:
    text = CONFIG.format(environment=environment, journal=tmp_path / "journal.jsonl", read_only=str(read_only).lower())
    config = cfg.loads(text, source=Path("/etc/incident-console/config.toml"), environ={})
    clock = ManualClock(NOW)
    return ConsoleApp(config, build_runner(config, clock=clock.now), clock=clock, theme=theme, feeds=Feeds())


def triage_judged(app: ConsoleApp) -> bool:
    """The triage controller's verdict on the live models is on the dashboard: it loads its playbooks in a thread
    after the first paint, then judges each update in a poll of its own (a bare pause raced them: the hint a
    snapshot shows would depend on the machine's load)."""
    return app.triage.loaded and app.dashboard.triage_hint.text == app.triage.hint()


async def feed_models(pilot) -> None:
    pilot.app.live.update(MODELS)
    await until(lambda: triage_judged(pilot.app), what="triage's verdict on the models")


@pytest.mark.parametrize("theme", ["incident-dark", "incident-mono"])
@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_dashboard(snap_compare, tmp_path: Path, theme: str, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(tmp_path, theme=theme), terminal_size=size, run_before=feed_models)


def test_dashboard_light_read_only_staging(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path, theme="incident-light", environment="staging", read_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=feed_models)


def test_dashboard_waiting_before_first_poll(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=(80, 24))


def steady_cursors(app) -> None:
    """A field's cursor blinks on a 0.5 s timer: on a loaded machine a screenshot came after a blink and missed it.
    Without the blink it shows, as it does when the field takes the focus."""
    for field in app.screen.query(Input):
        field.cursor_blink = False


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_action_form(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    async def open_form(pilot) -> None:
        pilot.app.request_action("rollback")
        await pilot.pause()
        steady_cursors(pilot.app)

    assert snap_compare(make_app(tmp_path), terminal_size=size, run_before=open_form)


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_action_preview_with_typed_confirmation(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    async def open_preview(pilot) -> None:
        pilot.app.request_action("rollback", {"version": "v1.2.2"})
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        steady_cursors(pilot.app)

    assert snap_compare(make_app(tmp_path), terminal_size=size, run_before=open_preview)


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_help(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=size, press=["question_mark"])


FULL = """
[postgres]
dsn = "postgresql://app@127.0.0.1:9/app"
[redis]
url = "redis://127.0.0.1:9/0"
[[logs]]
name = "app"
path = "/var/log/app/app.log"
[[logs]]
name = "worker"
path = "/var/log/app/worker.jsonl"
format = "json"
"""


def make_full_app(tmp_path: Path) -> ConsoleApp:
    text = CONFIG.format(environment="production", journal=tmp_path / "journal.jsonl", read_only="false") + FULL
    config = cfg.loads(text, source=Path("/etc/incident-console/config.toml"), environ={})
    clock = ManualClock(NOW)
    return ConsoleApp(config, build_runner(config, clock=clock.now), clock=clock, feeds=Feeds())


async def feed_every_pane(pilot) -> None:
    from test_log_view import SNAPSHOT_STATS, app_lines, parse, worker_lines
    from test_pg_widgets import sample_snapshot
    from test_redis_widgets import degraded

    from widgets.log_pane import LogPane
    from widgets.log_view import LogView

    await feed_models(pilot)
    app = pilot.app
    app.live.update([sample_snapshot(), degraded(), *SNAPSHOT_STATS])
    pane = app.dashboard.query_one(LogPane)
    pane.append(parse("app", app_lines(12)))
    pane.append(parse("worker", worker_lines([0, 1, 2, 3]), json_format=True))
    views = list(pane.query(LogView))
    await until(lambda: all(view.virtual_size.height == len(view.lines) for view in views), what="the lines painted")
    await until(lambda: triage_judged(app), what="triage's verdict on every pane's models")


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_dashboard_with_every_pane(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(make_full_app(tmp_path), terminal_size=size, run_before=feed_every_pane)


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_detail_screen(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    async def open_detail(pilot) -> None:
        from console.tui.screens.detail import DetailScreen

        lines = ["pid 4242 · app@app · api · 10.0.0.7", "", "SELECT o.id, o.total FROM orders o", "WHERE o.id = $1"]
        await pilot.app.push_screen(DetailScreen("Session 4242", lines))
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=size, run_before=open_detail)


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_filter_prompt_with_a_bad_regex(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    async def bad_filter(pilot) -> None:
        from console.tui.screens.prompt import PromptScreen

        await pilot.app.push_screen(
            PromptScreen(
                "Filter (regular expression; ! inverts; empty clears)",
                "(",
                apply=lambda text: "not a valid regular expression: missing )",
            )
        )
        # The field's cursor blinks on a 0.5 s timer: on a loaded machine the screenshot came after a blink and
        # missed it. Without the blink, the key below shows the cursor and it stays.
        pilot.app.screen.query_one(Input).cursor_blink = False
        await pilot.press("enter")
        await until(lambda: "missing )" in painted(pilot.app), what="the pattern's error")

    assert snap_compare(make_app(tmp_path), terminal_size=size, run_before=bad_filter)


WIDE_PLAN = Plan(
    action="kill-idle",
    risk=Risk.DESTRUCTIVE,
    params={"older_than": "1m"},
    summary="kill-idle on production: terminate 3 sessions idle or idle in transaction for more than 1m",
    columns=["pid", "user", "database", "application", "client", "state", "idle for", "last query"],
    rows=[
        [str(24600 + n), "app", "shop", "checkout-worker", "10.0.0.7", "idle in transaction", "1m 46s", "SELECT 1"]
        for n in range(3)
    ],
    confirm=ConfirmLevel.YES,
)


async def open_wide_preview(pilot) -> None:
    from console.tui.screens.action_run import ActionRunScreen

    await pilot.app.push_screen(ActionRunScreen(pilot.app.runner, WIDE_PLAN))
    await pilot.pause()
    await pilot.pause()


def test_a_preview_wider_than_the_dialog_says_it_scrolls_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=(80, 24), run_before=open_wide_preview)


async def test_a_preview_wider_than_the_dialog_scrolls_with_the_arrows(tmp_path: Path) -> None:
    from textual.containers import VerticalScroll

    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wide_preview(pilot)
        preview = app.screen.query_one("#preview", VerticalScroll)
        assert preview.border_subtitle == "▸ wider than the window: ← → scroll it"
        await pilot.press("right", "right")
        await pilot.pause()
        assert preview.scroll_x == 2
    async with make_app(tmp_path).run_test(size=(160, 50)) as pilot:
        await open_wide_preview(pilot)
        assert pilot.app.screen.query_one("#preview", VerticalScroll).border_subtitle == ""
