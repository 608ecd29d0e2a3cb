"""The replay's screens: the dashboard and the wall as they were, with the scrubber's keys (README, "Replay").

The keys are ones nothing else in the console uses (`←`/`→` scroll the log view, `space` marks rows): `,` `.` a
sample, `<` `>` a minute, `[` `]` a journal entry back and forward, `g` go to a time, `w` play or pause, `W` the
speed (1x, 10x, 60x); each remappable by its binding id in `[keys]`. The bar under the banner says the moment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from console.journal.horizon import on_a_timeline
from console.tui.screens.dashboard import DashboardScreen
from console.tui.screens.prompt import PromptScreen
from console.tui.screens.wall import WallScreen, health_summary
from widgets.wall_header import WallHeader
from widgets.wall_timeline import WallTimeline

if TYPE_CHECKING:
    from console.clock import Clock
    from console.config import Config
    from console.tui.controllers.replay import ReplayControl
    from console.tui.panes import Pane

SCRUBBER: list[BindingType] = [
    Binding("comma", "scrub('sample', -1)", "Sample back", show=False, id="replay.sample_back"),
    Binding("full_stop", "scrub('sample', 1)", "Sample forward", show=False, id="replay.sample_forward"),
    Binding("less_than_sign", "scrub('minute', -1)", "Minute back", show=False, id="replay.minute_back"),
    Binding("greater_than_sign", "scrub('minute', 1)", "Minute forward", show=False, id="replay.minute_forward"),
    Binding("left_square_bracket", "scrub('entry', -1)", "Previous entry", show=False, id="replay.entry_back"),
    Binding("right_square_bracket", "scrub('entry', 1)", "Next entry", show=False, id="replay.entry_forward"),
    Binding("g", "go_to", "Go to", id="replay.goto"),
    Binding("w", "scrub('play', 0)", "Play/pause", id="replay.play"),
    Binding("W", "scrub('faster', 0)", "Speed", id="replay.speed"),
]
GO_TO = "Go to (15m ago, 03:10 UTC, ISO-8601)"


class Scrubbing:
    """The scrubber's actions and the bar under the banner, for either screen below."""

    replay: ReplayControl

    def compose_with_bar(self, parts: ComposeResult) -> ComposeResult:
        composed = iter(parts)
        yield next(composed)  # the environment banner
        yield self.replay.bar
        yield from composed

    def action_scrub(self, move: str, step: int) -> None:
        if move == "play":
            self.replay.play()
        elif move == "faster":
            self.replay.faster()
        else:
            getattr(self.replay, move)(step)

    def go_to_prompt(self) -> PromptScreen:
        return PromptScreen(GO_TO, "", apply=self.replay.goto)


class ReplayDashboard(Scrubbing, DashboardScreen):
    """The dashboard at the moment the scrubber shows (read-only: the app refuses what acts)."""

    HELP_PLACE = "replay"
    BINDINGS = SCRUBBER

    def __init__(
        self, replay: ReplayControl, config: Config, *, read_only: bool, panes: list[Pane], clock: Clock
    ) -> None:
        super().__init__(config, read_only=read_only, panes=panes, clock=clock)
        self.replay = replay

    def compose(self) -> ComposeResult:
        return self.compose_with_bar(super().compose())

    def action_go_to(self) -> None:
        self.app.push_screen(self.go_to_prompt())


class ReplayWall(Scrubbing, WallScreen):
    """The wall at the moment the scrubber shows."""

    HELP_PLACE = "replay (wall)"
    BINDINGS = SCRUBBER

    def __init__(self, replay: ReplayControl) -> None:
        super().__init__()
        self.replay = replay

    def compose(self) -> ComposeResult:
        return self.compose_with_bar(super().compose())

    def _paint_incident(self) -> None:
        """The incident and the timeline as the journal had them at the moment, not as the tracker has them now."""
        state = self.replay.state
        entries = state.entries if state and state.is_open else on_a_timeline(self.replay.recent)
        self.query_one(WallTimeline).show_entries(entries)
        self._paint_header()

    def _paint_header(self) -> None:
        """Clocks (the impact's, the next update's) counted at the moment shown."""
        checks = health_summary(self.host.live.checks())
        self.query_one(WallHeader).show_incident(self.replay.state, self.replay.moment, checks)

    def action_go_to(self) -> None:
        self.app.push_screen(self.go_to_prompt())


def replay_screen(
    replay: ReplayControl, wall: bool, config: Config, notices: list[tuple[str, str]], clock: Clock
) -> ReplayDashboard | ReplayWall:
    """The wall or the dashboard (its panes for the config) at the replay's moment."""
    if wall:
        return ReplayWall(replay)
    from console.tui.panes import build_panes

    return ReplayDashboard(replay, config, read_only=True, panes=build_panes(config, notices), clock=clock)
