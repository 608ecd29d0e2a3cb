"""The wall's timeline: the last entries of the incident, newest first, each with who did it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widget import Widget

from console.incident.state import author_of, describe
from widgets.outside import outside

WIDE = 110  # from this width on, the kind has a column of its own
KIND_STYLES = {"note": "bold", "decision": "bold", "observation": "italic"}


def entry_time(entry: dict) -> str:
    """`HH:MM:SS` (UTC) of an entry's timestamp, or `--:--:--` when it has none."""
    try:
        return datetime.fromisoformat(str(entry.get("ts", "")).replace("Z", "+00:00")).strftime("%H:%M:%S")
    except ValueError:
        return "--:--:--"


class WallTimeline(Widget):
    """A caption and up to `limit` rows (fewer when the wall is short): `UTC time  user@host  kind  what`."""

    DEFAULT_CSS = """
    WallTimeline { height: 1fr; padding: 0 1; }
    """

    def __init__(self, limit: int = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit = limit
        self.entries: list[dict] = []

    def show_entries(self, entries: list[dict]) -> None:
        """Keep the last `limit` entries and repaint (only when they changed)."""
        latest = entries[-self.limit :]
        if [e.get("seq") for e in latest] != [e.get("seq") for e in self.entries]:
            self.entries = latest
            self.refresh()

    def render(self) -> Text:
        rows = max(0, self.content_size.height - 1)
        shown = self.entries[::-1][:rows]
        caption = f"TIMELINE · latest {len(shown)}, newest first" if shown else "TIMELINE · nothing journaled yet"
        lines = [Text(caption, style="bold underline")]
        width = max(self.content_size.width, 20)
        for entry in shown:
            kind = str(entry.get("kind", "?"))
            line = Text.assemble((entry_time(entry), "dim"), "  ", outside(author_of(entry).ljust(18), "bold"), "  ")
            if width >= WIDE:
                line.append_text(outside(kind.ljust(18) + "  ", "dim"))
            elif kind not in KIND_STYLES:
                line.append_text(outside(f"{kind}: ", "dim"))
            line.append_text(outside(describe(entry), KIND_STYLES.get(kind, "")))
            line.truncate(width, overflow="ellipsis")
            lines.append(line)
        return Text("\n").join(lines)
