"""The incident timeline: every journal entry of the incident, newest first, filterable by kind, pinnable."""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from console.incident.state import describe
from console.models import State
from widgets.keyed_table import KeyedTable, TableRow
from widgets.messages import DetailRequested
from widgets.outside import outside

PIN_MARK = "★"
# (name, kind prefixes); None selects the pinned entries.
KIND_FILTERS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("all", ()),
    ("actions", ("action.",)),
    ("observations", ("observation",)),
    ("incident", ("incident.", "update.", "pin")),
    ("notes", ("note", "decision")),
    ("pinned", None),
)
COLUMNS = [("pin", " "), ("seq", "#"), ("local", "Local"), ("utc", "UTC"), ("kind", "Kind"), ("what", "What")]


class Timeline(Widget):
    """Journal entries newest first: `k` cycles the kind filter, `p` pins, `enter` shows the whole entry."""

    HELP_PLACE = "Timeline pane"

    DEFAULT_CSS = """
    Timeline { height: 1fr; }
    Timeline > #timeline-caption { height: 1; color: $text-muted; padding: 0 1; }
    Timeline > KeyedTable { height: 1fr; }
    """

    BINDINGS = [
        Binding("k", "cycle_kind", "Kind", id="timeline.kind"),
        Binding("p", "toggle_pin", "Pin", id="timeline.pin"),
    ]

    class PinToggled(Message):
        """The operator asked to pin (`pinned` True) or unpin an entry."""

        def __init__(self, timeline: Timeline, seq: int, pinned: bool) -> None:
            super().__init__()
            self.timeline = timeline
            self.seq = seq
            self.pinned = pinned

        @property
        def control(self) -> Timeline:
            return self.timeline

    def __init__(self, *, tz: tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tz = tz
        self.kind_index = 0
        self.entries: list[dict] = []
        self.pinned: set[int] = set()

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-caption")
        yield KeyedTable(COLUMNS, stick_to_top=True)

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    @property
    def kind_filter(self) -> str:
        return KIND_FILTERS[self.kind_index][0]

    def update_entries(self, entries: list[dict], pinned: set[int]) -> None:
        """Show these entries (any order; shown newest first) with `pinned` seqs marked."""
        self.entries = sorted(entries, key=lambda e: e.get("seq", 0), reverse=True)
        self.pinned = set(pinned)
        self._render_rows()

    def on_mount(self) -> None:
        self._render_rows()

    def action_cycle_kind(self) -> None:
        self.kind_index = (self.kind_index + 1) % len(KIND_FILTERS)
        self._render_rows()

    def action_toggle_pin(self) -> None:
        key = self.table.current_key
        if key is not None:
            seq = int(key)
            self.post_message(self.PinToggled(self, seq, seq not in self.pinned))

    @on(DataTable.RowSelected)
    def _show_entry(self, event: DataTable.RowSelected) -> None:
        event.stop()
        seq = int(str(event.row_key.value))
        entry = next((e for e in self.entries if e.get("seq") == seq), None)
        if entry is not None:
            lines = json.dumps(entry, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
            self.post_message(DetailRequested(f"Journal entry #{seq} · {entry.get('kind', '?')}", lines))

    def _matches(self, entry: dict) -> bool:
        prefixes = KIND_FILTERS[self.kind_index][1]
        if prefixes is None:
            return entry.get("seq") in self.pinned
        return not prefixes or str(entry.get("kind", "")).startswith(prefixes)

    def _render_rows(self) -> None:
        if not self.is_mounted:
            return
        outcomes = {
            e.get("corr"): e for e in self.entries if str(e.get("kind", "")).startswith("action.") and e.get("corr")
        }
        shown = [e for e in self.entries if self._matches(e)]
        self.table.set_rows([self._row(e, outcomes) for e in shown])
        caption = f"Timeline · kind: {self.kind_filter} (k) · {len(shown)} of {len(self.entries)} entries"
        if self.pinned:
            caption += f" · {PIN_MARK} {len(self.pinned)} pinned"
        self.query_one("#timeline-caption", Static).update(caption, layout=False)

    def _row(self, entry: dict, outcomes: dict) -> TableRow:
        seq = entry.get("seq", 0)
        moment = _moment(entry.get("ts"))
        local = moment.astimezone(self.tz) if self.tz else moment.astimezone()
        what = describe(entry, outcomes.get(seq))
        kind = str(entry.get("kind", "?"))
        style = ""
        if kind == "observation":
            state = _state((entry.get("data") or {}).get("state"))
            what = f"{state.symbol} {what}"
            style = "bold" if state.rank >= State.WARN.rank else ""
        return TableRow(
            key=str(seq),
            cells=(
                PIN_MARK if seq in self.pinned else " ",
                str(seq),
                local.strftime("%H:%M:%S"),
                moment.strftime("%H:%M:%S"),
                kind.rsplit(".", 1)[-1],  # the last part says enough next to "What"; the detail has it all
                outside(what, style),
            ),
            sort=(seq in self.pinned, seq, moment, moment, kind, what),
            copy=f"#{seq} {moment.strftime('%Y-%m-%d %H:%M:%S')} UTC {kind} {what}",
            search=f"{kind} {what}",
        )


def _moment(value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _state(value: object) -> State:
    try:
        return State(str(value))
    except ValueError:
        return State.UNKNOWN
