"""The environment banner: which environment this is (production in the danger colour), read-only, the clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widgets import Static

from widgets.outside import outside


class EnvironmentBanner(Static):
    """One line: environment (PRODUCTION loud), READ-ONLY badge, incident summary, running triage, UTC clock."""

    DEFAULT_CSS = """
    EnvironmentBanner { height: 1; width: 1fr; background: $panel; color: $foreground; padding: 0 1; }
    EnvironmentBanner.-production { background: $error; color: $background; text-style: bold; }
    """

    def __init__(self, environment: str, *, production: bool, read_only: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.environment = environment
        self.production = production
        self.read_only = read_only
        self.incident = ""
        self.triage = ""
        self.triage_short = ""
        self.now: datetime | None = None
        self.set_class(production, "-production")

    def on_mount(self) -> None:
        self._paint()

    def tick(self, now: datetime) -> None:
        self.now = now
        self._paint()

    def set_incident(self, summary: str) -> None:
        self.incident = summary
        self._paint()

    def set_triage(self, text: str, short: str = "") -> None:
        """`triage: TITLE, step 3/7` while a playbook runs (`short`, e.g. `triage 3/7`, where the line is too
        narrow); empty clears it. Repaints only on change."""
        if (text, short) != (self.triage, self.triage_short):
            self.triage, self.triage_short = text, short
            self._paint()

    def _paint(self) -> None:
        left = Text()
        if self.production:
            left.append("◆ PRODUCTION ", style="bold")
        left.append_text(outside(self.environment, "bold"))
        if self.read_only:
            left.append("  [READ-ONLY]", style="bold reverse")
        if self.incident:
            left.append_text(outside(f"  {self.incident}", "bold"))
        right = self.now.strftime("%H:%M UTC") if self.now else ""
        width = self.size.width
        if self.triage:
            triage = outside(f"  ▶ {self.triage}", "reverse")
            if left.cell_len + triage.cell_len + len(right) > width - 2 and self.triage_short:
                triage = outside(f"  ▶ {self.triage_short}", "reverse")
            left.append_text(triage)
        gap = max(width - left.cell_len - len(right), 1)
        self.update(left + Text(" " * gap) + Text(right), layout=False)

    def on_resize(self) -> None:
        self._paint()
