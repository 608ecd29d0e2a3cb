"""The dashboard's panes for a config, and which model each one renders (widgets imported only when used)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from console.config import Config
from widgets.timeline import Timeline


@dataclass
class Pane:
    """A titled pane and the model types it renders, each with the method that renders it."""

    title: str
    widget: Widget
    routes: dict[type, Callable[[Any], None]] = field(default_factory=dict)


def build_panes(config: Config, notices: list[tuple[str, str]]) -> list[Pane]:
    """Logs, the timeline, PostgreSQL and Redis when configured, then one pane per notice (what could not start)."""
    panes: list[Pane] = []
    if config.logs:
        from console.models.logs import LogStats
        from widgets.log_pane import LogPane

        logs = LogPane([log.name for log in config.logs], max_lines=sum(log.max_lines for log in config.logs))
        panes.append(Pane("Logs", logs, {LogStats: lambda stats: logs.update_stats([stats])}))
    panes.append(Pane("Timeline", Timeline()))
    if config.postgres is not None:
        from console.models.postgres import PostgresSnapshot
        from widgets.postgres_pane import PostgresPane

        postgres = PostgresPane()
        panes.append(Pane("PostgreSQL", postgres, {PostgresSnapshot: postgres.update_snapshot}))
    if config.redis is not None:
        from console.models.redis import RedisSnapshot
        from widgets.redis_pane import RedisPane

        redis = RedisPane()
        panes.append(Pane("Redis", redis, {RedisSnapshot: redis.update_snapshot}))
    panes.extend(Pane(title, Static(Text(f"▲ {text}"), classes="notice")) for title, text in notices)
    return panes
