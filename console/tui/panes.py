"""The dashboard's panes for a config, from the source registry: a pane per configured section that has one,
the timeline after the logs, and a notice pane per thing that could not start. Widgets are imported only when
their section is configured."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.widget import Widget
from textual.widgets import Static

from console.config import Config
from console.sources.base import configured, resolve
from widgets.outside import outside
from widgets.timeline import Timeline


@dataclass
class Pane:
    """A titled pane and, for a source's pane, the config section whose models it renders (`update_model`)."""

    title: str
    widget: Widget
    section: str | None = None
    show: Callable[[Any], None] | None = field(default=None, repr=False)


def build_panes(config: Config, notices: list[tuple[str, str]]) -> list[Pane]:
    """Logs, the timeline, PostgreSQL and Redis when configured, then one pane per notice (what could not start)."""
    panes: list[Pane] = []
    for kind in configured(config):
        if kind.pane is None or not kind.pane.shown(config):
            continue
        widget = resolve(kind.pane.widget)(**kind.pane.arguments(config))
        panes.append(Pane(kind.pane.title, widget, kind.section, widget.update_model))
    at = 1 if config.logs else 0
    panes.insert(at, Pane("Timeline", Timeline()))
    panes.extend(Pane(title, Static(outside(f"▲ {text}", lines=True), classes="notice")) for title, text in notices)
    return panes
