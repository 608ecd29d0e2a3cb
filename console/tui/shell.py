"""The shell: the console's first frame, painted before the config is read and before anything but Textual is
imported. ConsoleApp shows it at once, then loads the config and builds the runner in a thread and puts the
dashboard (or the wall) in its place."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from widgets.footer import Footer


class LoadingScreen(Screen):
    """The title, what is being loaded and the footer (`q` quits while loading)."""

    DEFAULT_CSS = """
    LoadingScreen #shell-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    LoadingScreen #shell-loading { height: 1fr; content-align: center middle; color: $text-muted; }
    """

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        yield Static("incident-console", id="shell-title", markup=False)
        yield Static(f"loading {self.what} …", id="shell-loading", markup=False)
        yield Footer()
