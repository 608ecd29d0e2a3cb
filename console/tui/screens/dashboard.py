"""The dashboard: banner, health tiles, and a pane for every configured section (none for absent ones)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Static

from console.clock import Clock
from console.config import Config
from console.live import CheckChange, feed_key
from console.models import Check, State
from console.sources.base import PANE_KEYS, configured
from console.tui.panes import Pane
from widgets.banner import EnvironmentBanner
from widgets.footer import Footer
from widgets.health_grid import HealthGrid
from widgets.outside import outside
from widgets.triage_hint import TriageHint

NARROW = 120


def initial_checks(config: Config) -> list[Check]:
    """A waiting tile per target of each configured tiles section (health, metric), in registry and config order."""
    waiting = "waiting for the first poll"
    return [
        Check(source=kind.section, name=target.name, state=State.UNKNOWN, reason=waiting)
        for kind in configured(config)
        if kind.tiles
        for target in getattr(config, kind.section)
    ]


class DashboardScreen(Screen):
    """Everything at once on a wide terminal; at narrow widths one pane at a time, switched with the registry's pane
    keys (1..6 today: a pane takes the key of its place)."""

    HELP_PLACE = "dashboard"

    BINDINGS = [
        *(
            Binding(key, f"focus_pane({n})", f"Pane {key}", show=False, id=f"pane.{key}")
            for n, key in enumerate(PANE_KEYS)
        ),
        # in ? and the README, not the footer: 80 columns keep `? Help`
        Binding("h", "chart", "History", show=False, id="dashboard.chart"),
    ]

    def __init__(self, config: Config, *, read_only: bool, panes: list[Pane], clock: Clock) -> None:
        super().__init__()
        self.config = config
        self.clock = clock
        self.routes = {pane.section: pane.show for pane in panes if pane.section and pane.show}
        for kind in configured(config):
            if kind.tiles:  # and to the section's pane, if it has one (metric: the top lists)
                self.routes[kind.section] = partial(self._show_check, self.routes.get(kind.section))
        self.read_only = read_only
        self.panes = panes
        self.current = 0
        # kept, not queried: the controllers call the banner every second, every tile of every batch goes to the grid
        settings = config.console
        self.banner = EnvironmentBanner(settings.environment, production=settings.is_production, read_only=read_only)
        self.triage_hint = TriageHint()  # the way back into guided triage, above the footer (which 80 columns cut)
        self.grid: HealthGrid | None = None

    def compose(self) -> ComposeResult:
        yield self.banner
        checks = initial_checks(self.config)
        if checks:
            self.grid = HealthGrid(checks, id="health")
            yield self.grid
        if self.panes:
            yield Static(id="pane-tabs")
            with Container(id="panes"):
                for pane in self.panes:
                    pane.widget.add_class("pane")
                    yield pane.widget
        yield self.triage_hint
        yield Footer()

    def on_mount(self) -> None:
        self._layout_panes()
        self._tick()

    def _tick(self) -> None:
        """The banner shows minutes: repaint it when the minute changes, then sleep until just past the next one
        (a timer every second cost an idle dashboard ~0.03 % of a core for nothing)."""
        now = self.clock.now()
        minute = now.replace(second=0, microsecond=0)
        if minute != self.banner.now:
            self.banner.tick(minute)
        self.set_timer(60.05 - now.second - now.microsecond / 1e6, self._tick)

    def on_resize(self) -> None:
        self._layout_panes()

    def show(self, models: list[Any], changes: list[CheckChange] | None = None) -> None:
        """A live-state listener: route each model of a batch to the widget of its section, in one screen update."""
        with self.app.batch_update():
            for model in models:
                show = self.routes.get(feed_key(model).partition(":")[0])
                if show is not None:
                    show(model)

    def _show_check(self, pane: Callable[[Any], None] | None, model: Any) -> None:
        if self.grid is not None and self.grid.is_attached:  # not while the app is shutting down
            self.grid.show(model.check, model.history)
        if pane is not None:
            pane(model)

    def action_focus_pane(self, index: int) -> None:
        if index >= len(self.panes):
            return
        self.current = index
        self._layout_panes()
        pane = self.panes[index].widget
        target = pane if pane.can_focus else next((w for w in pane.query("*") if w.can_focus), pane)
        # at once, not Widget.focus()'s call_later: a key typed right after (`5` then enter, in one read) goes to the
        # pane the operator named, not the one that had the focus (enter opened a PostgreSQL session, not a Redis one)
        self.set_focus(target)

    def action_chart(self) -> None:
        """`h`: a check's recorded history as a chart (the focused pane's checks first); imported only now."""
        from console.tui.screens.chart import pick_chart

        focused = self.focused
        within = [] if focused is None else [focused, *focused.ancestors]
        pick_chart(self.app, next((pane.section for pane in self.panes if pane.widget in within), None))

    def _layout_panes(self) -> None:
        if not self.panes:
            return
        narrow = self.size.width < NARROW
        self.set_class(narrow, "-narrow")
        self.query_one("#panes").styles.grid_size_columns = min(2, len(self.panes))
        for index, pane in enumerate(self.panes):
            pane.widget.set_class(index == self.current, "-current")
        tabs = Text("  ").join(
            outside(f" {n + 1} {pane.title} ", "reverse" if n == self.current else "")
            for n, pane in enumerate(self.panes)
        )
        self.query_one("#pane-tabs", Static).update(tabs)
