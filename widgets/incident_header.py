"""The incident header: severity, status, title, the incident clock and the countdown to the next update."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from console.incident.state import IncidentState, clock_text
from widgets.outside import outside

# Severity rank (0 = most severe) -> theme variable; the level's name and label always say it in words too.
RANK_COLOURS = ("error", "warning", "primary", "text-muted")
OVERDUE = "✖ UPDATE OVERDUE"


class IncidentHeader(Widget):
    """Two lines: `SEV-2 High INVESTIGATING · title · commander · id` and `next update in … · elapsed · impact since`.

    An overdue update is shown in words with a symbol, bold and reversed, never by colour alone.
    """

    DEFAULT_CSS = """
    IncidentHeader { height: 2; background: $panel; padding: 0 1; }
    """

    reading: reactive[tuple[IncidentState | None, datetime | None]] = reactive((None, None), layout=False)

    def update_state(self, state: IncidentState | None, now: datetime) -> None:
        """Show `state` as of `now` (call every second for the clocks)."""
        self.reading = (state, now)

    def render(self) -> Text:
        state, now = self.reading
        if state is None or now is None:
            return Text.assemble(("No incident declared", "bold"), "  ·  press d to declare one")
        colours = self.app.theme_variables
        level = state.level
        severity_colour = colours.get(RANK_COLOURS[min(level.rank, len(RANK_COLOURS) - 1)], "")
        top = Text.assemble(
            outside(f" {level.name} {level.label} ", f"bold reverse {severity_colour}"),
            " ",
            (state.status.word, "bold"),
            " · ",
            outside(state.title, "bold"),
        )
        if commander := state.roles.get("commander"):
            top.append_text(outside(f" · commander {commander}"))
        top.append_text(outside(f" · {state.id}", "dim"))
        bottom = self._next_update(state, now, colours.get("error", ""))
        bottom.append(f" · elapsed {clock_text(state.elapsed_s(now))}")
        bottom.append(f" · impact since {state.impact_started.astimezone(UTC):%H:%M} UTC")
        if state.backdated_s:
            bottom.append(" (backdated)")
        top.truncate(self.size.width, overflow="ellipsis")
        bottom.truncate(self.size.width, overflow="ellipsis")
        return Text("\n").join([top, bottom])

    @staticmethod
    def _next_update(state: IncidentState, now: datetime, error_colour: str) -> Text:
        if not state.is_open:
            return Text.assemble((f"{state.status.value}: no update due", "dim"))
        if state.next_update_at is None:
            return Text.assemble(("resolution posted: no update due", "dim"))
        overdue = state.overdue_s(now)
        if overdue > 0:
            return Text.assemble((f" {OVERDUE} by {clock_text(overdue)} ", f"bold reverse {error_colour}"))
        left = (state.next_update_at - now).total_seconds()
        return Text(f"next update in {clock_text(left)} (at {state.next_update_at.astimezone(UTC):%H:%M} UTC)")
