"""What a console reads of its journal's past: one rule for every reader that starts on a journal (README, "The
journal"; ARCHITECTURE, "Reading the journal's past").

A console reads from its journal's *horizon* on, never the whole file. The horizon is the earliest of:

- the latest incident's declaration, back through its pre-declaration window: the earlier of its impact start and
  `PRE_DECLARATION` before it (at most `WINDOW_MAX` lines), which the incident's onset and its claims need;
- the latest unfinished triage run's `triage.started`;
- the last `RECENT` lines (the timeline with no incident open, the anchor `incident show` prints).

What lies further back and still matters is a `Summary`: the action requests with no outcome (stranded closure needs
them wherever they are), the unfinished triage runs, the latest declaration and the outbox's undelivered messages.
It is found by walking back from the end to the latest `journal.checkpoint` entry, whose data is the summary as of
itself; a console whose summary has
taken in more than `BOUND` entries since the last checkpoint journals a new one (`IncidentDesk.checkpoint`), so every
later start walks back at most about that far, however long the journal. The lines are found by byte offset
(`console.journal.lines`): backwards from the end, and by bisection on seq for what lies before the walk.

Checkpoint data: `{"requests": [the open action.requested entries, whole], "triage_runs": [seq of each unfinished
triage.started], "declared": seq of the latest incident.declared or null, "outbox": the messages not yet delivered
(console.journal.pending)}`. Readers ignore keys they do not know, so a later section (the change ledger) adds its
own key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from console.journal import Journal
from console.journal.lines import STEP, backwards, boundary, count_lines, find_seq, forwards, seq_of
from console.journal.pending import MARKS, Pending, PendingWalk
from console.journal.verify import entry_problem
from console.timeparse import parse_timestamp

# The kinds the rule reads (their writers, console.incident and console.triage, own their meaning).
DECLARED = "incident.declared"
REQUESTED = "action.requested"
TRIAGE_STARTED = "triage.started"
TRIAGE_FINISHED = "triage.finished"
CHECKPOINT = "journal.checkpoint"
BASELINE = "change.baseline"  # the change ledger's last reading of a built-in source (console.changes.builtins)
BOOKKEEPING = frozenset({CHECKPOINT, BASELINE})  # kinds never shown on a timeline: what the console kept, not events
PRE_DECLARATION = timedelta(minutes=30)  # how far before a declaration its onset is looked for
WINDOW_MAX = 50_000  # lines before a declaration a backdated impact start may claim
RECENT = 200  # the last lines every console keeps (IncidentTracker.recent)
BOUND = 5_000  # entries a summary takes in before a checkpoint is due

# Lines that can change a summary hold one of these (a false match only costs a decode).
_MARKS = (
    b'"action.',
    b'"incident.declared"',
    b'"triage.started"',
    b'"triage.finished"',
    b'"journal.checkpoint"',
    b'"change.baseline"',
    *MARKS,
)
_TS = re.compile(rb'"ts":\s*"([^"]{1,64})"\s*,\s*"v":\s*\d+\s*}\s*$')  # canonical JSON ends with ts, then v


def on_a_timeline(entries: Iterable[dict]) -> list[dict]:
    """The entries a timeline lists: all but the bookkeeping kinds (no incident owns them; nothing happened)."""
    return [entry for entry in entries if entry.get("kind") not in BOOKKEEPING]


@dataclass
class Summary:
    """What a console must know of its journal beyond the horizon, kept current from each entry it reads."""

    requests: dict[int, dict] = field(default_factory=dict)  # action requests with no outcome, by seq
    runs: set[int] = field(default_factory=set)  # unfinished triage runs (the seq of their triage.started)
    declared: int | None = None  # seq of the latest incident.declared
    checkpoint: int = 0  # seq of the latest checkpoint (before the file's first line when there is none)
    seq: int = 0  # the last seq taken in: older entries (read again from the horizon) change nothing
    outbox: Pending = field(default_factory=Pending)  # messages not yet delivered to every channel
    baselines: dict[str, dict] = field(default_factory=dict)  # the latest change.baseline's data, by its key

    def feed(self, entry: dict) -> None:
        """Take in the next entry of this journal (never another host's)."""
        seq, kind, corr = entry.get("seq"), str(entry.get("kind")), entry.get("corr")
        if not isinstance(seq, int) or seq <= self.seq:
            return
        self.seq = seq
        if kind == REQUESTED:
            self.requests[seq] = entry
        elif kind.startswith("action.") and isinstance(corr, int):
            self.requests.pop(corr, None)
        elif kind == TRIAGE_STARTED:
            self.runs.add(seq)
        elif kind == TRIAGE_FINISHED and isinstance(corr, int):
            self.runs.discard(corr)
        elif kind == DECLARED and entry.get("incident"):
            self.declared = seq
        elif kind == CHECKPOINT:
            self.checkpoint = seq
        elif kind == BASELINE:
            _baseline(self.baselines, entry, latest=True)
        else:
            self.outbox.feed(entry)

    @property
    def due(self) -> bool:
        """A checkpoint is due: the next start would walk back more than BOUND entries to the last one."""
        return self.seq - self.checkpoint > BOUND

    def data(self) -> dict:
        """A `journal.checkpoint` entry's data."""
        requests = [self.requests[seq] for seq in sorted(self.requests)]
        outbox = self.outbox.data()
        return {
            "requests": requests,
            "triage_runs": sorted(self.runs),
            "declared": self.declared,
            "outbox": outbox,
            "change_baselines": self.baselines,
        }

    def copy(self) -> Summary:
        return Summary(
            dict(self.requests),
            set(self.runs),
            self.declared,
            self.checkpoint,
            self.seq,
            self.outbox.copy(),
            dict(self.baselines),
        )

    @classmethod
    def carried(cls, checkpoint: dict) -> Summary:
        """The summary a checkpoint entry carries (a field of the wrong type counts as empty)."""
        data = checkpoint.get("data") or {}
        requests = data.get("requests")
        requests = requests if isinstance(requests, list) else []
        runs = data.get("triage_runs")
        runs = runs if isinstance(runs, list) else []
        declared = data.get("declared")
        baselines = data.get("change_baselines")
        return cls(
            {r["seq"]: r for r in requests if isinstance(r, dict) and _is_int(r.get("seq"))},
            {seq for seq in runs if _is_int(seq)},
            declared if _is_int(declared) else None,
            checkpoint["seq"],
            checkpoint["seq"],
            Pending.carried(data.get("outbox")),
            {k: v for k, v in baselines.items() if isinstance(v, dict)} if isinstance(baselines, dict) else {},
        )


class _Backwards:
    """`Summary.feed`'s rule applied to entries read from the end back to a checkpoint, then onto its summary."""

    def __init__(self) -> None:
        self.outcomes: set[int] = set()
        self.finished: set[int] = set()
        self.requests: dict[int, dict] = {}
        self.runs: set[int] = set()
        self.declared: int | None = None
        self.outbox = PendingWalk()
        self.baselines: dict[str, dict] = {}

    def see(self, entry: dict) -> None:
        seq, kind, corr = entry["seq"], entry["kind"], entry.get("corr")
        if kind == REQUESTED and seq not in self.outcomes:
            self.requests[seq] = entry
        elif kind.startswith("action.") and isinstance(corr, int):
            self.outcomes.add(corr)
        elif kind == TRIAGE_STARTED and seq not in self.finished:
            self.runs.add(seq)
        elif kind == TRIAGE_FINISHED and isinstance(corr, int):
            self.finished.add(corr)
        elif kind == DECLARED and entry.get("incident") and self.declared is None:
            self.declared = seq
        elif kind == BASELINE:
            _baseline(self.baselines, entry, latest=False)  # walking back: the first one seen is the latest
        else:
            self.outbox.see(entry)

    def onto(self, before: Summary, last: int) -> Summary:
        requests = {seq: r for seq, r in before.requests.items() if seq not in self.outcomes} | self.requests
        runs = {seq for seq in before.runs if seq not in self.finished} | self.runs
        declared = self.declared if self.declared is not None else before.declared
        outbox = self.outbox.onto(before.outbox)
        baselines = before.baselines | self.baselines
        return Summary(requests, runs, declared, before.checkpoint, max(last, before.seq), outbox, baselines)


@dataclass(frozen=True)
class Start:
    """Where a reader starts: a line's byte offset and number, and (from `horizon`) the summary of what lies before
    it and how many lines were walked back to find it."""

    offset: int = 0
    line: int = 1
    summary: Summary = field(default_factory=Summary)
    walked: int = 0


def horizon(journal: Journal) -> Start:
    """The journal's horizon (see the module's docstring) and the summary as of its last line."""
    with journal.snapshot() as snap:
        if snap is None:
            return Start()
        fd, size = snap
        end = boundary(fd, size)
        first = _first_seq(fd, end)
        summary, walked, marks = _walk(fd, end, first)
        starts = [_from_end(fd, end, RECENT)]
        if summary.declared is not None:
            declared = marks[summary.declared] if summary.declared in marks else find_seq(fd, summary.declared, end)
            starts.append(window_start(fd, declared, end))
        if summary.runs:
            latest = max(summary.runs)
            starts.append(marks[latest] if latest in marks else find_seq(fd, latest, end))
        offset = min(starts)
        return Start(offset, _line_number(fd, offset, end, first), summary, walked)


def at_seq(seq: int) -> Callable[[Journal], Start]:
    """A start at the line holding `seq` (or the first line after it, e.g. the live journal's first once the seq
    was archived)."""

    def start(journal: Journal) -> Start:
        with journal.snapshot() as snap:
            if snap is None:
                return Start()
            fd, size = snap
            end = boundary(fd, size)
            offset = find_seq(fd, seq, end)
            return Start(offset, _line_number(fd, offset, end, _first_seq(fd, end)))

    return start


def last_lines(count: int) -> Callable[[Journal], Start]:
    """A start `count` lines before the end."""

    def start(journal: Journal) -> Start:
        with journal.snapshot() as snap:
            if snap is None:
                return Start()
            fd, size = snap
            end = boundary(fd, size)
            offset = _from_end(fd, end, count)
            return Start(offset, _line_number(fd, offset, end, _first_seq(fd, end)))

    return start


def since(journal: Journal, moment: datetime) -> list[dict]:
    """The entries stamped at or after `moment`, oldest first: read backwards from the end until an older one
    (entries are appended in time order), so a question about the last minutes costs what they hold."""
    found: list[dict] = []
    with journal.snapshot() as snap:
        if snap is None:
            return []
        fd, size = snap
        for _, line in backwards(fd, boundary(fd, size)):
            stamp = _stamp(line)
            if stamp is not None and stamp < moment:
                break
            entry = _entry(line)
            if entry is not None:
                found.append(entry)
    return found[::-1]


def window_start(fd: int, at: int, end: int) -> int:
    """Offset of the first line of the pre-declaration window of the declaration at offset `at`: lines stamped at
    or after the earlier of its impact start and PRE_DECLARATION before it, at most WINDOW_MAX lines back."""
    declaration = next((_entry(line) for _, line in forwards(fd, at, end, STEP)), None)
    if declaration is None or (declared := parse_timestamp(declaration["ts"])) is None:
        return at
    data = declaration["data"]
    impact = parse_timestamp(data.get("impact_started")) or declared
    cutoff = min(impact, declared - PRE_DECLARATION)
    start = at
    for count, (offset, line) in enumerate(backwards(fd, at), start=1):
        moment = _stamp(line)
        if count > WINDOW_MAX or (moment is not None and moment < cutoff):
            break
        start = offset
    return start


def _walk(fd: int, end: int, first: int | None) -> tuple[Summary, int, dict[int, int]]:
    """The summary as of the last line, from the lines back to the latest checkpoint; the lines walked; the offsets
    of the declarations and triage starts met."""
    back, marks, walked, last = _Backwards(), {}, 0, None
    before = Summary(checkpoint=first - 1 if first else 0)
    for offset, line in backwards(fd, end):
        walked += 1
        if last is None:
            last = seq_of(line)
        if not any(mark in line for mark in _MARKS) or (entry := _entry(line)) is None:
            continue
        if entry["kind"] == CHECKPOINT:
            before = Summary.carried(entry)
            break
        back.see(entry)
        if entry["kind"] in (DECLARED, TRIAGE_STARTED):
            marks[entry["seq"]] = offset
    return back.onto(before, last or 0), walked, marks


def _from_end(fd: int, end: int, count: int) -> int:
    """Offset of the `count`-th line from the end (the first line when there are fewer)."""
    offset = end
    for number, (at, _) in enumerate(backwards(fd, end), start=1):
        if number > count:
            break
        offset = at
    return offset


def _first_seq(fd: int, end: int) -> int | None:
    return next((seq_of(line) for _, line in forwards(fd, 0, end, STEP)), None)


def _line_number(fd: int, offset: int, end: int, first: int | None) -> int:
    """The number of the line at `offset`, from the seqs (line 1 holds `first`, and a journal has one entry a line);
    counted when line 1 has no seq."""
    if offset == 0:
        return 1
    if first is not None:
        if offset < end:
            seq = next((seq_of(line) for _, line in forwards(fd, offset, end, STEP)), None)
            if seq is not None:
                return seq - first + 1
        else:
            seq = next((seq_of(line) for _, line in backwards(fd, end)), None)
            if seq is not None:
                return seq - first + 2
    return 1 + count_lines(fd, offset)


def _entry(line: bytes) -> dict | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if entry_problem(entry) is None else None


def _stamp(line: bytes) -> datetime | None:
    found = _TS.search(line)
    if found is not None:
        return parse_timestamp(found[1].decode("ascii", "replace"))
    entry = _entry(line)
    return parse_timestamp(entry["ts"]) if entry is not None else None


def _baseline(baselines: dict[str, dict], entry: dict, *, latest: bool) -> None:
    """Keep a change.baseline entry's data under its key: the newer one (`latest`) or the first one seen."""
    data = entry.get("data")
    if not isinstance(data, dict):
        return
    key = data.get("key")
    if isinstance(key, str) and (latest or key not in baselines):
        baselines[key] = data


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
