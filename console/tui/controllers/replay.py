"""`incident-console replay`: the dashboard (or the wall) as the recording has it at a moment, read-only, with the
scrubber (console/tui/screens/replay.py) moving the moment and the timeline and the incident header following it.

`open_replay` runs in the loader thread (console/tui/startup.py): the recording opened, the journal read, the first
moment chosen; every mistake is one ConfigError line. `ReplayControl` then shows moments: the frame is read in a
thread, its models go into the app's live state (which has no `for` rules in a replay: the recorded checks were
judged already), and the incident is replayed from the journal entries written up to the moment.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from console.clock import Clock
from console.config import Config, ConfigError
from console.incident.markers import is_marked
from console.incident.replay import replay
from console.incident.state import IncidentState
from console.journal import Journal, JournalError
from console.live import LiveState
from console.record.reader import Reader
from console.record.recorder import recording_path
from console.record.store import RecordError
from console.timeparse import iso, parse_moment, parse_timestamp
from console.tui.controllers import TextualApp
from widgets.replay_bar import ReplayBar

if TYPE_CHECKING:
    from console.tui.controllers.incident import IncidentControl

SPEEDS = (1, 10, 60)
TICK = 0.5  # seconds between frames while playing (at 60x, 30 s of the recording a frame)
RECENT = 50  # entries on the timeline when no incident is open at the moment shown


@dataclass
class ReplayStart:
    """What the loader resolved: the open recording, the journal's entries with their times, the first moment."""

    reader: Reader
    entries: list[tuple[float, dict]]
    span: tuple[float, float]
    at: float
    incident: str | None = None


def open_replay(config: Config, journal: Journal, at: str | None, incident: str | None, clock: Clock) -> ReplayStart:
    """The replay `--at` TIME (default: the last sample) or of `--incident ID` (from its onset); ConfigError with one
    line when there is no recording, the journal cannot be read, or the moment is not in the recording."""
    try:
        reader = Reader(recording_path(config))
        span = reader.span()
    except RecordError as exc:
        raise ConfigError(f"replay: {exc}") from None
    if span is None:
        reader.close()
        raise ConfigError(f"replay: the recording {reader.path} is empty (nothing was recorded yet)")
    try:
        timed = [(stamp.timestamp(), e) for e in journal.entries() if (stamp := parse_timestamp(e.get("ts")))]
    except JournalError as exc:
        reader.close()
        raise ConfigError(f"replay: {exc}") from None
    moment = span[1]
    if incident is not None:
        state = replay((entry for _, entry in timed), incident)
        if state is None:
            reader.close()
            raise ConfigError(f"replay --incident {incident}: no incident with this id in {journal.path}")
        moment = max(span[0], min(span[1], state.onset.timestamp()))
    elif at is not None:
        now = clock.now()
        try:
            chosen = parse_moment(at, now, future=False, what="replay --at")
        except ValueError as exc:
            reader.close()
            raise ConfigError(str(exc)) from None
        if chosen > now or chosen.timestamp() < span[0]:
            reader.close()
            first = iso(datetime.fromtimestamp(span[0], UTC))
            raise ConfigError(f"replay --at {at}: the recording {reader.path} holds {first} to now, not {iso(chosen)}")
        moment = chosen.timestamp()
    return ReplayStart(reader, timed, span, moment, incident)


class ReplayHost(TextualApp, Protocol):
    """What the controller needs of the app: a Textual app with the incident controller (the timeline, the banner)."""

    @property
    def incident(self) -> IncidentControl: ...


