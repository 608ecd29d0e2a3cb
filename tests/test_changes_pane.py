"""The Changes pane: snapshots at 80x24 and 160x50 with a fixed ledger (suspects marked, a source that failed), its
key from the registry, `enter` on a change, and hostile text from a source shown escaped."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from test_dashboard_snapshots import CONFIG, MODELS, NOW

from actions.registry import build_runner
from console import config as cfg
from console.changes.model import Change, ChangeLedger
from console.changes.suspects import rank
from console.clock import ManualClock
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from console.tui.screens.detail import DetailScreen
from tests.helpers import painted, until
from widgets.changes_pane import ChangesPane

CHANGES = """
[[changes]]
name = "releases"
kind = "http"
url = "http://127.0.0.1:9/api/releases"
items = "releases"
service = "api"
map = { id = "version", version = "version", time = "deployed_at", live_at = "deployed_at", author = "by" }
"""


def ledger(summary: str = "faster checkout", now: datetime = NOW) -> ChangeLedger:
    """v1.2.3 went live 12 minutes before `now`, 2 before the onset; a setting changed; v1.2.2 two days before."""

    def ago(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    by = "ci@example.com"
    changes = (
        Change("v1.2.3", "releases", "deploy", ago(14), ago(12), "api", "v1.2.3", summary, by, None, True),
        Change("wm", "postgres:settings", "config", ago(30), ago(30), None, "65536", "work_mem 4096 → 65536"),
        Change("v1.2.2", "releases", "deploy", ago(2880), ago(2880), "api", "v1.2.2", "", by, None, True),
    )
    onset = ago(10)
    said = "the first CRIT (metric error rate)"
    suspects = rank(changes, onset, said, {"api": (onset, said), "error rate": (onset, said)})
    errors = (("workers", "wrangler exited 1: Authentication error [code: 10000]"),)
    return ChangeLedger(changes, errors, onset, "the first CRIT (metric error rate)", suspects)


def make_app(tmp_path: Path) -> ConsoleApp:
    text = CONFIG.format(environment="production", journal=tmp_path / "journal.jsonl", read_only="false") + CHANGES
    config = cfg.loads(text, source=Path("/etc/incident-console/config.toml"), environ={})
    clock = ManualClock(NOW)
    return ConsoleApp(config, build_runner(config, clock=clock.now), clock=clock, feeds=Feeds())


async def feed(pilot) -> None:
    pilot.app.live.update([*MODELS, ledger()])
    titles = [pane.title for pane in pilot.app.dashboard.panes]  # built from the registry's rows
    await pilot.press(str(titles.index("Changes") + 1))  # a pane's key is its place
    pane = pilot.app.dashboard.query_one(ChangesPane)
    await until(lambda: pane.has_focus_within and "v1.2.3 went live" in painted(pilot.app), what="the changes")


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_changes_pane(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=size, run_before=feed)


async def test_the_pane_lists_newest_first_marks_suspects_and_opens_a_change(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot)
        pane = app.dashboard.query_one(ChangesPane)
        screen = painted(app)
        assert "▲ 2 suspects · top (0.83): v1.2.3 went live" in screen  # cut to the pane's width
        assert "✗ workers: wrangler exited 1: Authentication" in screen
        rows = [line for line in screen.splitlines() if "v1.2." in line or "work_mem" in line]
        assert [("▲1" in r, "v1.2.3" in r, "work_mem" in r, "v1.2.2" in r) for r in rows[1:]] == [
            (True, True, False, False),
            (False, False, True, False),
            (False, False, False, True),
        ], rows
        assert pane.has_focus_within
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        detail = painted(app)
        assert "suspect #1" in detail and "version: v1.2.3" in detail
        assert "v1.2.3 went live 2m 00s before the first CRIT" in detail


async def test_hostile_text_from_a_source_is_escaped(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)):
        app.live.update([*MODELS, ledger("[bold red]pwned[/] \x1b]0;title\x07")])
        await until(lambda: "pwned" in painted(app), what="the change painted")
        screen = painted(app)
        assert "[bold red]pwned[/]" in screen and "\x1b" not in screen
