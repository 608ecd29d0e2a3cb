"""Connects guided triage to the screens: the playbooks, the running engine, the banner line and the step actions.

The engine (`console.triage`) decides and journals; this controller only calls it off the event loop (every call
reads and may append the journal), polls it after every live update and once a second while a run goes on or the
triage screen shows, and turns a step into what the operator does: answer a question, look at a pane, run the
proposed action through the runner, post an update.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any, Protocol, assert_never

from console.clock import Clock
from console.config import Config
from console.incident.events import IncidentError
from console.journal import Journal, JournalError
from console.journal.cursor import JournalCursor
from console.live import LiveState
from console.models import State
from console.sources.base import BY_NAME
from console.triage.errors import TriageError
from console.tui.controllers import TextualApp, showing
from console.tui.screens.pick import PickScreen
from console.tui.screens.prompt import PromptScreen
from widgets.messages import Filterable

if TYPE_CHECKING:
    from textual.timer import Timer

    from console.triage.engine import StepView, TriageEngine
    from console.triage.playbook import Playbook
    from console.triage.run import RunState
    from console.triage.steps import Answer, Propose, Show
    from console.triage.suggest import Suggestion
    from console.tui.attention import Attention
    from console.tui.controllers.incident import IncidentControl
    from console.tui.screens.dashboard import DashboardScreen
    from console.tui.screens.wall import WallScreen


class TriageHost(TextualApp, Protocol):
    """What the controller needs of the app: a Textual app with a dashboard, the incident controller and the way
    to request an action (form, preview, confirmation, journal)."""

    incident: IncidentControl

    @property
    def dashboard(self) -> DashboardScreen | WallScreen: ...  # the wall takes the dashboard's calls in its place

    def request_action(self, name: str, params: dict | None = None) -> None: ...

    @property
    def attention(self) -> Attention: ...


class TriageControl:
    """The app's side of guided triage."""

    def __init__(
        self, app: TriageHost, config: Config, journal: Journal, live: LiveState, clock: Clock, *, follow_only: bool
    ) -> None:
        self.app = app
        self.config = config
        self.journal = journal
        self.live = live
        self.clock = clock
        self.follow_only = follow_only  # the wall: shows the runs the consoles drive, never takes a step itself
        self.playbooks: list[Playbook] = []
        self.loaded = False  # the playbooks load after the first paint: until then the list says so, not "none"
        self.problems: list[str] = []
        self.engine: TriageEngine | None = None
        self.view: StepView | None = None
        self.finished: TriageEngine | None = None  # the run that ended last, shown until another one runs
        self.setbacks: dict[str, str] = {}  # playbooks whose run in this incident fell short: ranked last
        self._runs: dict[int, RunState] = {}  # every run in the journal, read as it grows
        self._cursor = JournalCursor(journal)
        self._busy = asyncio.Lock()
        self._ticker: Timer | None = None  # made by start(), after the first paint

    def start(self) -> None:
        self.app.run_worker(self._resume, group="triage", exit_on_error=False)
        self._ticker = self.app.set_interval(1.0, self.poll, pause=True)  # see keep_ticking
        self.live.subscribe(lambda models, changes: changes and self.app.call_later(self.poll))

    async def _resume(self) -> None:
        """Load the playbooks; the first poll picks up the run in progress, if any (a restarted console resumes it).

        The triage modules are imported here, after the first paint, not with the app."""
        from console.triage.builtins import all_playbooks

        self.playbooks, self.problems = await asyncio.to_thread(all_playbooks, self.config)
        self.loaded = True
        if (screen := self._screen()) is not None:
            screen.show_playbooks()  # opened before the playbooks were loaded (they load after the first paint)
        for problem in self.problems:
            self.app.notify(problem, severity="warning", timeout=15, markup=False)
        await self.poll()

    # -- reading ----------------------------------------------------------------------------------

    def suggestions(self) -> list[Suggestion]:
        from console.triage.suggest import suggest

        return suggest(self.playbooks, self.live, self.config.incident.scheme, self.setbacks)

    def latest(self, name: str) -> Playbook | None:
        return next((p for p in self.playbooks if p.name == name), None)

    def banner_text(self) -> tuple[str, str]:
        """(`triage: TITLE, step 3/7`, `triage 3/7`) while a playbook runs, else empty texts."""
        if self.engine is None or self.view is None or self.view.step is None:
            return "", ""
        steps = [s.id for s in self.engine.playbook.steps]
        position = f"{steps.index(self.view.step.id) + 1 if self.view.step.id in steps else 0}/{len(steps)}"
        return f"triage: {self.engine.playbook.title}, step {position}", f"triage {position}"

    def hint(self) -> str:
        """The dashboard's line back into triage (after the key): the next step while a run goes on, else the
        playbook that fits best, else a word when a check is CRIT or DOWN; empty when there is nothing to lead to."""
        if self.engine is not None and self.view is not None and self.view.step is not None:
            step = self.view.step
            return f"continue {self.banner_text()[1]}: next, {step.title or step.describe()}"
        suggestions = self.suggestions()
        if suggestions:
            top = suggestions[0]
            return f"guided triage: {top.playbook.title} ({top.severity}) fits"
        if any(check.state in (State.CRIT, State.DOWN) for check in self.live.checks()):
            return "guided triage: checks are failing; pick a playbook"
        return ""

    # -- moving -----------------------------------------------------------------------------------

    async def poll(self) -> None:
        """Read the runs the journal gained (one started elsewhere is followed), let the engine take the steps that
        need no operator; show the result."""
        if self._busy.locked():
            self._show()
            return
        await self._call(None)

    async def begin(self, playbook: Playbook, severity: str) -> None:
        """Start `playbook` in the open incident; with none open, first offer to declare one (suggested severity)."""
        open_id = await asyncio.to_thread(self.app.incident.desk.open_incident_id)
        if open_id is not None:
            await self._start(playbook, open_id)
            self.app.incident.offer_severity(severity, f"the playbook {playbook.title!r}")
            return

        def chosen(answer: str | None) -> None:
            if answer is not None:
                self.app.run_worker(self._declare_and_start(playbook, severity if answer == "declare" else None))

        options = [("declare", f"Declare {severity}: {playbook.title}"), ("start", "Start without an incident")]
        self.app.push_screen(PickScreen("No incident is open. Declare one first?", options), chosen)

    async def do_current(self, choice: str | None = None) -> None:
        """`enter`: do what the current step waits on the operator for (every kind says it with its move); `choice`
        answers a question whose choices the screen shows."""
        from console.triage.steps import Answer, PostUpdate, Propose, Show, Wait

        view = self.view
        if self.engine is None or view is None or view.step is None:
            return
        step_id, move = view.step.id, view.move
        match move:
            case Answer():
                if choice is not None and choice in move.choices:
                    await self._answer(step_id, choice)
                else:
                    self._ask(step_id, move)
            case Show():
                self._look(move)
                await self._call(self.engine.proceed, step=step_id)
            case Propose():
                self._preview(step_id, move)
            case PostUpdate():
                await self._move_incident(move.status)
                self.app.incident.compose_update(move.note)  # the step goes on once the update is posted
            case Wait() | None:
                await self.poll()
            case _:
                assert_never(move)

    def ask_skip(self) -> None:
        if self.engine is None or self.view is None or self.view.step is None:
            return
        step_id = self.view.step.id

        def skip(reason: str | None) -> None:
            if reason is not None and self.engine is not None:
                self.app.run_worker(self._call(self.engine.skip, reason.strip() or "no reason given", step=step_id))

        self.app.push_screen(PromptScreen(f"Skip {step_id}: why? (journaled)"), skip)

    async def back(self) -> None:
        if self.engine is not None:
            await self._call(self.engine.back)

    def ask_abandon(self) -> None:
        """`x`: asks first; an abandoned run ends where it is and its playbook ranks last in this incident."""
        engine = self.engine
        if engine is None:
            return

        def chosen(answer: str | None) -> None:
            if answer == "abandon":
                self.app.run_worker(self._call(engine.abandon, "abandoned by the operator"))

        options = [("keep", "No, keep going"), ("abandon", "Abandon it (journaled; its playbook then ranks last)")]
        self.app.push_screen(PickScreen(f"Abandon {engine.playbook.title}?", options, "keep"), chosen)

    # -- internals --------------------------------------------------------------------------------

    async def _call(self, method: Any | None, *args: Any, **kwargs: Any) -> None:
        """Run an engine method (if any) off the event loop, then let the engine move on and show where it is."""
        async with self._busy:
            try:
                if method is not None:
                    await asyncio.to_thread(method, *args, **kwargs)
                await asyncio.to_thread(self._follow_runs)
                if self.engine is not None:
                    self.view = await asyncio.to_thread(self._step)
            except (TriageError, JournalError) as exc:
                self._error(exc)
        if self.view is not None and self.view.step is None and self.engine is not None:
            self._finished(self.engine, self.view.outcome)
        self._show()

    def _finished(self, engine: TriageEngine, outcome: str | None) -> None:
        """The run ended: say so, keep it on show; a playbook that mitigated the incident may name it better."""
        from console.triage.run import mitigated

        self.app.notify(f"Triage finished: {engine.playbook.title} ({outcome})", timeout=10)
        self.finished, self.engine, self.view = engine, None, None
        if mitigated(engine.state) and not self.follow_only:
            self.app.incident.offer_title(engine.playbook.title, f"{engine.playbook.title!r} mitigated it")

    def _follow_runs(self) -> None:
        """(In a thread.) Read the runs the journal gained: with none running here, the latest unfinished one is
        followed (started by another console, or before a restart); the setbacks of this incident are kept."""
        from console.triage.engine import TriageEngine
        from console.triage.run import feed, open_run, setbacks

        entries, restarted = self._cursor.read()
        if restarted:
            self._runs = {}
        for entry in entries:
            feed(self._runs, entry)
        state = self.app.incident.desk.tracker.state  # kept current by the incident controller
        self.live.incident = state.facts() if state is not None else None  # for `incident.*` conditions
        self.setbacks = setbacks(self._runs, state.id if state is not None and state.is_open else None)
        if self.engine is None and (running := open_run(self._runs)) is not None:
            self.engine = TriageEngine(self.journal, self.live, self.clock, running.run)

    def _step(self) -> StepView:
        """(In a thread.) Where the run is: the engine takes what needs no operator; the wall only reads."""
        from console.triage.engine import StepView

        assert self.engine is not None
        if not self.follow_only:
            return self.engine.poll()
        self.engine.sync()
        current = self.engine.current
        return StepView(current) if current is not None else self.engine.view()

    def _preview(self, step_id: str, move: Propose) -> None:
        """The proposed action's form or preview (nothing runs before its confirmation)."""
        if move.proposal.error:
            self.app.notify(f"{step_id}: {move.proposal.error}", severity="error", markup=False)
            return
        self.app.request_action(move.proposal.action, dict(move.proposal.params))

    async def _answer(self, step_id: str, answer: str) -> None:
        """Answer the question; an answer that leads to an action opens its preview at once (the operator chose it;
        nothing runs before the confirmation)."""
        from console.triage.steps import Propose

        if self.engine is None:
            return
        await self._call(self.engine.answer, answer, step=step_id)
        view = self.view
        if view is not None and view.step is not None and isinstance(view.move, Propose):
            self._preview(view.step.id, view.move)

    def _ask(self, step_id: str, move: Answer) -> None:
        def answered(answer: str | None) -> None:
            if answer is not None:
                self.app.run_worker(self._answer(step_id, answer))

        if move.choices:
            self.app.push_screen(PickScreen(move.question, [(label, label) for label in move.choices]), answered)
        else:
            self.app.push_screen(PromptScreen(move.question), answered)

    def _look(self, move: Show) -> None:
        """Show the evidence: the dashboard with the pane of the step's source in front (and its filter applied)."""
        from console.tui.screens.dashboard import DashboardScreen  # already imported: the dashboard shows

        dashboard = self.app.dashboard
        if not isinstance(dashboard, DashboardScreen):  # the wall runs no step
            return
        while self.app.screen is not dashboard and len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        section = BY_NAME[move.pane].section  # a section with no pane shown (health's tiles): the dashboard itself
        index = next((n for n, pane in enumerate(dashboard.panes) if pane.section == section), None)
        if index is not None:
            dashboard.action_focus_pane(index)
            widget = dashboard.panes[index].widget
            if move.filter and isinstance(widget, Filterable):
                widget.set_filter(move.filter)

    async def _move_incident(self, status: str | None) -> None:
        """The status an update step names (e.g. mitigated), when the open incident is not there yet."""
        desk = self.app.incident.desk
        state = await asyncio.to_thread(desk.state)
        if status is None or state is None or not state.is_open or state.status.value == status:
            return
        try:
            await asyncio.to_thread(desk.set_status, status)
        except (IncidentError, JournalError) as exc:
            self._error(exc)
        await self.app.incident.refresh()

    async def _declare_and_start(self, playbook: Playbook, severity: str | None) -> None:
        incident = None
        if severity is not None:
            try:
                entry = await asyncio.to_thread(self.app.incident.desk.declare, playbook.title, severity)
            except (IncidentError, JournalError) as exc:
                self._error(exc)
                return
            incident = entry["incident"]
            await self.app.incident.refresh()
        await self._start(playbook, incident)

    async def _start(self, playbook: Playbook, incident: str | None) -> None:
        from console.triage.engine import TriageEngine

        try:
            self.engine = await asyncio.to_thread(
                TriageEngine.start, playbook, self.journal, self.live, self.clock, incident=incident
            )
        except (TriageError, JournalError) as exc:
            self._error(exc)
            return
        self.finished = None
        await self.poll()

    def keep_ticking(self) -> None:
        """Poll once a second while a run goes on or the triage screen shows; else the timer sleeps (live state
        changes still poll): an idle dashboard does not wake every second for nothing."""
        if self._ticker is None:
            return
        if self.engine is not None or self._screen() is not None:
            self._ticker.resume()
        else:
            self._ticker.pause()

    def _show(self) -> None:
        from console.tui.screens.dashboard import DashboardScreen  # already imported: the dashboard shows

        view = self.view
        if view is not None and view.step is not None and view.move is not None:
            from console.triage.steps import Wait

            if not isinstance(view.move, Wait):  # the run waits on the operator (an answer, a look, an action...)
                self.app.attention.need(f"triage: {view.step.title or view.step.id} waits for you")
        dashboard = self.app.dashboard
        dashboard.banner.set_triage(*self.banner_text())
        if isinstance(dashboard, DashboardScreen):  # the wall leads nowhere
            key = self.config.keys.get("app.triage", "t").split(",")[0].strip()
            dashboard.triage_hint.show(key, self.hint())
        if (screen := self._screen()) is not None:
            screen.refresh_suggestions()
            screen.show_run()
        self.keep_ticking()

    def _screen(self) -> Any | None:
        """The triage screen if it is the one showing."""
        module = sys.modules.get("console.tui.screens.triage")  # not imported: the screen was never shown
        screen = showing(self.app)
        return screen if module is not None and isinstance(screen, module.TriageScreen) else None

    def _error(self, exc: Exception) -> None:
        self.app.notify(str(exc), severity="error", timeout=10, markup=False)
