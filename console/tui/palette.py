"""The command palette: the console's actions and incident commands first, then what Textual offers (theme...)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from operator import attrgetter
from typing import TYPE_CHECKING, Protocol, cast

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider

from widgets.outside import outside_markup

if TYPE_CHECKING:
    from textual.screen import Screen

    from actions.runner import Runner
    from console.tui.controllers.incident import IncidentControl

QUIT_HELP = "Quit the console (while an action runs: asks again, then cancels it, journaled)"
TRIAGE = ("Guided triage", "Playbooks that fit what the console sees, walked step by step (t)")


class PaletteHost(Protocol):
    """What the palette needs of the app: the runner, the incident controller, the way to request an action,
    triage, the console's quit and Textual's own commands."""

    runner: Runner
    incident: IncidentControl

    def request_action(self, name: str, params: dict | None = None) -> None: ...

    def action_triage(self) -> None: ...

    async def action_quit_console(self) -> None: ...

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]: ...


class ConsoleCommands(Provider):
    """`ctrl+p` / `:` lists "Run NAME (risk) — description" for every action (a read-only console lists them but
    refuses), the incident commands and triage, then Textual's commands (theme, keys, screenshot...; Quit is the
    console's).

    One provider for all of them: the palette shows the hits of several providers in the order they arrive.
    """

    def _commands(self) -> list[SystemCommand]:
        app = cast("PaletteHost", self.app)
        suffix = " — refused: read-only" if app.runner.read_only else ""
        actions = [
            SystemCommand(  # the palette reads titles and help as markup: the config's words are escaped
                outside_markup(f"Run {action.label or name} ({action.risk.value})"),
                outside_markup(action.description) + suffix,
                partial(app.request_action, name),
            )
            for name, action in sorted(app.runner.actions.items())
        ]
        incident = [
            SystemCommand(text, "", partial(app.incident.open_screen, cmd))
            for cmd, text in app.incident.COMMANDS.items()
        ]
        incident.append(SystemCommand(*TRIAGE, app.action_triage))
        textual = [command for command in app.get_system_commands(self.screen) if command.title != "Quit"]
        textual.append(SystemCommand("Quit", QUIT_HELP, app.action_quit_console))
        return actions + incident + sorted(textual, key=attrgetter("title"))

    async def discover(self) -> Hits:
        for command in self._commands():
            if command.discover:
                yield DiscoveryHit(command.title, command.callback, help=command.help or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            if (score := matcher.match(command.title)) > 0:
                yield Hit(score, matcher.highlight(command.title), command.callback, help=command.help or None)
