"""Severity schemes: levels from the most severe down, with response targets and update cadences (data only).

`[incident] levels` in the config registers the `custom` scheme here; the incident, triage and the screens read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class Level:
    """One severity level: its name (SEV-1, P0), what it means, how fast to respond, how often to update."""

    name: str
    label: str
    description: str
    response: str
    response_s: float | None
    update_every_s: float
    rank: int

    @property
    def title(self) -> str:
        return f"{self.name} {self.label}"


@dataclass(frozen=True)
class Scheme:
    """A severity scheme: levels ordered from the most severe (rank 0) down."""

    key: str
    levels: tuple[Level, ...]

    @property
    def names(self) -> list[str]:
        return [level.name for level in self.levels]

    @property
    def default(self) -> Level:
        """The level a new incident starts at unless told otherwise: the second most severe."""
        return self.levels[min(1, len(self.levels) - 1)]

    def parse(self, text: str) -> Level | None:
        """`SEV-2`, `sev2`, `2`, `p1`, `P1` -> the level, or None if this scheme has no such level."""
        wanted = re.sub(r"[\s_-]", "", text).upper()
        for level in self.levels:
            short = level.name.replace("-", "").upper()
            if wanted in (short, re.sub(r"^[A-Z]+", "", short)):
                return level
        return None

    def level(self, name: str) -> Level:
        """The level called `name` (exactly as journaled); an unknown name gets a placeholder level."""
        found = self.parse(name)
        if found is not None:
            return found
        return Level(name, "Unknown", "not a level of this scheme", "?", None, self.levels[-1].update_every_s, 99)

    def with_cadence(self, overrides: dict[str, float]) -> Scheme:
        """The same scheme with some levels' update cadence replaced (keys are level names)."""
        levels = tuple(replace(lv, update_every_s=overrides.get(lv.name, lv.update_every_s)) for lv in self.levels)
        return Scheme(self.key, levels)


CUSTOM = "custom"  # the scheme made of `[incident] levels` (`console.config.incident` registers it in SCHEMES)
# Defaults from the seed runbooks: astral-draft-v4 (SEV-1..4, "updates every 30 minutes" for the top level),
# nextjs-vercel.md and astralfield-v2.1.md (P0..P3 response times).
SCHEMES: dict[str, Scheme] = {
    "sev": Scheme(
        "sev",
        (
            Level("SEV-1", "Critical", "complete service outage or data loss", "15 min", 15 * MINUTE, 30 * MINUTE, 0),
            Level("SEV-2", "High", "significant feature degradation or performance issues", "1 hour", HOUR, HOUR, 1),
            Level("SEV-3", "Medium", "minor feature issues or non-critical bugs", "4 hours", 4 * HOUR, 4 * HOUR, 2),
            Level("SEV-4", "Low", "enhancement requests or minor improvements", "next sprint", None, DAY, 3),
        ),
    ),
    "p": Scheme(
        "p",
        (
            Level("P0", "Critical", "site down, data loss, security breach", "15 min", 15 * MINUTE, 30 * MINUTE, 0),
            Level("P1", "High", "major feature broken, performance degraded", "1 hour", HOUR, HOUR, 1),
            Level("P2", "Medium", "feature degraded, non-critical errors", "4 hours", 4 * HOUR, 4 * HOUR, 2),
            Level("P3", "Low", "minor issue", "24 hours", DAY, DAY, 3),
        ),
    ),
}
