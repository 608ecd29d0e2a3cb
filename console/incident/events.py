"""The incident's journal kinds and its one error type. The incident is derived only by replaying these
(`replay`), so a restarted console resumes it exactly.

Journal kinds written by `console.incident.commands.IncidentDesk` (all carry the incident id in the entry's
`incident` field):

- `incident.declared`  title, severity, scheme ("sev" | "p"), status "triage", impact_started (ISO UTC),
  backdated (bool), backdated_s, response_target_s, update_every_s. The id is `INC-YYYYMMDD-HHMM[-n]` (UTC).
- `incident.severity`  severity, from, response_target_s, update_every_s.
- `incident.retitled`  title, from: what the incident is called now (a playbook that fixed it may name it better).
- `incident.status`    status, from. Forward only along triage -> investigating -> identified -> mitigated
  -> resolved -> closed (steps may be skipped; closing needs resolved first).
- `incident.reopened`  status ("investigating"), from, reason. Only from resolved, closed or cancelled.
- `incident.cancelled` reason, from. A false alarm: the incident ends.
- `incident.role`      role (commander | scribe | comms), person.
- `note`               text; a `TODO:` prefix makes it a follow-up. Notes may also be written with no incident.
- `decision`           text.
- `pin`                seq, pinned (bool): marks (or unmarks) any entry of the incident.
- `update.posted`      kind (initial | update | resolved), fields, text, due_at, next_update_at (null after resolved).
- `update.overdue`     due_at, overdue_s: at most one per due time.
- `incident.escalation_due` rule (its index in `[[incident.escalate]]`), after_s, severity, say: once per rule.
"""

from __future__ import annotations

DECLARED = "incident.declared"
SEVERITY = "incident.severity"
RETITLED = "incident.retitled"
STATUS = "incident.status"
REOPENED = "incident.reopened"
CANCELLED = "incident.cancelled"
ROLE = "incident.role"
NOTE = "note"
DECISION = "decision"
PIN = "pin"
UPDATE_POSTED = "update.posted"
UPDATE_OVERDUE = "update.overdue"
ESCALATION_DUE = "incident.escalation_due"
ROLES = ("commander", "scribe", "comms")
FOLLOW_UP = "TODO:"


class IncidentError(Exception):
    """An incident command that cannot be done as asked; str() is one line saying why and what to do."""
