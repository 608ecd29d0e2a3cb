"""A followed command's output as a log, live: a runbook step that never ends (`tail -f`, `kubectl logs -f`,
`wrangler tail`) opens here from its run screen and runs until the operator closes the view or it exits by itself."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from console.clock import Clock
from console.config import LogSettings
from console.sources.logs.parse import LineParser
from widgets.footer import Footer
from widgets.log_view import LogView

MAX_LINES = 100_000  # the view's ring; every line is in the run's output file as well


class FollowScreen(Screen[None]):
    """The lines parsed as the log pane parses them (times, levels coloured, JSON fields; one JSON object per entry),
    `/` filters, `f` follows or pauses; escape stops the command (its process group) and closes the view."""

    HELP_PLACE = "followed command"

    DEFAULT_CSS = """
    FollowScreen #follow-title { height: 1; text-style: bold; padding: 0 1; }
    """

    BINDINGS = [Binding("escape,q", "close", "Stop and close", id="follow.close")]

    def __init__(self, action: str, command: str, stop: Callable[[], None], clock: Clock) -> None:
        super().__init__()
        self.action = action
        self.command = command
        self.stop = stop  # asks the run to end (the run screen shows its outcome)
        self.parser = LineParser(LogSettings(name="output", command=["bash", "-c", command], format="json"), clock)
        self.ended: str | None = None  # the outcome, once the command has ended by itself
        self.view = LogView(max_lines=MAX_LINES)  # lines may come before it is mounted: it paints them then

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="follow-title")
        yield self.view
        yield Footer()

    def on_mount(self) -> None:
        self.view.focus()

    def add(self, texts: list[str]) -> None:
        """Lines of output (JSON ones read for their fields, the rest as text; each made safe by the parser)."""
        self.view.append(self.parser.parse(texts))

    def end(self, outcome: str) -> None:
        """The command ended by itself: say how; the lines stay until the operator closes the view."""
        self.ended = outcome
        if self.is_mounted:
            self.query_one("#follow-title", Static).update(self._title())

    def _title(self) -> Text:
        first = self.command.split("\n", 1)[0]
        doing = f"ended: {self.ended} · escape closes" if self.ended else "escape stops it"
        return Text(f"{self.action} · following `{first}` · {doing}", no_wrap=True, overflow="ellipsis")

    def action_close(self) -> None:
        if self.ended is None:
            self.stop()
        self.dismiss(None)
