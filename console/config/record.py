"""`[record]` in the config: where the flight recorder writes (console/record/), how much it keeps, how often."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import BeforeValidator

from console.config.types import Duration, Model, Period, at_most

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|KiB|MiB|GiB)\s*$")
_UNITS = {"KB": 1000, "MB": 1000**2, "GB": 1000**3, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
MIN_SIZE = 1000**2  # under a megabyte the recorder would prune what it just wrote


def parse_size(value: object) -> int:
    """Bytes from "500MB" / "2GB" (decimal) or "512MiB" / "1GiB" (binary); ValueError with an example otherwise."""
    found = _SIZE.match(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f'expected a size like "500MB", "2GB" or "512MiB", got {value!r}')
    size = int(float(found[1]) * _UNITS[found[2]])
    if size < MIN_SIZE:
        raise ValueError(f"must be at least 1MB (the recorder would prune what it just wrote), got {value!r}")
    return size


Size = Annotated[int, BeforeValidator(parse_size)]


class RecordSettings(Model):
    """`[record]`: the flight recorder's file (one per environment), how long and how much it keeps, and at most how
    often a feed's sample is written (None: each feed's own poll interval)."""

    path: Path | None = None
    keep: Annotated[Duration, at_most(365, zero_ok=False)] = 48 * 3600.0
    max_size: Size = 500 * 1000**2
    interval: Period | None = None

    def file(self, environment: str, base_dir: Path) -> Path:
        """The recording's path: `path` (relative to the config's folder), else `record-ENVIRONMENT.db` in the
        state folder (the environment's name made safe for a file name)."""
        if self.path is not None:
            return (base_dir / self.path.expanduser()).absolute()
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", environment)
        return Path(platformdirs.user_state_dir("incident-console")) / f"record-{safe}.db"
