"""IncidentDesk: the incident commands. Each one validates against the replayed journal, then appends to it.

Methods are synchronous (they read and append the journal file); from async code call them with
`asyncio.to_thread`. A refused command raises `IncidentError` (one line); an unwritable journal raises
`JournalError`. Two consoles sharing a journal see each other's entries on their next replay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from console.clock import Clock
from console.config import IncidentSettings
from console.incident.events import (
    CANCELLED,
    DECISION,
    DECLARED,
    ESCALATION_DUE,
    FOLLOW_UP,
    NOTE,
    PIN,
    REOPENED,
    RETITLED,
    ROLE,
    ROLES,
    SEVERITY,
    STATUS,
    UPDATE_OVERDUE,
    UPDATE_POSTED,
    IncidentError,
)
from console.incident.replay import scheme_for
from console.incident.state import IncidentState, IncidentStatus
from console.incident.tracker import IncidentTracker
from console.incident.updates import render_update, validate_update
from console.journal import Journal
from console.journal.horizon import CHECKPOINT
from console.journal.verify import anchor_text
from console.models.severity import SCHEMES, Level, Scheme
from console.timeparse import iso

REOPENABLE = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED, IncidentStatus.CANCELLED)
MOMENT_S = 60.0  # an incident declared this recently was most likely declared at the same time, elsewhere


class IncidentDesk:
    """Declare, change severity and status, note, decide, pin, post updates and remind: all through the journal."""

    def __init__(self, journal: Journal, clock: Clock | None = None, settings: IncidentSettings | None = None) -> None:
        self.journal = journal
        self.clock = clock or Clock()
        self.settings = settings or IncidentSettings()
        self.tracker = IncidentTracker(journal)

    @property
    def scheme(self) -> Scheme:
        """The scheme new incidents are declared in (with the configured cadence)."""
        return scheme_for(self.settings)

    def state(self) -> IncidentState | None:
        """The latest incident, kept current from what was appended to the journal since the last call."""
        return self.tracker.current()

    def open_incident_id(self) -> str | None:
        """The id of the incident in progress (not closed or cancelled), else None."""
        state = self.state()
        return state.id if state is not None and state.is_open else None

    # -- declaring and moving the incident along ------------------------------------------------------

    def declare(self, title: str, severity: str | None = None, impact_started: datetime | None = None) -> dict:
        """Open an incident. `impact_started` may be earlier than now: the backdating is recorded as such."""
        title = " ".join(title.split())
        if not title:
            raise IncidentError("declare: the title is empty; say what is broken, e.g. 'checkout returns 500s'")
        with self.tracker.exclusive():  # check and append as one: of two consoles declaring at once, one wins
            return self._declare(title, severity, impact_started)

    def _declare(self, title: str, severity: str | None, impact_started: datetime | None) -> dict:
        current = self.state()
        if current is not None and current.is_open:
            if (self.clock.now() - current.declared_at).total_seconds() < MOMENT_S:
                raise IncidentError(
                    f"declare: {current.id} was declared by {current.declared_by} a moment ago ({current.title}) "
                    f"and is still {current.status.value}; add to it instead"
                )
            raise IncidentError(
                f"declare: {current.id} ({current.title}) is still {current.status.value}; "
                "resolve and close it, or cancel it, before declaring another"
            )
        level = self._level(self.scheme, severity, "declare") if severity else self.scheme.default
        now = self.clock.now()
        impact = impact_started or now
        if impact > now:
            raise IncidentError(f"declare: the impact start {iso(impact)} is in the future (now {iso(now)})")
        data = {
            "title": title,
            "severity": level.name,
            "scheme": self.scheme.key,
            "status": IncidentStatus.TRIAGE.value,
            "impact_started": iso(impact),
            "backdated": impact < now,
            "backdated_s": round((now - impact).total_seconds(), 3),
            "response_target_s": level.response_s,
            "update_every_s": level.update_every_s,
        }
        return self.journal.append(DECLARED, data, incident=self._new_id(now, self.tracker.declared))

    def set_severity(self, severity: str) -> dict:
        state = self._open("severity")
        level = self._level(self._scheme_of(state), severity, "severity")
        if level.name == state.severity:
            raise IncidentError(f"severity: {state.id} is already {level.name}")
        data = {
            "severity": level.name,
            "from": state.severity,
            "response_target_s": level.response_s,
            "update_every_s": level.update_every_s,
        }
        return self.journal.append(SEVERITY, data, incident=state.id)

    def retitle(self, title: str) -> dict:
        """Call the open incident `title` (the playbook that fixed it may say what it was better than the first)."""
        state = self._open("retitle")
        title = " ".join(title.split())
        if not title:
            raise IncidentError("retitle: the title is empty; say what is broken, e.g. 'checkout returns 500s'")
        if title == state.title:
            raise IncidentError(f"retitle: {state.id} is already called {title!r}")
        return self.journal.append(RETITLED, {"title": title, "from": state.title}, incident=state.id)

    def set_status(self, status: str) -> dict:
        """Move forward to `status` (steps may be skipped). Backwards, cancel and reopen are refused here."""
        state = self._open("status")
        try:
            target = IncidentStatus(status.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in IncidentStatus if s is not IncidentStatus.CANCELLED)
            raise IncidentError(f"status: unknown status {status!r} ({names})") from None
        if target is IncidentStatus.CANCELLED:
            raise IncidentError("status: to call off a false alarm, cancel the incident (with a reason)")
        if target.step <= state.status.step:
            raise IncidentError(
                f"status: {state.id} is {state.status.value}; statuses only move forward"
                + (", reopen it instead" if state.status in REOPENABLE else "")
            )
        if target is IncidentStatus.CLOSED and state.status is not IncidentStatus.RESOLVED:
            raise IncidentError(f"status: {state.id} is {state.status.value}; resolve it before closing (or cancel it)")
        return self.journal.append(STATUS, {"status": target.value, "from": state.status.value}, incident=state.id)

    def advance_status(self) -> dict:
        """Move to the next status in the flow."""
        state = self._open("status")
        if state.status.next is None:
            raise IncidentError(f"status: {state.id} is {state.status.value}; there is no next status")
        return self.set_status(state.status.next.value)

    def reopen(self, reason: str = "") -> dict:
        state = self._latest("reopen")
        if state.status not in REOPENABLE:
            raise IncidentError(f"reopen: {state.id} is {state.status.value}; only a resolved, closed or cancelled one")
        data = {"status": IncidentStatus.INVESTIGATING.value, "from": state.status.value, "reason": reason.strip()}
        return self.journal.append(REOPENED, data, incident=state.id)

    def cancel(self, reason: str) -> dict:
        state = self._open("cancel")
        if not reason.strip():
            raise IncidentError("cancel: say why, e.g. 'false alarm: the monitor itself was down'")
        data = {"reason": reason.strip(), "from": state.status.value}
        return self.journal.append(CANCELLED, data, incident=state.id)

    def assign_role(self, role: str, person: str) -> dict:
        state = self._open("role")
        role, person = role.strip().lower(), " ".join(person.split())
        if role not in ROLES:
            raise IncidentError(f"role: unknown role {role!r} ({', '.join(ROLES)})")
        if not person:
            raise IncidentError(f"role: name the {role}")
        if state.roles.get(role) == person:
            raise IncidentError(f"role: {person} is already the {role}")
        return self.journal.append(ROLE, {"role": role, "person": person}, incident=state.id)

    # -- the record ------------------------------------------------------------------------------------

    def add_note(self, text: str) -> dict:
        """A note (`TODO: ...` makes it a follow-up); journaled outside any incident when none is open."""
        return self._remark(NOTE, text, f"e.g. 'p99 back under 300ms' or '{FOLLOW_UP} alert on pool usage'")

    def add_decision(self, text: str) -> dict:
        return self._remark(DECISION, text, "e.g. 'roll back to v1.2.2 instead of hotfixing'")

    def pin(self, seq: int, pinned: bool = True) -> dict:
        """Pin (or unpin) any entry of the latest incident, even after it ended (for the post-mortem)."""
        state = self._latest("pin")
        if seq not in {e.get("seq") for e in state.entries}:
            raise IncidentError(f"pin: #{seq} is not part of {state.id}")
        if (seq in state.pinned) == pinned:
            raise IncidentError(f"pin: #{seq} is already {'pinned' if pinned else 'not pinned'}")
        return self.journal.append(PIN, {"seq": seq, "pinned": pinned}, incident=state.id)

    # -- communications ------------------------------------------------------------------------------

    def post_update(self, kind: str, fields: dict[str, str], channels: list[str] | None = None) -> dict:
        """Journal a status update; the entry's data holds the rendered `text` to copy (its last line the journal's
        anchor, a witness of every entry before it) and the next due time. With `channels`, it is also the outbox's
        message to them (`console.channels.outbox`), with what their texts are made of (severity, its rank, title)."""
        with self.tracker.exclusive():  # the anchor is the entry just before the update's own
            state = self._open("update")
            now = self.clock.now()
            clean, next_at = validate_update(kind, fields, now)
            if kind == "resolved" and state.resolved_at is None:
                raise IncidentError(f"update: {state.id} is {state.status.value}; set it to resolved first")
            head = self.tracker.recent[-1]
            data: dict[str, Any] = {
                "kind": kind,
                "fields": clean,
                "text": render_update(state, kind, clean) + "\n\n" + anchor_text(head["seq"], head["hash"]),
                "due_at": iso(state.next_update_at) if state.next_update_at else None,
                "next_update_at": iso(next_at) if next_at else None,
            }
            if channels:
                level = self._scheme_of(state).level(state.severity)
                data |= {"channels": list(channels), "severity": state.severity, "rank": level.rank}
                data |= {"title": state.title}
            return self.journal.append(UPDATE_POSTED, data, incident=state.id)

    def check_overdue(self) -> dict | None:
        """Journal `update.overdue` once per missed due time; returns the entry, or None when nothing is overdue."""
        state = self.state()
        now = self.clock.now()
        if state is None or state.next_update_at is None or state.overdue_s(now) <= 0:
            return None
        if any(r.due_at == state.next_update_at for r in state.reminders):
            return None
        data = {"due_at": iso(state.next_update_at), "overdue_s": round(state.overdue_s(now), 3)}
        return self.journal.append(UPDATE_OVERDUE, data, incident=state.id)

    def check_escalations(self) -> list[dict]:
        """Journal `incident.escalation_due` for each `[[incident.escalate]]` rule now due (once per incident):
        the incident is open, has lasted `after` since its impact started, and is at `severity` or worse."""
        with self.tracker.exclusive():  # of two consoles sharing the journal, one reminds
            state = self.state()
            if state is None or not state.is_open:
                return []
            now, scheme = self.clock.now(), self._scheme_of(state)
            done = {(e.get("data") or {}).get("rule") for e in state.entries if e.get("kind") == ESCALATION_DUE}
            due = []
            for index, rule in enumerate(self.settings.escalate):
                if index in done or state.elapsed_s(now) < rule.after:
                    continue
                if rule.severity is not None and scheme.level(state.severity).rank > scheme.level(rule.severity).rank:
                    continue
                data = {"rule": index, "after_s": rule.after, "severity": rule.severity, "say": rule.say}
                due.append(self.journal.append(ESCALATION_DUE, data, incident=state.id))
            return due

    def close_stranded(self) -> list[dict]:
        """Journal `action.failed` for each action request whose console died before it journaled an outcome
        (`IncidentTracker.stranded`): what it did is unknown, and the timeline, triage and post-mortem say so instead
        of showing it as still running. Returns the entries written (of two consoles, one writes each)."""
        self.tracker.catch_up()
        if not self.tracker.stranded():
            return []
        written = []
        with self.tracker.exclusive():
            self.tracker.catch_up()
            for request in self.tracker.stranded():
                data = request.get("data") or {}
                pid = (request.get("actor") or {}).get("pid")
                message = (
                    f"no outcome was journaled: the console that ran it (pid {pid}) stopped while it ran, so what it "
                    "did is unknown; check before running it again"
                )
                outcome = {"action": data.get("action", "?"), "status": "failed", "message": message, "stranded": True}
                written.append(self.journal.append("action.failed", outcome, corr=request["seq"]))
            self.tracker.catch_up()
        return written

    def checkpoint(self) -> dict | None:
        """Journal `journal.checkpoint` (what lies before the horizon: `console.journal.horizon.Summary`) once the
        summary has taken in more than `BOUND` entries since the last one, so the next start walks back no further.
        Returns the entry, or None when none is due (of two consoles, one writes it)."""
        self.tracker.catch_up()
        if not self.tracker.summary.due:
            return None
        with self.tracker.exclusive():
            self.tracker.catch_up()
            if not self.tracker.summary.due:
                return None
            entry = self.journal.append(CHECKPOINT, self.tracker.summary.data())
            self.tracker.catch_up()
            return entry

    # -- helpers ---------------------------------------------------------------------------------------

    def _latest(self, doing: str) -> IncidentState:
        state = self.state()
        if state is None:
            raise IncidentError(f"{doing}: no incident has been declared; declare one first")
        return state

    def _open(self, doing: str) -> IncidentState:
        state = self._latest(doing)
        if not state.is_open:
            raise IncidentError(f"{doing}: {state.id} is {state.status.value}; reopen it or declare a new incident")
        return state

    def _remark(self, kind: str, text: str, example: str) -> dict:
        text = text.strip()
        if not text:
            raise IncidentError(f"{kind}: the text is empty; {example}")
        state = self.state()
        return self.journal.append(kind, {"text": text}, incident=state.id if state and state.is_open else None)

    def _scheme_of(self, state: IncidentState) -> Scheme:
        """The incident's own scheme (as declared), with this console's cadence if it is the same scheme."""
        return self.scheme if state.scheme == self.scheme.key else SCHEMES[state.scheme]

    @staticmethod
    def _level(scheme: Scheme, text: str, doing: str) -> Level:
        level = scheme.parse(text)
        if level is None:
            raise IncidentError(f"{doing}: unknown severity {text!r} ({', '.join(scheme.names)})")
        return level

    @staticmethod
    def _new_id(now: datetime, taken: list[str]) -> str:
        base = "INC-" + now.astimezone(UTC).strftime("%Y%m%d-%H%M")
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        return candidate
