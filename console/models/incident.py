"""The open incident as triage conditions read it (`incident.age`, `.status`, `.severity`, `.declared`): data only,
kept in the live state (`LiveState.incident`) by whoever follows the journal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class IncidentFacts:
    """An open incident: its id, when it was declared, its status, its severity and the scheme that orders it."""

    id: str
    declared_at: datetime
    status: str
    severity: str
    scheme: str
    onset: datetime | None = None  # `replay.onset`: what the change ledger ranks suspects against
