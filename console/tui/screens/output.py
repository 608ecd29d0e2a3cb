"""An action's whole output (the 0600 file beside the journal) in the log viewer, however long it is."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from console.clock import ManualClock
from console.config import LogSettings
from console.sources.logs.parse import LineParser
from widgets.footer import Footer
from widgets.log_view import LogView
from widgets.outside import outside

MAX_LINES = 1_000_000  # the log view's ring: a million lines stay under 150 MB (benchmarks/logs.py)
CHUNK = 20_000  # lines handed to the view per batch while the file is read


def copy_output(app: App, path: Path) -> str:
    """Copy the whole output file to the clipboard (OSC 52); returns what to tell the operator."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    app.copy_to_clipboard(text)
    return f"copied {len(text.splitlines()):,} lines of output ({path.name})"


class OutputScreen(Screen[None]):
    """The full output file of one run, read in a thread: `/` filters, `n`/`N` find, `y` copies a line, `Y` copies
    the whole file, escape closes. The streamed output on the run screen keeps only its last lines."""

    HELP_PLACE = "full output"

    DEFAULT_CSS = """
    OutputScreen #output-title { height: 1; text-style: bold; padding: 0 1; }
    """

    BINDINGS = [
        Binding("Y", "copy_all", "Copy all", id="output.copy_all"),
        Binding("escape,q", "close", "Close", id="output.close"),
    ]

    def __init__(self, path: Path, title: str) -> None:
        super().__init__()
        self.path = path
        self.title_text = title
        self.file_name = f"{path.parent.name}/{path.name}"  # as the journal entry names it
        self.read_lines = 0

    def compose(self) -> ComposeResult:
        yield Static(outside(f"{self.title_text} · reading {self.file_name}"), id="output-title")
        yield LogView(max_lines=MAX_LINES)
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(LogView)
        view.following = False  # the first line first: an output is read from the top, like `less`
        view.focus()
        self._read()

    @work(thread=True, exclusive=True, group="output-read", exit_on_error=False)
    def _read(self) -> None:
        """Parse the file as a log (times and levels coloured, escapes made visible), a chunk at a time; a line
        without a time of its own shows the file's modification time."""
        view, lines, error = self.query_one(LogView), 0, ""
        try:
            written = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
            parser = LineParser(LogSettings(name="output", path=self.path), ManualClock(written))
            with self.path.open(encoding="utf-8", errors="replace", newline="\n") as file:
                while chunk := list(islice(file, CHUNK)):
                    lines += len(chunk)
                    self.app.call_from_thread(view.append, parser.parse([text.rstrip("\n") for text in chunk]))
        except OSError as exc:
            error = f" · cannot read it: {exc.strerror or exc}"
        self.app.call_from_thread(self._done, lines, error)

    def _done(self, lines: int, error: str) -> None:
        self.read_lines = lines
        dropped = f" (the first {lines - MAX_LINES:,} are in the file only)" if lines > MAX_LINES else ""
        title = f"{self.title_text} · {lines:,} lines{dropped} · {self.file_name}{error}"
        self.query_one("#output-title", Static).update(outside(title))

    def action_copy_all(self) -> None:
        self.notify(copy_output(self.app, self.path), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
