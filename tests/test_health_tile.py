"""widgets/health_tile.py: a new reading reaches the screen as the tile lines it changed, and only those.

The tile marks its changed lines and asks the screen for a frame itself (not through `refresh`, which woke each
tile's message loop every poll); these tests read the frames the app would write to the terminal.
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from textual._compositor import ChopsUpdate
from textual.app import App, ComposeResult
from textual.screen import Screen

from console.models import Check, State
from tests.helpers import painted, until
from widgets.health_grid import HealthGrid


def reading(name: str, ms: float, state: State = State.OK, reason: str = "") -> Check:
    return Check(source="health", name=name, state=state, value=f"{ms:.0f} ms", reason=reason, number=ms, unit="ms")


class Tiles(App):
    """Two tiles; every partial frame's text is kept, as the driver would be given it."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[str] = []

    def compose(self) -> ComposeResult:
        yield HealthGrid([reading("api", 12), reading("db", 40)])

    def _display(self, screen: Screen[Any], renderable: RenderableType | None) -> None:
        if isinstance(renderable, ChopsUpdate):
            self.frames.append(str(renderable.render_segments(self.console)))
        super()._display(screen, renderable)


async def test_a_new_value_sends_its_value_line_and_nothing_else() -> None:
    app = Tiles()
    async with app.run_test(size=(80, 6)) as pilot:
        grid = app.query_one(HealthGrid)
        grid.show(reading("api", 12), [12.0])
        grid.show(reading("db", 40), [40.0])
        await until(lambda: "12 ms" in painted(app) and "40 ms" in painted(app), what="the first readings")
        await pilot.pause()
        app.frames.clear()
        grid.show(reading("api", 987), [12.0, 987.0])
        await until(lambda: any("987 ms" in frame for frame in app.frames), what="a frame with the new value")
        sent = "".join(app.frames)
        assert "api" not in sent and "OK" not in sent  # the title line did not change: not sent again
        assert "40 ms" not in sent  # the other tile did not change
        assert "987 ms" in painted(app) and "12 ms" not in painted(app)


async def test_a_new_state_repaints_the_title_and_the_reason() -> None:
    app = Tiles()
    async with app.run_test(size=(80, 6)) as pilot:
        grid = app.query_one(HealthGrid)
        grid.show(reading("api", 12), [12.0])
        await until(lambda: "12 ms" in painted(app), what="the first reading")
        await pilot.pause()
        app.frames.clear()
        grid.show(reading("api", 900, State.CRIT, "above crit 500 ms"), [12.0, 900.0])
        await until(lambda: "above crit" in painted(app), what="the reason on screen")
        assert "CRIT api" in painted(app) and "OK api" not in painted(app)
        await until(lambda: any("CRIT" in frame for frame in app.frames), what="a frame with the new state")
