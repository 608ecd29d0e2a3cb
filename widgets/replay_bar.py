"""The replay's banner: `REPLAY 03:12:04 · 8m before the declaration`, whether it plays and how fast, and how old
the samples it shows are when they are stale."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from widgets.outside import outside


class ReplayBar(Static):
    """One line under the environment banner while the console replays a recording."""

    DEFAULT_CSS = """
    ReplayBar { height: 1; width: 1fr; background: $warning; color: $background; padding: 0 1; text-style: bold; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""

    def show(self, moment: str, relation: str, playing: str, note: str = "") -> None:
        """`moment` (03:12:04), its relation to the incident (`8m before the declaration`), `playing` (`▶ 10x`, or
        `paused`), and a `note` (what is stale); repaints only on change."""
        parts = [f"REPLAY {moment}", relation, playing, note]
        text = " · ".join(part for part in parts if part)
        if text != self.text:
            self.text = text
            self.update(outside(text), layout=False)  # the note names feeds: the config's names
