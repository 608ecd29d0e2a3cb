"""Data models shared by sources, actions, widgets and the headless CLI (no Textual, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    return datetime.now(UTC)


def count(n: int, noun: str) -> str:
    """`1 step`, `2 steps`, `0 steps`: a number and its noun, plural unless one."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def format_duration(seconds: float | None, *, compact: bool = False) -> str:
    """Short human text for a duration: 850ms, 12s, 4m 05s, 2h 10m, 3d 4h; '' for None.

    `compact` drops the spaces and rounds seconds (4m05s, 3d04h) for narrow table cells.
    """
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    gap = "" if compact else " "
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        if compact or seconds >= 10:
            return f"{seconds:.0f}s"
        return f"{seconds:.1f}s".replace(".0s", "s")
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{gap}{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{gap}{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{gap}{hours:02d}h" if compact else f"{days}d {hours}h"


# Looked up on every check of every refresh (sorting, worst-of, triage): tables made once, not per call.
_SYMBOLS = {"ok": "●", "warn": "▲", "crit": "✖", "down": "▼", "unknown": "?"}
_RANKS = {"ok": 0, "unknown": 1, "warn": 2, "crit": 3, "down": 4}


class State(StrEnum):
    """Health of one target. Every state has a word and a symbol, so colour never carries meaning alone."""

    OK = "ok"
    WARN = "warn"
    CRIT = "crit"
    DOWN = "down"
    UNKNOWN = "unknown"

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self.value]

    @property
    def word(self) -> str:
        return self.value.upper()

    @property
    def rank(self) -> int:
        """Badness for sorting and for the worst-of rule: ok < unknown < warn < crit < down."""
        return _RANKS[self.value]

    @classmethod
    def worst(cls, states: Iterable[State]) -> State:
        return max(states, key=lambda s: s.rank, default=cls.UNKNOWN)


class Risk(StrEnum):
    """How much an action can hurt: read (no change), write (reversible change), destructive."""

    READ = "read"
    WRITE = "write"
    DESTRUCTIVE = "destructive"


class ConfirmLevel(StrEnum):
    """What the operator must do before a plan runs."""

    NONE = "none"
    YES = "yes"
    TYPED = "typed"


class Plan(BaseModel):
    """What an action will do, computed with no side effects, shown before anything runs."""

    model_config = ConfigDict(frozen=True)

    action: str
    risk: Risk
    params: dict[str, Any] = Field(default_factory=dict)
    summary: str
    columns: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    confirm: ConfirmLevel = ConfirmLevel.YES
    confirm_text: str | None = None
    confirm_reason: str = ""
    created_at: datetime = Field(default_factory=utc_now)
    detail: dict[str, Any] = Field(default_factory=dict)
    # how it runs: to its end, under its timeout; with the terminal handed over; or followed until it is stopped
    mode: Literal["run", "interactive", "follow"] = "run"
    # other consoles' recent requests on the same target (actions/overlap.py): running it needs an explicit override
    overlaps: list[dict[str, Any]] = Field(default_factory=list)
    # texts to read side by side before confirming (a status update as each audience reads it), title -> text
    panels: dict[str, str] = Field(default_factory=dict)

    def preview_lines(self) -> list[str]:
        """The plan as plain lines: summary, a table of targets, notes."""
        lines = [self.summary]
        if self.rows:
            widths = [len(c) for c in self.columns]
            for row in self.rows:
                widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
            lines.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=False)).rstrip())
            lines.extend(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in self.rows
            )
        lines.extend(self.notes)
        return lines

    def panel_lines(self) -> list[str]:
        """The panels one after the other, each under its title (where they cannot stand side by side)."""
        return [line for title, text in self.panels.items() for line in ("", f"── {title} ──", *text.splitlines())]


class OutcomeStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Outcome(BaseModel):
    """What an executed action did: status, counts, and the journal seq of its request."""

    status: OutcomeStatus
    message: str = ""
    counts: dict[str, int] = Field(default_factory=dict)
    exit_code: int | None = None
    duration_ms: int = 0
    output_tail: list[str] = Field(default_factory=list)
    request_seq: int | None = None
    journal_error: str | None = None
    output_file: str | None = None  # the full output (`<journal dir>/outputs/<seq>.log`), when there was any

    @property
    def ok(self) -> bool:
        return self.status is OutcomeStatus.COMPLETED and not self.journal_error


class ProgressEvent(BaseModel):
    """One report from a running action: a counter change, a line of output, or a status message."""

    counts: dict[str, int] = Field(default_factory=dict)
    total: int | None = None
    line: str | None = None
    message: str | None = None


class Check(BaseModel):
    """One thresholded reading (a health endpoint, PG connections, Redis hit ratio, a log's error rate).

    Every source's snapshot exposes its checks, so `status`, the wall screen and triage agree.
    """

    source: str
    name: str
    state: State
    value: str = ""
    reason: str = ""
    number: float | None = None  # the reading as a number (ms, %, count) for conditions and sparklines
    unit: str = ""  # the number's unit ("ms", "%", a metric's own; "" a count): conditions convert to it

    @property
    def key(self) -> str:
        return f"{self.source}:{self.name}"
