"""ConsoleApp: wires the config, feeds, runner and journal to the screens. It routes; it does not render or query."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from actions.base import ParamError
from actions.runner import ActionRefused, Runner
from console.clock import Clock
from console.config import Config
from console.incident.commands import IncidentDesk
from console.journal import JournalError
from console.live import LiveState
from console.observer import Observer
from console.polling import groups as poll_groups
from console.sources.base import Feeds, build_feeds
from console.sustain import Sustain
from console.tui.controllers.incident import IncidentControl
from console.tui.controllers.share import ShareControl
from console.tui.controllers.triage import TriageControl
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
WALL_REFUSES = frozenset({"command_palette", "note", "incident", "triage"})  # app actions that act


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
        Binding("t", "triage", "Triage", id="app.triage"),
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
        wall: bool = False,
    ) -> None:
        super().__init__()
        self.config = config
        self.runner = runner
        self.clock = clock or Clock()
        self.theme_name = theme or config.console.theme
        self.feeds = feeds
        self.live = LiveState(self.clock, Sustain.from_config(config))
        self.observer = Observer(runner.journal)
        self.notices = notices or []
        self.incident = IncidentControl(self, IncidentDesk(runner.journal, self.clock, config.incident))
        self.triage = TriageControl(self, config, runner.journal, self.live, self.clock)
        self.share = ShareControl(self, config, runner.journal)
        self._quit_asked = 0.0
        self.wall = wall

    async def on_mount(self) -> None:
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = self.theme_name
        self.set_keymap(self.config.keys)
        if self.wall:
            from console.tui.screens.wall import WallScreen  # not on the dashboard's first-paint path

            self.dashboard = WallScreen()
        else:
            panes, read_only = build_panes(self.config, self.notices), self.runner.read_only
            self.dashboard = DashboardScreen(self.config, read_only=read_only, panes=panes, clock=self.clock)
        await self.push_screen(self.dashboard)
        self.live.subscribe(self.dashboard.show)
        self.call_after_refresh(self._start_feeds)
        self._check_journal()
        self.incident.start()
        self.triage.start()
        self.share.start()

    def _start_feeds(self) -> None:
        """After the first paint: building feeds imports the drivers, which the first paint must not wait for."""
        if self.feeds is None:
            self.feeds = build_feeds(self.config, self.clock, status_only=self.wall)  # the wall shows no logs
        for group in poll_groups(self.feeds.polled, self._deliver):
            self.run_worker(group.run(), name=f"poll every {group.interval:g}s", group="feeds", exit_on_error=False)
        for source in self.feeds.streams:
            self.run_worker(self._follow(source), name=f"log {source.settings.name}", group="logs", exit_on_error=False)
        if self.feeds.streams:
            self.set_interval(self.config.console.refresh, self._log_stats)
        gc.freeze()  # startup objects leave the collector's scans: no long pauses while logs flood

    async def _follow(self, source: Any) -> None:
        from widgets.log_pane import LogPane

        pane = self.dashboard.query_one(LogPane)
        async for batch in source.stream():
            pane.append(batch)

    async def _log_stats(self) -> None:
        await self._deliver([source.stats() for source in self.feeds.streams])

    async def on_unmount(self) -> None:
        if self.feeds is not None:
            await self.feeds.aclose()

    async def _deliver(self, models: list[Any]) -> None:
        """A batch of models into the live state (its listeners render it), then journal the state changes."""
        changes = self.live.update(models)
        if await self.observer.record(changes):
            await self.incident.refresh()

    @on(Worker.StateChanged)
    async def _worker_failed(self, event: Worker.StateChanged) -> None:
        """No silent failures: a worker that dies is shown on screen and journaled as `console.error`."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        text = f"{event.worker.name or 'background task'} failed: {type(error).__name__}: {error}"
        self.notify(text, severity="error", timeout=30, markup=False)
        try:
            await asyncio.to_thread(
                self.runner.journal.append, "console.error", {"worker": event.worker.name, "error": text}
            )
        except JournalError:
            pass  # the notification above is all that can be done

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
        try:
            self.runner.refuse_if_read_only(action)
        except ActionRefused as exc:
            self.notify(str(exc), severity="error", markup=False)
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

        secret = self.runner.get(name).secret_params
        self.push_screen(ActionFormScreen(name, description, fields, values, error, secret), submitted)

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool:
        return not (self.wall and action in WALL_REFUSES)

    def action_incident(self) -> None:
        self.incident.open_screen()

    def action_note(self) -> None:
        self.incident.ask_note()

    def action_triage(self) -> None:
        from console.tui.screens.triage import TriageScreen

        if not isinstance(self.screen, TriageScreen):
            self.push_screen(TriageScreen(self.triage))

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

    if unknown := unknown_keys(config.keys, ConsoleApp):
        raise ConfigError(
            f"{config.source}: keys.{unknown[0]}: no binding has this id (run the console and press ? to list the ids)"
        )
    try:
        name = choose_theme(theme, config.console.theme, bool(os.environ.get("NO_COLOR")))
    except ValueError as exc:
        raise ConfigError(f"{config.source}: console.theme / --theme: {exc}") from None
    runner = build_runner(config, read_only=read_only or wall)
    if wall:
        from console.tui.screens.wall import unreadable_journal

        if problem := unreadable_journal(runner.journal.path):
            raise ConfigError(problem)
    app = ConsoleApp(config, runner, theme=name, wall=wall)
    app.run()
    return app.return_code or 0
