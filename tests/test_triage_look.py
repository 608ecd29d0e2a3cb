"""A look step's filter reaches the PostgreSQL pane (the demo's slow-responses step 1, `blocked`: the Locks tab), the
built-in pg-connections filters show the sessions they name, and a filter a pane cannot take is a `triage check`
problem (the registry colleague's work, tested here through a triage run)."""

from __future__ import annotations

from pathlib import Path

from test_pg_widgets import sample_snapshot
from textual.widgets import TabbedContent

from actions.registry import action_names, build_runner
from console import config as cfg
from console.sources.base import Feeds
from console.triage.builtins import BUILT_IN
from console.triage.playbook import Playbook, validate
from console.tui.app import ConsoleApp
from console.tui.screens.pick import PickScreen
from console.tui.screens.triage import TriageScreen
from tests.helpers import until
from widgets.pg_activity_table import PgActivityTable
from widgets.postgres_pane import TAB_ACTIVITY, TAB_LOCKS, PostgresPane

CONFIG = """
[console]
environment = "staging"
journal = "{journal}"

[postgres]
dsn = "postgresql://nobody@127.0.0.1:9/db"

[redis]
url = "redis://127.0.0.1:9"

[[playbook]]
name = "slow"
title = "Slow answers"
when = "postgres.blocked > 0"
severity = "SEV-2"  # above the built-in pg-locks (SEV-3)

[[playbook.steps]]
kind = "look"
pane = "postgres"
filter = "blocked"

[[playbook.steps]]
kind = "look"
pane = "postgres"
filter = "idle in tx"

[[playbook.steps]]
kind = "done"
"""


def make_app(tmp_path: Path) -> ConsoleApp:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(journal=tmp_path / "journal.jsonl"))
    config = cfg.load(path, environ={})
    return ConsoleApp(config, build_runner(config), feeds=Feeds())


async def test_a_look_step_shows_the_locks_then_the_sessions_its_filter_names(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        app.live.update([sample_snapshot()])
        await until(lambda: bool(app.triage.suggestions()), what="the suggestion")
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TriageScreen), what="the triage screen")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, PickScreen), what="the offer to declare")
        await pilot.press("down", "enter")
        await until(lambda: app.triage.view is not None, what="the run")
        await pilot.press("enter")  # the look: the dashboard, the PostgreSQL pane, its Locks tab
        await until(lambda: app.screen is app.dashboard, what="the dashboard")
        pane = app.dashboard.query_one(PostgresPane)
        await until(lambda: pane.query_one(TabbedContent).active == TAB_LOCKS, what="the Locks tab")
        await pilot.press("t")  # the hint's key
        await until(lambda: isinstance(app.screen, TriageScreen), what="the triage screen")
        await pilot.press("enter")  # the next look
        await until(lambda: pane.query_one(TabbedContent).active == TAB_ACTIVITY, what="the sessions")
        table = pane.query_one(PgActivityTable)
        rows = [" ".join(map(str, table.get_row_at(i))) for i in range(table.row_count)]
        assert rows and all("idle in tx" in row for row in rows), rows


def test_the_built_in_filters_are_ones_their_panes_take_and_a_redis_filter_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(journal=tmp_path / "journal.jsonl"))
    config = cfg.load(path, environ={})
    looks = [s for book in BUILT_IN for s in book["steps"] if s["kind"] == "look" and s.get("filter")]
    assert {s["filter"] for s in looks} == {"idle", "idle in tx", "blocked", "long", "level=error"}  # not state:idle
    book = Playbook.model_validate(
        {"name": "r", "title": "R", "when": "", "steps": [{"kind": "look", "pane": "redis", "filter": "session:*"}]}
    )
    assert validate([book], config, action_names(config)) == [
        "config: playbook r: step step-1: filter 'session:*': the redis pane takes no filter"
    ]
