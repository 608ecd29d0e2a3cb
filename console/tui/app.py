"""ConsoleApp: wires the config, feeds, runner and journal to the screens. It routes; it does not render or query."""

from __future__ import annotations

import gc
import os
import time
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding

from actions.base import ParamError
from actions.runner import ActionRefused, Runner
from console.clock import Clock
from console.config import Config
from console.feeds import Feeds, build_feeds
from console.incident.commands import IncidentDesk
from console.journal import JournalError
from console.models import Risk
from console.observer import Observer
from console.polling import groups as poll_groups
from console.tui.incident_control import IncidentControl
from console.tui.palette import ConsoleCommands
from console.tui.panes import build_panes
from console.tui.screens.action_form import ActionFormScreen
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.dashboard import DashboardScreen
from console.tui.screens.detail import DetailScreen
from console.tui.screens.help import HelpScreen
from console.tui.screens.prompt import PromptScreen
from themes import STYLESHEET, THEMES, choose_theme
from widgets.messages import ActionRequested, DetailRequested, FilterRequested
from widgets.timeline import Timeline

QUIT_AGAIN_WITHIN = 5.0


class ConsoleApp(App[int]):
    """The incident console for one environment."""

    CSS_PATH = STYLESHEET
    TITLE = "incident-console"
    COMMANDS = {ConsoleCommands}  # Textual's commands come after the console's, from the same provider
    BINDINGS = [
        Binding("ctrl+p,colon", "command_palette", "Actions", show=False, id="app.palette"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit_console", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit_console", "Quit", show=False, id="app.interrupt"),
        Binding("i", "incident", "Incident", id="app.incident"),
        Binding("a", "note", "Note", id="app.note"),
    ]

    def __init__(
        self,
        config: Config,
        runner: Runner,
        *,
        clock: Clock | None = None,
        theme: str | None = None,
        feeds: Feeds | None = None,
        notices: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.runner = runner
        self.clock = clock or Clock()
        self.theme_name = theme or config.console.theme
        self.feeds = feeds
        self.observer = Observer(runner.journal)
        self.notices = notices or []
        self.incident = IncidentControl(self, IncidentDesk(runner.journal, self.clock, config.incident))
        self._quit_asked = 0.0

    async def on_mount(self) -> None:
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = self.theme_name
        self.set_keymap(self.config.keys)
        self.dashboard = DashboardScreen(
            self.config, read_only=self.runner.read_only, panes=build_panes(self.config, self.notices), clock=self.clock
        )
        await self.push_screen(self.dashboard)
        self.call_after_refresh(self._start_feeds)
        self._check_journal()
        self.incident.start()

    def _start_feeds(self) -> None:
        """After the first paint: building feeds imports the drivers, which the first paint must not wait for."""
        if self.feeds is None:
            self.feeds = build_feeds(self.config, self.clock)
        for group in poll_groups(self.feeds.polled, self._deliver):
            self.run_worker(group.run(), name=f"poll every {group.interval:g}s", group="feeds", exit_on_error=False)
        for source in self.feeds.logs:
            self.run_worker(self._follow(source), name=f"log {source.settings.name}", group="logs", exit_on_error=False)
        if self.feeds.logs:
            self.set_interval(self.config.console.refresh, self._log_stats)
        gc.freeze()  # startup objects leave the collector's scans: no long pauses while logs flood

    async def _follow(self, source: Any) -> None:
        from widgets.log_pane import LogPane

        pane = self.dashboard.query_one(LogPane)
        async for batch in source.stream():
            pane.append(batch)

    async def _log_stats(self) -> None:
        await self._deliver([source.stats() for source in self.feeds.logs])

    async def on_unmount(self) -> None:
        if self.feeds is not None:
            await self.feeds.aclose()

    async def _deliver(self, models: list[Any]) -> None:
        """Show a batch of models in one screen update, then journal the state changes among them."""
        with self.batch_update():
            for model in models:
                self.dashboard.show(model)
        changed = [
            await self.observer.see(check.source, check.name, check.state, check.reason)
            for model in models
            for check in model.checks()
        ]
        if any(changed):
            await self.incident.refresh()

    @work(thread=True, exit_on_error=False)
    def _check_journal(self) -> None:
        try:
            self.runner.journal.open()
        except JournalError as exc:
            self.call_from_thread(
                self.notify,
                f"{exc}: actions will be refused until it can be written",
                severity="error",
                timeout=30,
                markup=False,
            )

    def request_action(self, name: str, params: dict[str, Any] | None = None) -> None:
        """Palette or widget asked for an action: form (if it has parameters and none were given), then preview."""
        action = self.runner.get(name)
        if self.runner.read_only and action.risk is not Risk.READ:
            self.notify(f"{name}: refused, the console is read-only", severity="error", markup=False)
            return
        fields = [
            (n, f.description or "", f.default if not f.is_required() else None)
            for n, f in action.Params.model_fields.items()
        ]
        if params is None and fields:
            self._ask_params(name, action.description, fields, {}, "")
        else:
            self._preview(name, params or {}, fields)

    def _ask_params(self, name: str, description: str, fields: list, values: dict[str, str], error: str) -> None:
        def submitted(answer: dict[str, str] | None) -> None:
            if answer is not None:
                self._preview(name, answer, fields)

        self.push_screen(ActionFormScreen(name, description, fields, values, error), submitted)

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def _preview(self, name: str, params: dict[str, Any], fields: list) -> None:
        try:
            plan = await self.runner.plan(name, params)
        except ParamError as exc:
            if fields:
                self._ask_params(name, self.runner.get(name).description, fields, params, str(exc))
            else:
                self.notify(str(exc), severity="error", markup=False)
            return
        except ActionRefused as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        await self.push_screen(ActionRunScreen(self.runner, plan), lambda _: self.run_worker(self.incident.refresh()))

    @on(ActionRequested)
    def _action_requested(self, message: ActionRequested) -> None:
        self.request_action(message.action, message.params or None)

    @on(FilterRequested)
    def _filter_requested(self, message: FilterRequested) -> None:
        widget = message.widget
        self.push_screen(
            PromptScreen(
                "Filter (regular expression; ! inverts; empty clears)", message.current, apply=widget.set_filter
            )
        )  # type: ignore[attr-defined]

    @on(DetailRequested)
    def _detail_requested(self, message: DetailRequested) -> None:
        self.push_screen(DetailScreen(message.title, message.lines))

    @on(Timeline.PinToggled)
    async def _pin(self, message: Timeline.PinToggled) -> None:
        await self.incident.pin(message.seq, message.pinned)

    def action_incident(self) -> None:
        self.incident.open_screen()

    def action_note(self) -> None:
        self.incident.ask_note()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.screen, self.config.keys, [ActionRunScreen, ActionFormScreen, DetailScreen]))

    def action_quit_console(self) -> None:
        running = [s for s in self.screen_stack if isinstance(s, ActionRunScreen) and s.running]
        if running and time.monotonic() - self._quit_asked > QUIT_AGAIN_WITHIN:
            self._quit_asked = time.monotonic()
            self.notify("An action is running: press q again to cancel it (journaled) and quit.", severity="warning")
            return
        for screen in running:
            screen.action_close()
        self.exit(0)


def run_tui(config: Config, *, read_only: bool = False, wall: bool = False, theme: str | None = None) -> int:
    """Entry for `incident-console`: validate the theme, build the runner, run the app."""
    from actions.registry import build_runner
    from console.config import ConfigError
    from console.tui.keys import unknown_keys

    if wall:
        raise ConfigError("--wall is not available yet: it arrives with the war-room wall screen")
    if unknown := unknown_keys(config.keys):
        raise ConfigError(
            f"{config.source}: keys.{unknown[0]}: no binding has this id (run the console and press ? to list the ids)"
        )
    try:
        name = choose_theme(theme, config.console.theme, bool(os.environ.get("NO_COLOR")))
    except ValueError as exc:
        raise ConfigError(f"{config.source}: console.theme / --theme: {exc}") from None
    app = ConsoleApp(config, build_runner(config, read_only=read_only), theme=name)
    app.run()
    return app.return_code or 0
