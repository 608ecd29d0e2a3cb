"""ConsoleApp: wires the config, feeds, runner and journal to the screens. It routes; it does not render or query.

Its first frame is the shell (console/tui/shell.py), painted before the config is read. So this module imports
only Textual and what that frame needs; the console's parts (config, live state, controllers, the dashboard, the
feeds) are imported where they are built, once the shell is on screen (`_wire`, `_console_screen`,
`console.tui.controllers.feeds`, and `console.tui.startup` in the loader thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from console.clock import Clock
from console.journal import JournalError
from console.redact import make_safe
from console.stop_signals import cancel_reason, on_stop_signals
from console.tui.attention import Attention
from console.tui.collector import collect_less
from console.tui.palette import ConsoleCommands
from console.tui.screens.detail import DetailScreen
from console.tui.screens.help import HelpScreen
from console.tui.screens.prompt import PromptScreen
from console.tui.shell import LoadingScreen
from themes import DEFAULT_THEME, STYLESHEET, THEMES, choose_theme
from widgets.messages import ActionRequested, DetailRequested, Filterable, FilterRequested
from widgets.outside import ControlNet

if TYPE_CHECKING:
    from textual.driver import Driver
    from textual.filter import LineFilter
    from textual.notifications import SeverityLevel

    from actions.runner import Runner
    from console.config import Config
    from console.live import CheckChange
    from console.sources.base import Feeds
    from console.tui.controllers.replay import ReplayControl, ReplayStart
    from console.tui.screens.dashboard import DashboardScreen
    from console.tui.screens.wall import WallScreen
    from console.tui.startup import Loaded
    from widgets.log_pane import LogPane
    from widgets.timeline import Timeline

QUIT_AGAIN_WITHIN = 5.0
QUIT_REASON = "the operator quit the console"
FIRST_DATA_WAIT = 0.5  # seconds the controllers wait for the first polled data before they start anyway
WALL_REFUSES = frozenset({"command_palette", "note", "incident", "triage", "page"})  # app actions that act


class ConsoleApp(App[int]):
    """The incident console for one environment."""

    HELP_PLACE = "everywhere"

    CSS_PATH = STYLESHEET
    TITLE = "incident-console"
    COMMANDS = {ConsoleCommands}  # Textual's commands come after the console's, from the same provider
    BINDINGS = [
        Binding("ctrl+p,colon", "command_palette", "Actions", show=False, id="app.palette"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit_console", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit_console", "Quit", show=False, id="app.interrupt"),
        Binding("ctrl+q", "quit", "Quit from any screen", show=False, priority=True, id="app.quit_anywhere"),
        Binding("i", "incident", "Incident", id="app.incident"),
        Binding("a", "note", "Note", id="app.note"),
        Binding("t", "triage", "Triage", id="app.triage"),
        Binding("P", "page", "Page", show=False, id="app.page"),
    ]

    def __init__(
        self,
        config: Config | None = None,
        runner: Runner | None = None,
        *,
        load: Callable[[], Loaded] | None = None,
        clock: Clock | None = None,
        theme: str | None = None,
        feeds: Feeds | None = None,
        notices: list[tuple[str, str]] | None = None,
        wall: bool = False,
        replay: ReplayStart | None = None,
    ) -> None:
        """Either a `config` and its `runner`, or `load`: called in a thread while the shell shows, it returns them."""
        super().__init__()
        self.clock = clock or Clock()
        self.feeds = feeds
        self.notices = notices or []
        self.wall = wall
        self.replaying = replay  # `incident-console replay`: a recording, not the targets (`replay`, once wired)
        self.ready = False  # the console is wired (until then the shell shows and only quitting works)
        self.load_error: BaseException | None = None  # run_tui raises it once the terminal is restored
        self._load = load
        self._quit_asked = 0.0
        self._signals = contextlib.ExitStack()
        self.attention = Attention(self, ())  # the config's signals once it is read (`_wire`)
        self.net = ControlNet()  # the last line: see widgets/outside.py
        for console_theme in THEMES.values():
            self.register_theme(console_theme)
        if config is not None and runner is not None:
            self._wire(config, runner)
        # Set before the first paint, so the stylesheet is applied once, not twice.
        self.theme = theme or (config.console.theme if config is not None else DEFAULT_THEME)

    def get_driver_class(self) -> type[Driver]:
        """Textual's own choice, except that on a Unix terminal the driver survives a hangup (console/tui/driver.py)."""
        from textual.drivers.linux_driver import LinuxDriver

        from console.tui.driver import HangupSafeDriver

        chosen = super().get_driver_class()
        return HangupSafeDriver if chosen is LinuxDriver else chosen

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters (colour, NO_COLOR), then the control net on every painted line."""
        return [*super().get_line_filters(), self.net]

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification, a widget's too: never markup, whatever `markup` says (messages carry data), controls
        made visible."""
        safe = make_safe(message, newlines=True)
        super().notify(safe, title=make_safe(title), severity=severity, timeout=timeout, markup=False)

    def _wire(self, config: Config, runner: Runner) -> None:
        """The live state, the observer and the controllers for `config`."""
        # Imported here on purpose: not on the shell's path (module docstring).
        from console.incident.commands import IncidentDesk
        from console.live import LiveState
        from console.observer import Observer
        from console.sources.base import sustain_rules
        from console.sustain import Sustain
        from console.tui.controllers.actions import ActionControl
        from console.tui.controllers.feeds import FeedControl
        from console.tui.controllers.incident import IncidentControl, posting_channels
        from console.tui.controllers.outbox import OutboxControl
        from console.tui.controllers.record import RecordControl
        from console.tui.controllers.share import ShareControl
        from console.tui.controllers.triage import TriageControl

        self.config = config
        self.runner = runner
        # a replay's checks were judged when recorded: no `for` rules judge them again
        self.live = LiveState(self.clock, Sustain(sustain_rules(config) if self.replaying is None else {}))
        self.observer = Observer(runner.journal)
        self.polling = FeedControl(self, config, self.clock, self.live, runner.journal, self._changed, wall=self.wall)
        self.actions = ActionControl(self, runner)
        desk = IncidentDesk(runner.journal, self.clock, config.incident)
        self.incident = IncidentControl(self, desk, posting_channels(config, runner.read_only), config)
        runner.shared = desk.tracker.remote_entries  # other hosts' actions count as overlaps too
        self.outbox = OutboxControl(self, config, runner)
        self.attention = Attention(self, () if self.wall else config.console.notify)
        self.triage = TriageControl(self, config, runner.journal, self.live, self.clock, follow_only=self.wall)
        self.share = ShareControl(self, config, runner.journal)
        self.recording = RecordControl(self, config, self.live)
        self.replay: ReplayControl | None = None
        if self.replaying is not None:  # imported only for a replay
            from console.tui.controllers.replay import ReplayControl

            self.replay = ReplayControl(self, self.replaying, self.live)

    async def on_mount(self) -> None:
        self._signals.enter_context(on_stop_signals(self._stop_signalled))
        if self._load is None:
            await self._show_console()
        else:
            await self.push_screen(LoadingScreen("the config"))
            self.call_after_refresh(self._load_console)

    @work(thread=True, name="load the config")
    def _load_console(self) -> None:
        """In a thread, after the shell's first paint: read and check the config, build the runner, then wire the
        console and show it. A mistake ends the app (run_tui raises it once the terminal is restored)."""
        assert self._load is not None
        try:
            loaded = self._load()
        except BaseException as exc:  # re-raised by run_tui, once the terminal is restored
            self.load_error = exc
            self.call_from_thread(self.exit, None, 2)
            return
        # Textual types the callback T | Awaitable[T], from which mypy infers Never for a coroutine function; it is
        # awaited on the app's loop and returns None
        self.call_from_thread(self._loaded, loaded)  # type: ignore[arg-type]

    async def _loaded(self, loaded: Loaded) -> None:
        self.replaying = loaded.replay
        self._wire(loaded.config, loaded.runner)
        self.theme = loaded.theme
        await self._show_console()
        for warning in loaded.config.warnings:
            self.notify(warning, title="config", severity="warning", timeout=30, markup=False)

    async def _show_console(self) -> None:
        self._lend_terminal()
        self.dashboard = self._console_screen()
        self.ready = True
        self.set_keymap(self.config.keys)
        if self.replay is None:  # the first answers are on their way while the dashboard mounts
            self.feeds = self.polling.start_polls(self.feeds)
        if isinstance(self.screen, LoadingScreen):
            await self.switch_screen(self.dashboard)
        else:
            await self.push_screen(self.dashboard)
        self.live.subscribe(self.dashboard.show)
        self.polling.shown.set()
        self.call_after_refresh(self.run_worker, self._start, name="start", group="start", exit_on_error=False)

    def _lend_terminal(self) -> None:
        """A step that needs the terminal gets it with the screen suspended (console/terminal.py); only a driver
        that can suspend has one to lend (not Pilot's, not a web one)."""
        from console.terminal import Terminal

        if self._driver is not None and self._driver.can_suspend:
            self.runner.ctx = dataclasses.replace(self.runner.ctx, terminal=Terminal.attached(self.suspend))

    def _console_screen(self) -> DashboardScreen | WallScreen:
        """The dashboard (its panes for the config), or the wall."""
        # Imported here on purpose: not on the shell's path (module docstring).
        if self.replay is not None:
            from console.tui.screens.replay import replay_screen

            return replay_screen(self.replay, self.wall, self.config, self.notices, self.clock)
        if self.wall:
            from console.tui.screens.wall import WallScreen

            return WallScreen()
        from console.tui.panes import build_panes
        from console.tui.screens.dashboard import DashboardScreen

        panes, read_only = build_panes(self.config, self.notices), self.runner.read_only
        return DashboardScreen(self.config, read_only=read_only, panes=panes, clock=self.clock)

    async def _start(self) -> None:
        """After the first paint of the dashboard: the logs; then, once the first polled data is shown (or after
        FIRST_DATA_WAIT), the recorder, the journal check and the controllers (the triage one imports the
        playbooks), so that neither paint waits for them; then the collector (console/tui/collector.py). A replay
        shows the recording instead: no feeds, and no controller that writes or sends."""
        if self.replay is not None:
            self.replay.start()
            collect_less()
            return
        assert self.feeds is not None  # started by _show_console
        self.polling.follow_logs(self.feeds.streams, self._log_pane)
        await self.polling.until_first_data(self.feeds, FIRST_DATA_WAIT)
        if not self.wall:  # the wall polls no logs: a console or `record` records the whole environment
            self.recording.start(self.feeds)
        self._check_journal()
        self.incident.start()
        self.triage.start()
        self.share.start()
        self.outbox.start()
        collect_less()

    def _log_pane(self) -> LogPane:
        from widgets.log_pane import LogPane

        return self.dashboard.query_one(LogPane)

    async def on_unmount(self) -> None:
        self._signals.close()
        if self.feeds is not None:
            await self.feeds.aclose()

    def write_raw(self, text: str) -> None:
        """A sequence of ours straight to the terminal (a desktop notification: console/tui/attention.py)."""
        if not self.is_headless and self._driver is not None:
            self._driver.write(text)

    def on_app_focus(self) -> None:
        self.attention.in_front = True

    def on_app_blur(self) -> None:
        self.attention.in_front = False

    async def _changed(self, changes: list[CheckChange]) -> None:
        """What a batch of the feeds changed: the attention signals, then the state changes journaled."""
        self.attention.checks_changed([(change.check, change.before) for change in changes])
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
        """Palette, widget or triage asked for an action: form, preview, confirmation, run."""
        self.actions.request(name, params)

    @on(ActionRequested)
    def _action_requested(self, message: ActionRequested) -> None:
        self.request_action(message.action, message.params or None)

    @on(FilterRequested)
    def _filter_requested(self, message: FilterRequested) -> None:
        widget = message.widget
        if isinstance(widget, Filterable):
            prompt = "Filter (regular expression; ! inverts; empty clears)"
            self.push_screen(PromptScreen(prompt, message.current, apply=widget.set_filter))

    @on(DetailRequested)
    def _detail_requested(self, message: DetailRequested) -> None:
        self.push_screen(DetailScreen(message.title, message.lines))

    async def on_timeline_pin_toggled(self, message: Timeline.PinToggled) -> None:
        await self.incident.pin(message.seq, message.pinned)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool:
        if not self.ready:  # the shell: only quitting
            return action in ("quit_console", "quit")
        return not ((self.wall or self.replay is not None) and action in WALL_REFUSES)

    def action_incident(self) -> None:
        self.incident.open_screen()

    def action_note(self) -> None:
        self.incident.ask_note()

    def action_page(self) -> None:
        self.outbox.page()

    def action_triage(self) -> None:
        from console.tui.screens.triage import TriageScreen

        if not isinstance(self.screen, TriageScreen):
            self.push_screen(TriageScreen(self.triage))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.screen, self.config.keys, [*self.actions.SCREENS, DetailScreen]))

    async def action_quit_console(self) -> None:
        running = self.actions.running() if self.ready else []
        if running and time.monotonic() - self._quit_asked > QUIT_AGAIN_WITHIN:
            self._quit_asked = time.monotonic()
            self.notify("An action is running: quit again to cancel it (journaled) and exit.", severity="warning")
            return
        await self._stop(QUIT_REASON, 0)

    async def action_quit(self) -> None:
        """ctrl+q (Textual's, reaching past every screen) asks again too while an action runs."""
        await self.action_quit_console()

    async def _stop(self, reason: str, code: int, stop_signal: int = signal.SIGTERM) -> None:
        """Exit once every running action is cancelled with `reason` (a program lent the terminal gets
        `stop_signal`) and its outcome journaled."""
        if self.ready:
            await self.actions.stop_running(reason, stop_signal)
        self.exit(return_code=code)

    def _stop_signalled(self, signal_number: int, why: str) -> None:
        """SIGHUP (the SSH session dropped), SIGTERM or SIGINT: stop as `q` does, exit status 128 + the signal."""
        stop = partial(self._stop, cancel_reason(why), 128 + signal_number, signal_number)
        # Textual types `work` as a union from which mypy infers Never for a coroutine function
        self.run_worker(stop, exit_on_error=False)  # type: ignore[arg-type]


