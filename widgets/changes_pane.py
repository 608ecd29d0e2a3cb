"""The Changes pane: what the change ledger read, newest first, each suspect marked with its rank.

The line above the table says what the suspects were ranked against (the onset) and the top suspect's reason, and
names each source that could not be read; `enter` opens a change (its fields and, for a suspect, why)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from console.changes.model import Change, ChangeLedger
from console.models import count
from console.timeparse import iso
from widgets.keyed_table import KeyedTable, TableRow
from widgets.messages import DetailRequested
from widgets.outside import outside

COLUMNS = [("#", "suspect"), ("at (UTC)", "at"), ("kind", "kind"), ("change", "change"), ("source", "source")]


class ChangesPane(Vertical):
    """Renders ChangeLedger models; posts DetailRequested; does no I/O."""

    HELP_PLACE = "Changes pane"

    DEFAULT_CSS = """
    ChangesPane { border: round $panel; border-title-color: $text; padding: 0 1; height: 1fr; }
    ChangesPane:focus-within { border: round $primary; }
    ChangesPane > #changes-status { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    ChangesPane > KeyedTable { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ledger: ChangeLedger | None = None
        self.border_title = "Changes"

    def compose(self) -> ComposeResult:
        yield Static("waiting for the first read of the change sources", id="changes-status")
        yield KeyedTable(COLUMNS, stick_to_top=True, id="changes-table")

    def update_model(self, ledger: ChangeLedger) -> None:
        if ledger == self.ledger:
            return  # a poll at refresh mostly ranks the same changes the same way: nothing to lay out again
        self.ledger = ledger
        lines = Text("\n").join(outside(line) for line in status_lines(ledger))  # one line each: see DEFAULT_CSS
        self.query_one("#changes-status", Static).update(lines, layout=True)
        rows = [_row(ledger, change) for change in ledger.changes]
        self.query_one("#changes-table", KeyedTable).set_rows(rows)

    @on(DataTable.RowSelected, "#changes-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.ledger is None:
            return
        key = str(event.row_key.value)
        change = next((c for c in self.ledger.changes if _key(c) == key), None)
        if change is not None:
            self.post_message(DetailRequested(f"change {change.label}", change_lines(self.ledger, change)))


def status_lines(ledger: ChangeLedger) -> list[str]:
    """The suspects against the onset, or that nothing is failing; then each source that failed (one line each: a
    change's whole reason is on `enter`)."""
    ranked = ledger.ranked()
    if ledger.onset is None:
        lines = [f"{len(ledger.changes)} changes · nothing is failing: no suspects"]
    elif ranked:
        suspect = ranked[0][1]
        lines = [f"▲ {count(len(ranked), 'suspect')} · top ({suspect.score:.2f}): {suspect.reason}"]
    else:
        lines = [f"no change before {ledger.onset_words}: no suspects"]
    return lines + [f"✗ {name}: {reason}" for name, reason in ledger.errors]


def change_lines(ledger: ChangeLedger, change: Change) -> list[str]:
    """A change's fields, and why it is a suspect."""
    suspect = ledger.suspect(change)
    lines = [f"{name}: {value}" for name, value in change.to_json().items() if value]
    if suspect is not None:
        lines += ["", f"suspect #{suspect.rank} (score {suspect.score:.2f}): {suspect.reason}"]
    return lines


def _key(change: Change) -> str:
    return f"{change.source}\x1f{change.id}"


def _row(ledger: ChangeLedger, change: Change) -> TableRow:
    suspect = ledger.suspect(change)
    at = iso(change.when)[5:16].replace("T", " ")  # MM-DD HH:MM
    # a release by its version and notes; a setting or an action by what it did
    text = f"{change.label} {change.summary}".strip() if change.kind == "deploy" else change.summary or change.label
    return TableRow(
        key=_key(change),
        cells=(f"▲{suspect.rank}" if suspect else "", at, change.kind, text, change.source),
        sort=(suspect.rank if suspect else 1_000_000, -change.when.timestamp(), change.kind, text, change.source),
        copy=change.id,
    )
