"""Connects the incident desk to the screens: timeline and banner refresh, overdue reminders, notes and pins."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Protocol

from textual.css.query import NoMatches

from console.config import Config
from console.config.channels import POSTING
from console.incident.commands import IncidentDesk
from console.incident.events import IncidentError
from console.journal import JournalError
from console.journal.horizon import on_a_timeline
from console.models.severity import SCHEMES
from console.tui.controllers import TextualApp, showing
from console.tui.screens.pick import PickScreen
from console.tui.screens.prompt import PromptScreen
from widgets.timeline import Timeline

if TYPE_CHECKING:
    from console.incident.state import IncidentState
    from console.tui.attention import Attention
    from console.tui.screens.dashboard import DashboardScreen
    from console.tui.screens.incident import IncidentScreen
    from console.tui.screens.wall import WallScreen


class IncidentHost(TextualApp, Protocol):
    """What the controller needs of the app: a Textual app (screens, workers, timers, toasts) with a dashboard (or
    the wall in its place), and a way to request an action (a status update posted to channels)."""

    @property
    def dashboard(self) -> DashboardScreen | WallScreen: ...

    def request_action(self, name: str, params: dict | None = None) -> None: ...

    @property
    def attention(self) -> Attention: ...


def posting_channels(config: Config, read_only: bool) -> list[tuple[str, str]]:
    """The channels `u` offers to post to, (name, what it is); none on a read-only console (it records updates
    posted by hand only)."""
    if read_only:
        return []
    return [(c.name, f"{c.kind_name}, {c.audience}") for c in config.channel if isinstance(c, POSTING)]


OVERDUE_CHECK_EVERY = 20.0
TIMELINE_REFRESH_EVERY = 1.0  # entries other consoles append show within a second
INCIDENT_COMMANDS = {
    "declare": "Declare an incident",
    "severity": "Change the incident's severity",
    "status": "Change the incident's status",
    "note": "Add a note to the incident (TODO: makes a follow-up)",
    "post_update": "Post a status update",
    "export": "Export the post-mortem (Markdown)",
}


class IncidentControl:
    """The app's side of the incident: what the desk says is shown on the dashboard and the incident screen."""

    COMMANDS = INCIDENT_COMMANDS  # offered by the palette

    def __init__(
        self,
        app: IncidentHost,
        desk: IncidentDesk,
        posting: list[tuple[str, str]] | None = None,
        config: Config | None = None,
    ) -> None:
        self.app = app
        self.desk = desk
        self.posting = posting or []
        self.config = config  # the post-mortem's figures: its recording and thresholds
        self._open = False  # an incident was open at the last refresh
        self._shown: tuple | None = None  # what the timeline and banner show

    def start(self) -> None:
        self.app.set_interval(TIMELINE_REFRESH_EVERY, partial(self.refresh, only_if_changed=True))
        self.app.set_interval(OVERDUE_CHECK_EVERY, self.check_overdue)
        self.app.set_interval(OVERDUE_CHECK_EVERY, self.check_stranded)
        self.app.run_worker(self._first_refresh, group="incident", exit_on_error=False)

    async def _first_refresh(self) -> None:
        await self.refresh()
        await self.check_stranded()

    async def check_stranded(self) -> None:
        """An action whose console died mid-run (SIGKILL, out of memory, a restart) gets its unknown outcome
        journaled, and the operator is told to check what it did; then a checkpoint, when one is due, keeps the next
        start's walk back short."""
        try:
            written = await asyncio.to_thread(self.desk.close_stranded)
            await asyncio.to_thread(self.desk.checkpoint)
        except (IncidentError, JournalError):
            return
        for entry in written:
            data = entry["data"]
            self.app.notify(
                f"✖ {data['action']} (journal seq {entry['corr']}) never finished: {data['message']}.",
                severity="error",
                timeout=120,
                markup=False,
            )
        if written:
            await self.refresh()

    async def refresh(self, *, only_if_changed: bool = False) -> None:
        """Read what was appended to the journal (other consoles may share it); update the timeline and banner."""
        tracker = self.desk.tracker
        if only_if_changed and tracker.caught_up():  # the timer's every second: no thread hop to learn nothing new
            return
        try:
            new = await asyncio.to_thread(tracker.catch_up)
        except (IncidentError, JournalError):
            return
        for problem in tracker.take_unreadable():  # skipped, and the timeline keeps following what comes after
            self.app.notify(f"✖ {problem}: skipped it", severity="error", timeout=60, markup=False)
        if only_if_changed and not new:
            return
        await self.paint(tracker.state, list(tracker.recent))

    async def paint(self, state: IncidentState | None, recent: list[dict]) -> None:
        """Show `state` (None: no incident; `recent` entries fill the timeline) on the timeline and the banner: the
        journal's latest, or the moment a replay shows."""
        entries, pinned = (state.entries, state.pinned) if state else (on_a_timeline(recent), set())
        summary = ""
        self._open = state is not None and state.is_open
        if state is not None and state.is_open:
            since = state.impact_started.strftime("%H:%M UTC")
            summary = f"● {state.severity} {state.status.value} since {since} · {state.title}"
        shown = (len(entries), entries[-1]["seq"] if entries else 0, frozenset(pinned), summary)
        if shown == self._shown:  # repaint only what changed: a table repaint costs more than the read
            return
        try:
            banner = self.app.dashboard.banner
        except NoMatches:  # the app is closing (the read above ran in a thread meanwhile): nothing to repaint
            return
        self._shown = shown
        for timeline in self.app.dashboard.query(Timeline):
            timeline.update_entries(entries, pinned)
        banner.set_incident(summary)
        screen_module = sys.modules.get("console.tui.screens.incident")  # not imported: the screen is not showing
        if screen_module is not None and isinstance(screen := showing(self.app), screen_module.IncidentScreen):
            await screen.refresh_from_journal()

    async def check_overdue(self) -> None:
        if not self._open:
            return
        try:
            entry = await asyncio.to_thread(self.desk.check_overdue)
        except (IncidentError, JournalError):
            return
        if entry is not None:
            state = self.desk.tracker.state
            last = state.updates[-1].channels if state is not None and state.updates else ()
            also = f" (to {', '.join(last)}, as the last one)" if last and self.posting else ""
            self.app.notify(f"✖ Status update overdue: press i, then u{also}", severity="warning", timeout=30)
            self.app.attention.need("a status update is overdue")
        try:
            due = await asyncio.to_thread(self.desk.check_escalations)
        except (IncidentError, JournalError):
            due = []
        for escalation in due:
            self.app.notify(f"▲ Escalate: {escalation['data']['say']}", severity="warning", timeout=60, markup=False)
        if entry is not None or due:
            await self.refresh()

    def open_screen(self, command: str | None = None) -> IncidentScreen:
        """The incident screen (pushed if not showing), optionally starting one of its commands."""
        screen = self.app.screen
        if not isinstance(screen, _incident_screen()):
            from console.postmortem.document import recorded  # imported with the screen, which uses it

            screen = _incident_screen()(
                self.desk,
                on_change=self.refresh,
                posting=self.posting,
                post=self.app.request_action,
                recording=recorded(self.config),
            )
            self.app.push_screen(screen)
        if command is not None:
            self.app.call_after_refresh(screen.run_action, command)
        return screen

    def compose_update(self, note: str = "") -> None:
        """The incident screen with the status update composer open, `note` (a playbook's words) prefilled."""
        self.app.call_after_refresh(self.open_screen().compose_update, note)

    def offer(self, question: str, yes: str, no: str, command: Callable[..., object], *args: object) -> None:
        """One key to journal `command(*args)` (enter on `yes`, highlighted), escape or `no` to leave it."""

        def chosen(answer: str | None) -> None:
            if answer == "yes":
                self.app.run_worker(self._journal(command, *args), exit_on_error=False)

        self.app.push_screen(PickScreen(question, [("yes", yes), ("no", no)], "yes"), chosen)

    def offer_severity(self, severity: str, why: str) -> None:
        """Offer to raise the open incident to `severity` when that is more severe than it is now."""
        state = self.desk.tracker.state
        if state is None or not state.is_open:
            return
        scheme = SCHEMES.get(state.scheme, SCHEMES["sev"])
        wanted, now = scheme.parse(severity), scheme.parse(state.severity)
        if wanted is None or now is None or wanted.rank >= now.rank:
            return
        question = f"{state.id} is {state.severity}; {why} suggests {wanted.name}."
        raise_it, keep = f"Raise it to {wanted.name} (journaled)", f"Keep {state.severity}"
        self.offer(question, raise_it, keep, self.desk.set_severity, wanted.name)

    def offer_title(self, title: str, why: str) -> None:
        """Offer to call the open incident `title` when it is called something else."""
        state = self.desk.tracker.state
        if state is None or not state.is_open or state.title == title:
            return
        question = f"{why}. The incident is called {state.title!r}."
        self.offer(question, f"Retitle it {title!r} (journaled)", "Keep the title", self.desk.retitle, title)

    def ask_note(self) -> None:
        def save(text: str | None) -> None:
            if text and text.strip():
                self.app.run_worker(self._journal(self.desk.add_note, text.strip()), exit_on_error=False)

        self.app.push_screen(PromptScreen("Note (a TODO: prefix makes it a follow-up)"), save)

    async def pin(self, seq: int, pinned: bool) -> None:
        await self._journal(self.desk.pin, seq, pinned)

    async def _journal(self, command: Callable[..., object], *args: object) -> None:
        try:
            await asyncio.to_thread(command, *args)
        except (IncidentError, JournalError) as exc:
            self.app.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        await self.refresh()


def _incident_screen() -> type[IncidentScreen]:
    """The incident screen class, imported when first needed (it is not on the first paint's path)."""
    from console.tui.screens.incident import IncidentScreen

    return IncidentScreen
