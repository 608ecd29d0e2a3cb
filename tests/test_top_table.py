"""The top lists pane: a `kind = "top"` metric's rows as a table on the dashboard, beside its tile."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from actions.registry import build_runner
from console import config as cfg
from console.clock import Clock
from console.models import State
from console.models.top import TopSnapshot
from console.sources.base import build_feeds
from console.tui.app import ConsoleApp
from console.tui.panes import build_panes
from widgets.health_grid import HealthGrid
from widgets.top_table import TopTables, render_top

SCRIPTS = Path(__file__).parent / "fixtures" / "metric"
CONFIG = """
[console]
environment = "staging"
journal = "{journal}"
refresh = "1s"
[[metric]]
name = "errors by category"
command = ["./print-json"]
kind = "top"
path = "errors"
columns = ["category", "count"]
sort = "count"
limit = 2
[[metric]]
name = "api cpu"
command = ["./docker", "stats", "--no-stream", "--format", "{{{{json .}}}}", "api"]
path = "CPUPerc"
unit = "%"
"""


def text_of(renderable) -> str:
    console = Console(width=80, record=True)
    console.print(renderable)
    return console.export_text()


def test_render_top_shows_rows_and_how_many_of_how_many() -> None:
    model = TopSnapshot(
        name="slow endpoints",
        state=State.OK,
        columns=["route", "p95"],
        rows=[["/checkout", "2.4s"], ["[bold]x", "120ms"]],
        total=7,
        taken_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    text = text_of(render_top(model))
    assert "slow endpoints  OK  (top 2 of 7)" in text
    assert "/checkout" in text and "[bold]x" in text  # data is never markup
    down = model.model_copy(update={"state": State.DOWN, "reason": "./x timed out after 3s", "rows": []})
    assert "DOWN  ./x timed out after 3s" in text_of(render_top(down))


def test_the_pane_is_built_only_for_configs_with_top_lists(tmp_path: Path) -> None:
    plain = cfg.loads('[[metric]]\nname = "m"\nurl = "http://127.0.0.1:9/"\n', source=tmp_path / "c.toml", environ={})
    assert [pane.title for pane in build_panes(plain, [])] == ["Timeline"]


async def test_dashboard_shows_a_top_list_polled_from_a_command(tmp_path: Path) -> None:
    for script in ("print-json", "docker"):
        shutil.copy(SCRIPTS / script, tmp_path / script)
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(journal=tmp_path / "journal.jsonl"))
    path.chmod(0o600)
    config = cfg.load(path, environ={})
    clock = Clock()
    app = ConsoleApp(config, build_runner(config, clock=clock.now), clock=clock, feeds=build_feeds(config, clock))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.screen.query_one(TopTables)
        for _ in range(100):
            await asyncio.sleep(0.1)
            shown = text_of(pane.tables["errors by category"].content)
            if "5xx" in shown:
                break
        assert "errors by category  OK  (top 2 of 3)" in shown
        assert shown.index("5xx") < shown.index("timeout") and "dns" not in shown
        tiles = app.screen.query_one(HealthGrid).tiles
        assert tiles["metric:errors by category"].check.value == "2 of 3"
        await pilot.pause()
