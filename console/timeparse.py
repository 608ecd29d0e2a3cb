"""One time parser: durations from the config and the operator, timestamps from journals and logs, moments typed
by the operator ("15m ago", "03:10 UTC"), and the journal's own timestamp format. No I/O, no Textual."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*(ms|s|m|h|d))+\s*$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_CLOCK_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*utc|z)?$")


def parse_duration(value: Any) -> float:
    """Seconds from a duration string such as "500ms", "2s", "5m", "1h" or "1h30m"; ValueError otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'expected a duration string like "500ms", "2s", "5m" or "1h", got the number {value}')
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError(f'expected a duration like "500ms", "2s", "5m" or "1h", got {value!r}')
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(value))


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text (naive means UTC) or epoch seconds / milliseconds; else None."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    elif isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and `Z`, as the journal writes timestamps."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_moment(text: str, now: datetime, *, future: bool, what: str) -> datetime:
    """A moment typed by the operator, relative to `now`; empty means now. ValueError names `what` and an example.

    `15m` / `15m ago` (past) or `15m` / `in 15m` (future); `03:10` or `03:10 UTC` (today in UTC, else the
    nearest such time on the right side of now); or a full ISO 8601 time (UTC when no offset is given).
    """
    raw = text.strip()
    lowered = raw.lower()
    if not lowered:
        return now
    if found := _CLOCK_TIME.match(lowered):
        hour, minute, second = int(found[1]), int(found[2]), int(found[3] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"{what}: {raw!r} is not a time of day")
        moment = now.astimezone(UTC).replace(hour=hour, minute=minute, second=second, microsecond=0)
        if future and moment <= now:
            moment += timedelta(days=1)
        elif not future and moment > now:
            moment -= timedelta(days=1)
        return moment
    if stamped := parse_timestamp(raw):
        return stamped
    span = lowered.removeprefix("in ").removesuffix(" ago").strip()
    try:
        seconds = parse_duration(span)
    except ValueError:
        example = "30m, in 30m or 04:15 UTC" if future else "15m ago, 03:10 UTC or 2025-01-15T03:10Z"
        raise ValueError(f"{what}: expected a time like {example}, got {raw!r}") from None
    return now + timedelta(seconds=seconds) if future else now - timedelta(seconds=seconds)
