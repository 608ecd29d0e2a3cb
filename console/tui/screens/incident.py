"""The incident screen: header, full timeline, and a key for every incident command (the desk writes the journal)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from console.incident.commands import REOPENABLE, IncidentDesk
from console.incident.events import ROLES, IncidentError
from console.incident.state import FLOW, IncidentState, cadence_text
from console.incident.updates import DETAILS, TEMPLATES, draft_update, suggested_kind, validate_update
from console.journal import JournalError
from console.models.severity import SCHEMES
from console.postmortem.document import Recorded, tampered_line, write_markdown
from console.tui.screens.declare import DeclareScreen
from console.tui.screens.pick import PickScreen
from console.tui.screens.prompt import PromptScreen
from console.tui.screens.status_update import StatusUpdateScreen
from widgets.footer import Footer
from widgets.incident_header import IncidentHeader
from widgets.outbox_line import OutboxLine
from widgets.timeline import Timeline

REOPEN, CANCEL = "reopen", "cancel"
LAST, EVERY, BY_HAND = "last", "every", "by hand"  # the post-to choices besides one channel


class IncidentScreen(Screen):
    """Run an incident from declaration to post-mortem with the keyboard alone.

    `desk` does the work; `on_change` (optional) is called after every entry this screen journals, so the app
    can refresh the dashboard. Call `refresh_from_journal()` when something else wrote to the journal.
    """

    HELP_PLACE = "incident screen"

    DEFAULT_CSS = """
    IncidentScreen #incident-keys { height: 1; background: $panel; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="incident.back"),
        Binding("d", "declare", "Declare", id="incident.declare"),
        Binding("v", "severity", "Severity", id="incident.severity"),
        Binding("c", "status", "Status", id="incident.status"),
        Binding("a", "note", "Note", id="incident.note"),
        Binding("D", "decision", "Decision", id="incident.decision"),
        Binding("o", "role", "Role", id="incident.role"),
        Binding("u", "post_update", "Update", id="incident.update"),
        Binding("e", "export", "Post-mortem", id="incident.export"),
    ]

    def __init__(
        self,
        desk: IncidentDesk,
        *,
        on_change: Callable[[], Any] | None = None,
        tz: tzinfo | None = None,
        export_dir: Path | None = None,
        posting: list[tuple[str, str]] | None = None,
        post: Callable[[str, dict], None] | None = None,
        recording: Recorded | None = None,
    ) -> None:
        super().__init__()
        self.desk = desk
        self.on_change = on_change
        self.posting = posting or []  # the channels an update may be posted to: (name, what it is)
        self.post = post  # requests an action (post-update) through the runner
        self.tz = tz
        self.export_dir = export_dir
        self.recording = recording  # the post-mortem's figures come from it, as `journal export --format md`'s do
        self.state: IncidentState | None = None

    def compose(self) -> ComposeResult:
        yield IncidentHeader()
        yield OutboxLine()
        yield Timeline(tz=self.tz)
        yield Static(id="incident-keys")
        yield Footer()

    async def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        await self.refresh_from_journal()
        self.query_one(Timeline).table.focus()

    async def refresh_from_journal(self) -> None:
        """Replay the journal (in a thread) and show the result."""
        try:
            self.state = await asyncio.to_thread(self.desk.state)
        except JournalError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        timeline = self.query_one(Timeline)
        if self.state is None:
            timeline.update_entries([], set())
        else:
            timeline.update_entries(self.state.entries, self.state.pinned)
        self._tick()
        self.refresh_bindings()
        self.query_one("#incident-keys", Static).update(self._keys(), layout=False)

    def _keys(self) -> Text:
        """The incident commands on one line, most used first (the footer is shared with the timeline's keys)."""
        if self.state is None or not self.state.is_open:
            shown = [("d", "declare")] + ([("c", "reopen"), ("e", "post-mortem")] if self.state else [])
        else:
            shown = [("c", "status"), ("u", "update"), ("a", "note"), ("D", "decision"), ("v", "severity")]
            shown += [("o", "role"), ("e", "post-mortem")]
        text = Text()
        for key, label in shown:
            text.append(key, "bold").append(f" {label}  ")
        return text

    def _tick(self) -> None:
        self.query_one(IncidentHeader).update_state(self.state, self.desk.clock.now())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        open_ = self.state is not None and self.state.is_open
        if action == "declare":
            return not open_
        if action in ("severity", "role", "post_update"):
            return open_
        if action in ("status", "export"):
            return self.state is not None
        return True

    async def _journal(self, command: Callable[..., dict], *args: Any) -> dict | None:
        """Run one desk command in a thread; show a refusal as an error notification; refresh after a write."""
        try:
            entry = await asyncio.to_thread(command, *args)
        except (IncidentError, JournalError) as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return None
        await self.refresh_from_journal()
        if self.on_change is not None:
            result = self.on_change()
            if isinstance(result, Awaitable):
                await result
        return entry

    async def _ask(self, screen: Any) -> Any:
        return await self.app.push_screen_wait(screen)

    # -- actions ---------------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    @work(group="incident-flow", exclusive=True)
    async def action_declare(self) -> None:
        answer = await self._ask(DeclareScreen(self.desk.scheme, self.desk.clock.now()))
        if answer is not None:
            await self._journal(self.desk.declare, answer.title, answer.severity, answer.impact_started)

    @work(group="incident-flow", exclusive=True)
    async def action_severity(self) -> None:
        if self.state is None:
            return
        scheme = SCHEMES[self.state.scheme] if self.state.scheme != self.desk.scheme.key else self.desk.scheme
        options = [
            (lv.name, f"{lv.title}: respond {lv.response}, update every {cadence_text(lv.update_every_s)}")
            for lv in scheme.levels
        ]
        chosen = await self._ask(PickScreen(f"Severity (now {self.state.severity})", options, self.state.severity))
        if chosen is not None:
            await self._journal(self.desk.set_severity, chosen)

    @work(group="incident-flow", exclusive=True)
    async def action_status(self) -> None:
        state = self.state
        if state is None:
            return
        options = [(s.value, s.value) for s in FLOW if s.step > state.status.step]
        if state.status in REOPENABLE:
            options.append((REOPEN, "reopen (back to investigating)"))
        if state.is_open:
            options.append((CANCEL, "cancel (a false alarm)"))
        nxt = state.status.next
        chosen = await self._ask(PickScreen(f"Status (now {state.status.value})", options, nxt.value if nxt else None))
        if chosen == REOPEN:
            reason = await self._ask(PromptScreen("Why reopen? (optional)"))
            if reason is not None:
                await self._journal(self.desk.reopen, reason)
        elif chosen == CANCEL:
            reason = await self._ask(
                PromptScreen("Why cancel? (e.g. false alarm: the monitor was down)", apply=_filled)
            )
            if reason is not None:
                await self._journal(self.desk.cancel, reason)
        elif chosen is not None:
            await self._journal(self.desk.set_status, chosen)

    @work(group="incident-flow", exclusive=True)
    async def action_note(self) -> None:
        text = await self._ask(PromptScreen("Note (start with TODO: for a follow-up)", apply=_filled))
        if text is not None:
            await self._journal(self.desk.add_note, text)

    @work(group="incident-flow", exclusive=True)
    async def action_decision(self) -> None:
        text = await self._ask(PromptScreen("Decision (what was decided, and why)", apply=_filled))
        if text is not None:
            await self._journal(self.desk.add_decision, text)

    @work(group="incident-flow", exclusive=True)
    async def action_role(self) -> None:
        if self.state is None:
            return
        roles = self.state.roles
        options = [(role, f"{role}: {roles.get(role, '—')}") for role in ROLES]
        role = await self._ask(PickScreen("Assign a role", options))
        if role is None:
            return
        person = await self._ask(PromptScreen(f"Who is the {role}?", roles.get(role, ""), apply=_filled))
        if person is not None:
            await self._journal(self.desk.assign_role, role, person)

    def action_post_update(self) -> None:
        self.compose_update()

    @work(group="incident-flow", exclusive=True)
    async def compose_update(self, note: str = "") -> None:
        """Pick the kind of update, then compose it (`note`, a playbook's words, prefilled below the template's)."""
        if self.state is None:  # just opened: the first read may not have come back yet
            await self.refresh_from_journal()
        state = self.state
        if state is None or not state.is_open:
            return
        kinds = [kind for kind in TEMPLATES if kind != "resolved" or state.resolved_at is not None]
        options = [(kind, f"{TEMPLATES[kind].heading} ({kind})") for kind in kinds]
        kind = await self._ask(PickScreen("Which update?", options, suggested_kind(state)))
        if kind is None:
            return
        now = self.desk.clock.now()

        def check(fields: dict[str, str]) -> str | None:
            try:
                validate_update(kind, fields, self.desk.clock.now())
            except IncidentError as exc:
                return str(exc)
            return None

        draft = draft_update(state, kind, now)
        if note.strip():
            draft[DETAILS] = "\n\n".join(text for text in (draft[DETAILS], note.strip()) if text)
        composer = StatusUpdateScreen(TEMPLATES[kind], state.severity, draft, check)
        fields = await self._ask(composer)
        if fields is not None:
            await self._post(state, kind, fields)

    async def _post(self, state: IncidentState, kind: str, fields: dict[str, str]) -> None:
        """Post it to channels (the runner previews each audience's text; the outbox delivers it, and it counts as
        posted once queued), or record it as posted by hand and copy it (OSC 52)."""
        choice = BY_HAND
        if self.posting and self.post is not None:
            names = [name for name, _ in self.posting]
            last = [name for name in (state.updates[-1].channels if state.updates else ()) if name in names]
            options = [(LAST, f"as the last update: {', '.join(last)}")] if last else []
            options += [(EVERY, f"every channel: {', '.join(names)}")] if len(names) > 1 else []
            options += [(name, f"{name} ({what})") for name, what in self.posting]
            options.append((BY_HAND, "nowhere: record it as posted by hand and copy it"))
            choice = await self._ask(PickScreen("Post it to", options, options[0][0]))
        if choice is None:
            return
        if choice != BY_HAND and self.post is not None:
            channels = last if choice == LAST else names if choice == EVERY else [choice]
            self.post("post-update", {"channels": channels, "kind": kind, "fields": fields})
            return
        entry = await self._journal(self.desk.post_update, kind, fields)
        if entry is not None:
            self.app.copy_to_clipboard(entry["data"]["text"])
            self.notify(f"{kind} update posted (#{entry['seq']}) and copied to the clipboard", timeout=4)

    @work(group="incident-export", exclusive=True)
    async def action_export(self) -> None:
        try:
            path, verify = await asyncio.to_thread(
                write_markdown, self.desk.journal, self.desk.clock, self.export_dir, None, self.recording
            )
        except (LookupError, OSError, JournalError) as exc:
            self.notify(f"post-mortem not written: {exc}", severity="error", timeout=8, markup=False)
            return
        if verify.ok:
            self.notify(f"post-mortem written to {path}", timeout=8, markup=False)
        else:
            self.notify(
                f"post-mortem written to {path}; {tampered_line(self.desk.journal, verify)}",
                severity="error",
                markup=False,
            )

    @on(Timeline.PinToggled)
    async def _pin(self, message: Timeline.PinToggled) -> None:
        message.stop()  # pinned here: the app, which pins from the dashboard's timeline, must not pin it again
        await self._journal(self.desk.pin, message.seq, message.pinned)


def _filled(text: str) -> str | None:
    return None if text.strip() else "empty: type something, or escape to cancel"
