"""The war-room wall (`incident-console --wall`): the incident, every tile, the timeline and the panes the registry
puts on the wall (`PaneSpec.on_wall`: the change ledger's), large, read-only.

For a TV across the room or a second tmux pane, 80x24 to 200x60. It shows and never acts: the app refuses the
palette, note, incident and triage keys on the wall (`ConsoleApp.check_action`), and the wall journals no
observations (the operators' consoles do). The incident controller tells it when the journal grew
(`banner.set_incident`), the triage controller which step runs (`banner.set_triage`); the live state feeds the
tiles (`show`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Grid
from textual.css.query import NoMatches
from textual.screen import Screen

from console.clock import Clock
from console.config import Config
from console.incident.state import author_of
from console.journal.horizon import on_a_timeline
from console.live import CheckChange, LiveState, feed_key
from console.models import Check, State
from console.observer import Observer
from console.sources.base import on_the_wall, resolve
from console.tui.screens.dashboard import initial_checks
from console.tui.screens.detail import DetailScreen
from widgets.banner import EnvironmentBanner
from widgets.big_tile import BigTile
from widgets.footer import Footer
from widgets.outbox_line import OutboxLine
from widgets.wall_header import WallHeader
from widgets.wall_timeline import WallTimeline

if TYPE_CHECKING:
    from actions.runner import Runner
    from console.tui.controllers.incident import IncidentControl
    from console.tui.controllers.triage import TriageControl

BIG_WIDTH, BIG_HEIGHT = 120, 40  # from this size on: Digits clocks (and big tiles if they fit)
BIG_TILE_WIDTH, BIG_TILE_HEIGHT, SMALL_TILE_WIDTH = 50, 6, 36
TIMELINE_ROWS = 10
HELP = [
    "q, ctrl+c   quit",
    "?           this help (escape closes)",
    "",
    "The wall shows and never acts: no palette, no notes, no incident or triage commands.",
    "Act from a console started without --wall; what it journals shows here within a second.",
]


class WallHost(Protocol):
    """What the wall needs of the app."""

    config: Config
    runner: Runner
    clock: Clock
    live: LiveState
    observer: Observer
    incident: IncidentControl
    triage: TriageControl


def health_summary(checks: list[Check]) -> Text:
    """`● all 6 checks OK`, or the count of each state, worst first."""
    if not checks:
        return Text("? waiting for the first poll", style="dim")
    counts = Counter(check.state for check in checks)
    if counts[State.OK] == len(checks):
        return Text(f"{State.OK.symbol} all {len(checks)} checks OK", style="bold")
    states = sorted(counts, key=lambda s: -s.rank)
    return Text("  ".join(f"{s.symbol} {counts[s]} {s.word}" for s in states), style="bold")


class WallScreen(Screen):
    """Header, tiles and timeline; compact (one-line tiles, text clocks) below BIG_WIDTH x BIG_HEIGHT."""

    HELP_PLACE = "wall"
    AUTO_FOCUS = ""  # nothing on the wall takes the focus (its panes are shown, never acted on)

    BINDINGS = [Binding("question_mark", "wall_help", "Help", id="wall.help")]

    DEFAULT_CSS = """
    WallScreen #wall-tiles { height: auto; grid-size: 3; grid-gutter: 1 2; grid-rows: 6; padding: 1 1 0 1; }
    WallScreen.-small-tiles #wall-tiles { grid-gutter: 0 2; grid-rows: 1; padding: 0 1; }
    WallScreen WallTimeline { margin-top: 1; }
    WallScreen.-small-tiles WallTimeline { margin-top: 0; }
    WallScreen #wall-lower { height: 1fr; }
    WallScreen.-side-by-side #wall-lower { layout: horizontal; }
    WallScreen .wall-pane { height: 1fr; }
    WallScreen.-side-by-side #wall-lower > * { width: 1fr; }
    WallScreen.-side-by-side .wall-pane { margin-top: 1; }
    WallScreen.-side-by-side.-small-tiles .wall-pane { margin-top: 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.tiles: dict[str, BigTile] = {}
        self._run_actors: dict[int, str] = {}  # triage run (seq of its `triage.started`) -> user@host
        self.routes: dict[str, Callable[[Any], None]] = {}  # a section -> its wall pane's update_model

    @property
    def host(self) -> WallHost:
        # Textual types a screen's app as App[Any]: which app runs the wall (one that is a WallHost) is not in its type
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        console = self.host.config.console
        read_only = self.host.runner.read_only
        yield EnvironmentBanner(console.environment, production=console.is_production, read_only=read_only)
        yield WallHeader()
        yield OutboxLine()
        with Grid(id="wall-tiles"):
            for check in initial_checks(self.host.config):
                self.tiles[check.key] = BigTile(check)
                yield self.tiles[check.key]
        with Container(id="wall-lower"):  # the timeline, then the registry's wall panes: below it, or beside it
            yield WallTimeline(TIMELINE_ROWS)
            for kind in on_the_wall(self.host.config):
                assert kind.pane is not None  # on_the_wall lists rows with a pane
                pane = resolve(kind.pane.widget)(**kind.pane.arguments(self.host.config))
                pane.add_class("wall-pane")
                pane.can_focus_children = False  # shown, never acted on: nothing on the wall takes the focus
                self.routes[kind.section] = pane.update_model
                yield pane
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.host.observer.journal = None  # the wall journals nothing it observes: the operators' consoles do
        self._layout()
        self.query_one(WallHeader).show_triage("")
        self.set_interval(1.0, self._tick)
        self._tick()

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        """Big clocks from BIG_WIDTH x BIG_HEIGHT; big tiles when they also leave room for the whole timeline."""
        width, height, count = self.size.width, self.size.height, len(self.tiles) or 1
        compact = width < BIG_WIDTH or height < BIG_HEIGHT
        small_tiles = compact or -(-count // max(1, width // BIG_TILE_WIDTH)) * (BIG_TILE_HEIGHT + 1) > height - 22
        self.query_one(WallHeader).set_class(not compact, "-big")
        self.set_class(small_tiles, "-small-tiles")
        self.set_class(not compact, "-side-by-side")
        for tile in self.tiles.values():
            tile.set_class(small_tiles, "-compact")
        most = max(1, width // (SMALL_TILE_WIDTH if small_tiles else BIG_TILE_WIDTH))
        rows = -(-count // most)
        self.query_one("#wall-tiles").styles.grid_size_columns = -(-count // rows)  # 5 tiles in 3 + 2, not 4 + 1
        self._paint_incident()

    def _tick(self) -> None:
        """Every second: the clocks (impact, countdown); the banner's clock when the minute changed."""
        now = self.host.clock.now()
        banner = self.query_one(EnvironmentBanner)
        if now.replace(second=0, microsecond=0) != banner.now:
            banner.tick(now.replace(second=0, microsecond=0))
        self._paint_header()

    def action_wall_help(self) -> None:
        """The wall's own help: the app's lists keys that do nothing here."""
        self.app.push_screen(DetailScreen("Keys on the war-room wall (read-only)", HELP))

    # -- what the controllers and the live state call ----------------------------------------------

    @property
    def banner(self) -> WallScreen:
        """The controllers update `app.dashboard.banner`; on the wall, the screen takes those calls."""
        return self

    def set_incident(self, summary: str) -> None:
        """The incident controller read new journal entries: repaint the header and the timeline."""
        self._paint_incident()

    def set_triage(self, text: str, short: str = "") -> None:
        """The triage controller's banner line (the wall has room for the long form); it adds the step and who
        runs it."""
        triage = self.host.triage
        if text and triage.engine is not None and triage.view is not None and triage.view.step is not None:
            step = triage.view.step
            text = f"{text} · {step.title or step.id} · run by {self._run_actor(triage.engine.run)}"
        try:
            header = self.query_one(WallHeader)
        except NoMatches:  # the wall is closing (a poll ran meanwhile): nothing to repaint
            return
        header.show_triage(text)

    def show(self, models: list[Any], changes: list[CheckChange] | None = None) -> None:
        """A live-state listener: the tiles and wall panes of the batch, then the health line (shown when no incident
        is open)."""
        with self.app.batch_update():
            for model in models:
                tile = self.tiles.get(feed_key(model))
                if tile is not None:
                    tile.show(model.check, getattr(model, "history", ()))
                elif (route := self.routes.get(feed_key(model).partition(":")[0])) is not None:
                    route(model)
            self._paint_header()

    # -- painting -----------------------------------------------------------------------------------

    def _paint_incident(self) -> None:
        tracker = self.host.incident.desk.tracker
        state = tracker.state
        entries = state.entries if state is not None and state.is_open else on_a_timeline(tracker.recent)
        self.query_one(WallTimeline).show_entries(entries)
        self._paint_header()

    def _paint_header(self) -> None:
        state = self.host.incident.desk.tracker.state
        self.query_one(WallHeader).show_incident(state, self.host.clock.now(), health_summary(self.host.live.checks()))

    def _run_actor(self, run: int) -> str:
        """`user@host` of the run's `triage.started` entry (looked up once, among the entries the tracker holds)."""
        if run not in self._run_actors:
            tracker = self.host.incident.desk.tracker
            entries = [*(tracker.state.entries if tracker.state else ()), *tracker.recent]
            started = next((e for e in entries if e.get("seq") == run), None)
            if started is None:
                return "?"
            self._run_actors[run] = author_of(started)
        return self._run_actors[run]
