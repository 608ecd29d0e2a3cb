"""The alerts pane: what fires now in Alertmanager, newest first, with its labels and how long it has fired.

`enter` opens an alert's labels and annotations; `M` asks for the silence form prefilled with the alert's labels.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Resize
from textual.widgets import DataTable, Static

from console.models import State, format_duration
from console.models.alerts import Alert, AlertsSnapshot, Matcher, format_matchers, matches, parse_matchers
from console.redact import make_safe
from widgets.keyed_table import KeyedTable, TableRow
from widgets.messages import ActionRequested, DetailRequested
from widgets.outside import outside

COLUMNS = [("for", "for"), ("alert", "alert"), ("severity", "severity"), ("labels", "labels")]
# Cells taken by everything but the labels: the for, alert and severity columns, every column's padding
# (1 each side) and a vertical scrollbar.
_FIXED = 7 + 24 + 8 + 4 * 2 + 2


class AlertsPane(Vertical):
    """Renders AlertsSnapshot models; posts ActionRequested("silence") and DetailRequested; does no I/O."""

    HELP_PLACE = "Alerts pane"

    DEFAULT_CSS = """
    AlertsPane { border: round $panel; border-title-color: $text; padding: 0 1; height: 1fr; }
    AlertsPane:focus-within { border: round $primary; }
    AlertsPane > #alerts-status { height: 1; text-style: bold; }
    AlertsPane.-down > #alerts-status { color: $error; }
    AlertsPane > KeyedTable { height: 1fr; }
    """

    BINDINGS = [Binding("M", "silence", "Silence", id="alerts.silence")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.snapshot: AlertsSnapshot | None = None
        self.matchers: list[Matcher] = []  # a triage look step's label matchers: only the alerts they match
        self.border_title = "Alerts"

    def compose(self) -> ComposeResult:
        yield Static("? UNKNOWN  waiting for the first reading", id="alerts-status")
        yield KeyedTable(COLUMNS, stick_to_top=True, id="alerts-table")

    def update_model(self, snap: AlertsSnapshot) -> None:
        """Show one reading; a DOWN reading says Alertmanager is unreachable and why, and empties the list."""
        self.snapshot = snap
        self.border_title = outside(f"Alerts {snap.target}".rstrip())
        self.set_class(snap.state is State.DOWN, "-down")
        self.query_one("#alerts-status", Static).update(outside(status_line(snap)), layout=False)
        self._show_alerts()

    def set_filter(self, text: str) -> str | None:
        """Show only the alerts these label matchers match (`severity="critical", job=~"api.*"`; empty: all).
        Returns an error text, else None."""
        try:
            self.matchers = parse_matchers(text)
        except ValueError as exc:
            return str(exc)
        self._show_alerts()
        return None

    def action_silence(self) -> None:
        alert = self._selected()
        if alert is None:
            self.notify("no alert selected to silence", severity="warning", markup=False)
            return
        self.post_message(ActionRequested("silence", {"matchers": format_matchers(alert.labels)}))

    def on_resize(self, event: Resize) -> None:
        self._show_alerts()

    @on(DataTable.RowSelected, "#alerts-table")
    def _open_alert(self, event: DataTable.RowSelected) -> None:
        event.stop()
        alert = self._alerts().get(str(event.row_key.value))
        if alert is not None and self.snapshot is not None:
            self.post_message(DetailRequested(f"alert {alert.name}", alert_lines(alert, self.snapshot)))

    def _alerts(self) -> dict[str, Alert]:
        snap = self.snapshot
        if snap is None or snap.state is State.DOWN:
            return {}
        return {a.fingerprint: a for a in snap.alerts if matches(a.labels, self.matchers)}

    def _selected(self) -> Alert | None:
        key = self.query_one("#alerts-table", KeyedTable).current_key
        return self._alerts().get(key) if key is not None else None

    def _show_alerts(self) -> None:
        if not self.is_mounted or not self.size.width or self.snapshot is None:
            return  # the labels column fits the pane's width: the first Resize renders
        snap = self.snapshot
        width = max(12, self.size.width - _FIXED)
        rows = [
            TableRow(
                key=alert.fingerprint,
                cells=(
                    format_duration(snap.firing_for(alert), compact=True),
                    _clip(alert.name, 24),
                    _clip(alert.severity, 8),
                    _clip(alert.other_labels, width),
                ),
                sort=(-snap.firing_for(alert), alert.name, alert.severity, alert.other_labels),
                copy=format_matchers(alert.labels),
            )
            for alert in self._alerts().values()
        ]
        self.query_one("#alerts-table", KeyedTable).set_rows(rows)


def status_line(snap: AlertsSnapshot) -> str:
    """The pane's check in words: its state, how many fire per severity, or why Alertmanager cannot be read."""
    check = snap.checks()[0]
    head = f"{check.state.symbol} {check.state.word}"
    if snap.state is State.DOWN:
        return f"{head}  {snap.reason or 'Alertmanager is unreachable'}"
    if not snap.alerts:
        return f"{head}  nothing firing"
    return f"{head}  {check.value} ({check.reason})  ·  M silence the selected alert"


def alert_lines(alert: Alert, snap: AlertsSnapshot) -> list[str]:
    lines = [
        f"firing for  {format_duration(snap.firing_for(alert))} (since {alert.starts_at.isoformat()})",
        f"fingerprint {alert.fingerprint}",
        "",
        "labels",
    ]
    lines += [f"  {k} = {v}" for k, v in sorted(alert.labels.items())]
    if alert.annotations:
        lines += ["", "annotations"] + [f"  {k} = {v}" for k, v in sorted(alert.annotations.items())]
    return lines


def _clip(text: str, width: int) -> str:
    """`text` escaped (`make_safe`), then cut to `width` with an ellipsis."""
    text = make_safe(text)
    return text if len(text) <= width else text[: width - 1] + "…"