class ReplayControl:
    """The moment shown and how it moves: a sample, a minute or a journal entry back or forward, a typed time, and
    play / pause at 1x, 10x or 60x."""

    def __init__(self, app: ReplayHost, start: ReplayStart, live: LiveState) -> None:
        self.app = app
        self.opened = start  # the recording, the journal's entries, the span
        self.live = live
        self.at = start.at
        self.playing = False
        self.speed = SPEEDS[0]
        self.bar = ReplayBar()
        self.shown_at: float | None = None  # the moment on screen (the last frame read and painted)
        self.relation = ""  # the moment against the incident's declaration
        self.stale: list[str] = []  # the feeds whose sample at the moment is stale
        self.state: IncidentState | None = None  # the incident as the journal had it at the moment
        self.recent: list[dict] = []  # the entries written up to the moment, the last RECENT of them

    def start(self) -> None:
        self.app.set_interval(TICK, self._tick)
        self.go(self.at)

    def go(self, at: float) -> None:
        """Show the moment `at`, kept within the recording."""
        first, last = self.opened.span
        self.at = min(max(at, first), last)
        self.app.run_worker(self._show(self.at), name="replay", group="replay", exclusive=True, exit_on_error=False)

    def sample(self, step: int) -> None:
        """The next (1) or previous (-1) sample of any feed."""
        reader = self.opened.reader
        found = reader.after(self.at) if step > 0 else reader.before(self.at)
        if found is not None:
            self.go(found)

    def minute(self, step: int) -> None:
        self.go(self.at + 60 * step)

    def entry(self, step: int) -> None:
        """The next (1) or previous (-1) journal entry worth a marker (a declaration, an action, a note...)."""
        times = [at for at, entry in self.opened.entries if is_marked(entry)]
        found = [t for t in times if t > self.at] if step > 0 else [t for t in times if t < self.at]
        if found:
            self.go(found[0] if step > 0 else found[-1])

    def goto(self, text: str) -> str | None:
        """A typed moment (`15m ago`, `03:10 UTC`, ISO-8601); the problem in words, or None once it is shown."""
        try:
            moment = parse_moment(text, Clock().now(), future=False, what="go to")
        except ValueError as exc:
            return str(exc)
        self.go(moment.timestamp())
        return None

    def play(self) -> None:
        self.playing = not self.playing
        self._paint_bar()

    def faster(self) -> None:
        """1x → 10x → 60x → 1x."""
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)]
        self._paint_bar()

    def _tick(self) -> None:
        if self.playing:
            if self.at >= self.opened.span[1]:
                self.playing = False
                self._paint_bar()
                return
            self.go(self.at + TICK * self.speed)

    async def _show(self, at: float) -> None:
        frame = await asyncio.to_thread(self.opened.reader.frame, at)
        models = [sample.sample.model for sample in frame.values() if sample.sample.model is not None]
        if models:
            self.live.update(models)
        written = [entry for when, entry in self.opened.entries if when <= at]
        state = self.state = replay(written, self.opened.incident)
        self.recent = written[-RECENT:]
        await self.app.incident.paint(state, self.recent)
        self.stale = sorted(feed for feed, sample in frame.items() if sample.stale(at))
        self.shown_at, self.relation = at, self._relate(at, state)
        self._paint_bar()

    @property
    def moment(self) -> datetime:
        """The moment on screen, as a time."""
        return datetime.fromtimestamp(self.shown_at if self.shown_at is not None else self.at, UTC)

    def _paint_bar(self) -> None:
        moment = self.moment.strftime("%H:%M:%S")
        playing = f"▶ {self.speed}x" if self.playing else f"paused ({self.speed}x)"
        note = f"stale: {', '.join(self.stale)}" if self.stale else ""
        self.bar.show(moment, self.relation, playing, note)

    def _relate(self, at: float, state: IncidentState | None) -> str:
        """`8m before the declaration`, `12m after the declaration`, or `no incident declared` around the moment."""
        if state is not None and state.declared_at.timestamp() <= at:
            return f"{_span(at - state.declared_at.timestamp())} after the declaration"
        declared = [t for t, entry in self.opened.entries if t > at and entry.get("kind") == "incident.declared"]
        if declared:
            return f"{_span(declared[0] - at)} before the declaration"
        return "no incident declared"


def _span(seconds: float) -> str:
    """45s, 8m, 2h 05m: how far from the declaration, to the minute once past one."""
    whole = int(abs(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
