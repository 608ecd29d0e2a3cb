"""Command palette entries: every action with its risk, run through the runner (preview and confirm first)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from console.tui.controllers.incident import INCIDENT_COMMANDS

if TYPE_CHECKING:
    from actions.runner import Runner
    from console.tui.controllers.incident import IncidentControl


class PaletteHost(Protocol):
    """What the palette needs of the app: the runner, the incident controller and the way to request an action."""

    runner: Runner
    incident: IncidentControl

    def request_action(self, name: str, params: dict | None = None) -> None: ...


class IncidentCommands(Provider):
    """Palette entries for the incident: declare, severity, status, note, status update, post-mortem."""

    async def discover(self) -> Hits:
        app = cast("PaletteHost", self.app)
        for command, text in INCIDENT_COMMANDS.items():
            yield DiscoveryHit(text, partial(app.incident.open_screen, command))

    async def search(self, query: str) -> Hits:
        app = cast("PaletteHost", self.app)
        matcher = self.matcher(query)
        for command, text in INCIDENT_COMMANDS.items():
            if (score := matcher.match(text)) > 0:
                yield Hit(score, matcher.highlight(text), partial(app.incident.open_screen, command))


class ActionCommands(Provider):
    """`ctrl+p` / `:` lists actions as "Run NAME (risk) — description"; read-only consoles list them but refuse."""

    def _entries(self) -> list[tuple[str, str, str]]:
        app = cast("PaletteHost", self.app)
        suffix = " — refused: read-only" if app.runner.read_only else ""
        return [
            (f"Run {name} ({action.risk.value})", name, (action.description or "") + suffix)
            for name, action in sorted(app.runner.actions.items())
        ]

    async def discover(self) -> Hits:
        app = cast("PaletteHost", self.app)
        for text, name, help_text in self._entries():
            yield DiscoveryHit(text, partial(app.request_action, name), help=help_text)

    async def search(self, query: str) -> Hits:
        app = cast("PaletteHost", self.app)
        matcher = self.matcher(query)
        for text, name, help_text in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(app.request_action, name), help=help_text)
