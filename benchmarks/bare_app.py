"""A bare Textual app drawing what the console's first frame holds (a banner, three tiles, a metric, a footer):
the startup baseline (benchmarks/startup.py runs it in the same pty harness as the console)."""

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static


class Bare(App):
    BINDINGS = [Binding("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static("demo  incident-console")
        for name in ("api", "database", "cache", "error rate"):
            yield Static(name)
        yield Footer()


if __name__ == "__main__":
    Bare().run()
