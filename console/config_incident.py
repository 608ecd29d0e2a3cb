"""`[incident]` in the config: the severity scheme, its levels and cadence, and escalation reminders."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from console.config_types import Model, Period
from console.incident.state import SCHEMES


class IncidentSettings(Model):
    """`[incident]`: the severity scheme (SEV-1..4 or P0..P3) and optional update cadence per level."""

    scheme: Literal["sev", "p"] = "sev"
    update_every: dict[str, Period] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_levels(self) -> IncidentSettings:
        names = SCHEMES[self.scheme].names
        for level, seconds in self.update_every.items():
            if level not in names:
                known = ", ".join(names)
                raise ValueError(f"update_every: {level!r} is not a level of the {self.scheme!r} scheme ({known})")
            if seconds < 60:
                raise ValueError(f"update_every.{level}: a cadence under a minute is not a cadence")
        return self
