"""`[incident]` in the config: the severity scheme or its own levels, update cadence, and escalation reminders.

Configured `levels` make the scheme `custom`, registered in `SCHEMES` when the config is validated, so replay, the
screens and the post-mortem read its names, response targets and cadence like the built-in schemes'.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from console.config.types import Model, Period
from console.models import format_duration
from console.models.severity import CUSTOM, SCHEMES, Level, Scheme


class LevelSpec(Model):
    """One configured severity level, most severe first: `{ name = "CRITICAL", response = "15m", ... }`."""

    name: str = Field(min_length=1, pattern=r"^\S+$")
    label: str = ""
    description: str = ""
    response: Period | None = None
    update_every: Period

    def level(self, rank: int) -> Level:
        response = format_duration(self.response) if self.response is not None else "none"
        return Level(self.name, self.label, self.description, response, self.response, self.update_every, rank)


class EscalationRule(Model):
    """`[[incident.escalate]]`: a reminder once an open incident (at `severity` or worse) has lasted `after`; with
    `page`, declaring or raising an incident to that severity offers to page those channels (`[[channel]]` names)."""

    after: Period
    severity: str | None = None
    say: str = Field(min_length=1)
    page: list[str] = Field(default_factory=list)


class IncidentSettings(Model):
    """`[incident]`: the severity scheme (SEV-1..4, P0..P3 or its own `levels`), update cadence and escalation."""

    scheme: Literal["sev", "p"] = "sev"
    levels: list[LevelSpec] = Field(default_factory=list)
    update_every: dict[str, Period] = Field(default_factory=dict)
    escalate: list[EscalationRule] = Field(default_factory=list)

    @property
    def scheme_key(self) -> str:
        return CUSTOM if self.levels else self.scheme

    @model_validator(mode="after")
    def _known_levels(self) -> IncidentSettings:
        names = [level.name for level in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"levels: names must be unique (got {', '.join(names)})")
        for index, spec in enumerate(self.levels):
            if spec.update_every < 60:
                raise ValueError(f"levels[{index}].update_every: a cadence under a minute is not a cadence")
        if self.levels:
            SCHEMES[CUSTOM] = Scheme(CUSTOM, tuple(spec.level(rank) for rank, spec in enumerate(self.levels)))
        names = SCHEMES[self.scheme_key].names
        where = "the configured levels" if self.levels else f"the {self.scheme!r} scheme"
        for level, seconds in self.update_every.items():
            if level not in names:
                raise ValueError(f"update_every: {level!r} is not a level of {where} ({', '.join(names)})")
            if seconds < 60:
                raise ValueError(f"update_every.{level}: a cadence under a minute is not a cadence")
        for index, rule in enumerate(self.escalate):
            if rule.severity is not None and rule.severity not in names:
                raise ValueError(
                    f"escalate[{index}].severity: {rule.severity!r} is not a level of {where} ({', '.join(names)})"
                )
        return self
