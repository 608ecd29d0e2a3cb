"""The top lists pane: a `kind = "top"` metric's rows as a table on the dashboard, beside its tile."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App, ComposeResult

from actions.registry import build_runner
from console import config as cfg
from console.clock import Clock
from console.config import ConfigError
from console.models import State
from console.models.top import TopSnapshot
from console.sources.base import build_feeds
from console.tui.app import ConsoleApp
from console.tui.panes import build_panes
from tests.helpers import until
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
        await until(lambda: "5xx" in text_of(pane.tables["errors by category"].content), what="the top list")
        shown = text_of(pane.tables["errors by category"].content)
        assert "errors by category  OK  (top 2 of 3)" in shown
        assert shown.index("5xx") < shown.index("timeout") and "dns" not in shown
        tiles = app.screen.query_one(HealthGrid).tiles
        assert tiles["metric:errors by category"].check.value == "2 of 3"
        await pilot.pause()


@pytest.mark.parametrize("field", ['unit = "ms"', "warn = 5", "crit = 9", "below = true"])
def test_a_threshold_on_a_top_list_is_a_one_line_config_error(field: str) -> None:
    text = f'[[metric]]\nname = "slow"\nurl = "http://h/"\nkind = "top"\npath = "rows"\ncolumns = ["route"]\n{field}\n'
    with pytest.raises(ConfigError, match='a kind = "top" list has no single value to judge') as caught:
        cfg.loads(text)
    assert field.split()[0] in str(caught.value) and "\n" not in str(caught.value)


class TopApp(App):
    """Hosts the top lists pane with two fixed lists: one read, one whose command failed."""

    def compose(self) -> ComposeResult:
        yield TopTables(["slow endpoints", "errors by category"])

    def on_mount(self) -> None:
        at = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
        pane = self.query_one(TopTables)
        rows = [["/api/checkout", "2.4s", "1,204"], ["/api/search", "870ms", "9,310"], ["/api/cart", "410ms", "655"]]
        columns = ["route", "p95", "calls"]
        pane.update_model(
            TopSnapshot(name="slow endpoints", state=State.OK, columns=columns, rows=rows, total=12, taken_at=at)
        )
        pane.update_model(
            TopSnapshot(
                name="errors by category",
                state=State.DOWN,
                reason="./errors-by-category timed out after 3s",
                columns=["category", "count"],
                taken_at=at,
            )
        )


def test_top_pane_80x24(snap_compare) -> None:
    assert snap_compare(TopApp(), terminal_size=(80, 24))


def test_top_pane_160x50(snap_compare) -> None:
    assert snap_compare(TopApp(), terminal_size=(160, 50))