def run_tui(config_path: str | None, *, read_only: bool = False, wall: bool = False, theme: str | None = None,
            replay: tuple[str | None, str | None] | None = None) -> int:  # fmt: skip
    """Entry for `incident-console`: the shell at once, then the config (checked) and the console. A config mistake
    ends the app and is raised here, once the terminal is restored."""

    def load() -> Loaded:
        # aiohttp, which the feeds need as soon as the config is read, is imported meanwhile in a thread of its own:
        # its import loads the system's CA certificates (outside the GIL, beside the config's read on the other core)
        threading.Thread(target=importlib.import_module, args=("aiohttp",), name="import aiohttp", daemon=True).start()
        from console.tui import startup  # in the loader thread, after the shell's first paint

        return startup.load(config_path, read_only=read_only, wall=wall, theme=theme, replay=replay)

    app = ConsoleApp(load=load, theme=_shell_theme(theme), wall=wall)
    app.run()
    if app.load_error is not None:
        raise app.load_error
    return app.return_code or 0


def _shell_theme(requested: str | None) -> str:
    """The shell's theme, before the config is read: --theme or NO_COLOR, else the default (an unknown --theme is
    reported by the loader)."""
    try:
        return choose_theme(requested, DEFAULT_THEME, bool(os.environ.get("NO_COLOR")))
    except ValueError:
        return DEFAULT_THEME
