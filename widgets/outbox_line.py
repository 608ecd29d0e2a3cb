"""The outbox in one line (the incident screen and the wall): each channel still waiting for a message, and each
delivery of this incident that failed or whose outcome is unknown; hidden when there is nothing to say."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from widgets.outside import outside

SYMBOLS = {"new": "⟳", "queued": "⟳", "sending": "…", "failed": "✖", "unknown": "?"}


class OutboxLine(Static):
    """`show_items([(channel, status, detail)])`: one segment each, status word and symbol first."""

    DEFAULT_CSS = """
    OutboxLine { height: auto; display: none; padding: 0 1; }
    OutboxLine.-shown { display: block; }
    """

    def show_items(self, items: list[tuple[str, str, str]]) -> None:
        self.set_class(bool(items), "-shown")
        line = Text("OUTBOX  ", style="bold")
        for index, (channel, status, detail) in enumerate(items):
            if index:
                line.append("  ·  ", style="dim")
            word = "queued" if status == "new" else status
            line.append(f"{SYMBOLS.get(status, '•')} {word.upper()} ", style="bold")
            line.append_text(outside(channel, "bold"))
            if detail:
                line.append_text(outside(f" {detail}", "dim"))
        self.update(line)
