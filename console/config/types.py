"""The config's shared types: durations with bounds, and the model base that forbids unknown keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from console.timeparse import parse_duration

DAY = 86400.0


def at_most(days: float, *, zero_ok: bool) -> AfterValidator:
    """Seconds in (0, days] -- or [0, days] when 0 has a meaning -- with the fix in the message."""

    def check(seconds: float) -> float:
        if seconds <= 0 and not zero_ok:
            raise ValueError('must be more than 0 (an interval or timeout of 0 spins or fails at once), e.g. "2s"')
        if seconds > days * DAY:
            raise ValueError(f"must be at most {days:g}d")
        return seconds

    return AfterValidator(check)


Duration = Annotated[float, BeforeValidator(parse_duration)]
# An interval or timeout: more than 0, at most a week (sockets and timers overflow on absurd values).
Period = Annotated[Duration, at_most(7, zero_ok=False)]


class Model(BaseModel):
    """A config section: unknown keys are errors, values are frozen. Its validator is built only as part of
    Config's (defer_build), not once more per section when the module is imported."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
