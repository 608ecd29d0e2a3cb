"""The PostgreSQL pane: summary, connection gauge, and tabs for activity, slow statements and the lock tree.

Keys (ids for `[keys]` remapping): `C` pg.cancel and `K` pg.terminate act on the marked sessions of the
activity table, else on the session under the cursor (activity table or lock tree); they post ONE
ActionRequested("cancel-query" | "terminate", {"pid": [pid, ...]}) with every target, so one preview and one
confirmation cover them all. The console's own sessions and non-client backends are never sent. `x`
pg.kill_idle posts ActionRequested("kill-idle", {}) (the form fills the defaults). `enter` posts
DetailRequested with the full query and the session or statement detail; `y` copies the query.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tree

from console.models import State
from console.models.postgres import PgSession, PostgresSnapshot, short_age
from widgets.gauge import Gauge
from widgets.messages import ActionRequested, DetailRequested
from widgets.outside import outside
from widgets.pg_activity_table import STATE_WORDS, PgActivityTable
from widgets.pg_lock_tree import PgLockTree
from widgets.pg_statements_table import PgStatementsTable, milliseconds, rate

TAB_ACTIVITY, TAB_STATEMENTS, TAB_LOCKS = "pg-tab-activity", "pg-tab-statements", "pg-tab-locks"


def size_text(size: int | None) -> str:
    if size is None:
        return "size ?"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def _unreadable(snap: PostgresSnapshot) -> bool:
    return snap.state is State.DOWN or (snap.state is State.UNKNOWN and bool(snap.reason))


def _set_line(line: Static, text: str) -> None:
    """One line of outside text (role, database, application names); untouched (no repaint) when it is the same."""
    shown = outside(text, no_wrap=True, overflow="ellipsis")
    if str(line.content) != shown.plain:
        line.update(shown, layout=False)


class PostgresPane(Widget, can_focus=False):
    """Renders PostgresSnapshot models; posts ActionRequested and DetailRequested; does no I/O."""

    HELP_PLACE = "PostgreSQL pane"

    DEFAULT_CSS = """
    PostgresPane { height: 1fr; layout: vertical; }
    PostgresPane > .pg-line { height: 1; padding: 0 1; }
    PostgresPane > Gauge { padding: 0 1; }
    PostgresPane .pg-notice { height: auto; padding: 0 1; display: none; }
    PostgresPane .pg-notice.-shown { display: block; }
    PostgresPane .pg-notice.-down { color: $error; text-style: bold; }
    PostgresPane .pg-notice.-warn { color: $warning; }
    PostgresPane .pg-notice.-ok { color: $text-muted; }
    PostgresPane TabbedContent { height: 1fr; }
    PostgresPane TabPane { padding: 0; }
    PostgresPane PgActivityTable, PostgresPane PgStatementsTable { height: 1fr; }
    """

    BINDINGS = [
        Binding("C", "cancel", "Cancel query", id="pg.cancel"),
        Binding("K", "terminate", "Terminate", id="pg.terminate"),
        Binding("x", "kill_idle", "Kill idle", id="pg.kill_idle"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.snapshot: PostgresSnapshot | None = None
        self._tab_labels: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="pg-summary", classes="pg-line")
        yield Static(id="pg-states", classes="pg-line")
        yield Gauge("Connections", id="pg-gauge")
        yield Static(id="pg-notice", classes="pg-notice")
        with TabbedContent(id="pg-tabs"):
            with TabPane("Activity", id=TAB_ACTIVITY):
                yield PgActivityTable(id="pg-activity")
            with TabPane("Slow statements", id=TAB_STATEMENTS):
                yield Static(id="pg-statements-notice", classes="pg-notice")
                yield PgStatementsTable(id="pg-statements")
            with TabPane("Locks", id=TAB_LOCKS):
                yield Static(id="pg-locks-notice", classes="pg-notice")
                yield PgLockTree(id="pg-locks")

    @property
    def activity(self) -> PgActivityTable:
        return self.query_one(PgActivityTable)

    @property
    def statements(self) -> PgStatementsTable:
        return self.query_one(PgStatementsTable)

    @property
    def lock_tree(self) -> PgLockTree:
        return self.query_one(PgLockTree)

    def show_tab(self, pane_id: str) -> None:
        """Switch to TAB_ACTIVITY, TAB_STATEMENTS or TAB_LOCKS."""
        self.query_one(TabbedContent).active = pane_id

    def set_filter(self, text: str) -> str | None:
        """What a triage look step asks to see: a preset (`LOOK_PRESETS`: `blocked` the Locks tab, `long` the
        sessions longest first, `idle` the idle ones longest first) or a filter on the sessions (a regular
        expression, `!` inverts). Returns an error text, else None."""
        text = text.strip()
        if text == "blocked":
            self.show_tab(TAB_LOCKS)
            return None
        self.show_tab(TAB_ACTIVITY)
        if text in ("long", "idle"):
            keys = [key for key, _ in self.activity.column_spec]
            self.activity.sort_by(keys.index("duration"), reverse=True)
            text = r"\bidle\b" if text == "idle" else ""
        return self.activity.set_filter(text)

    def update_model(self, snap: PostgresSnapshot) -> None:
        """Show one refresh. A DOWN (or unreadable) snapshot replaces the tabs with its reason.

        Only the tab on screen is filled: the others are filled from the latest snapshot when they are shown.
        """
        self.snapshot = snap
        unreadable = _unreadable(snap)
        blocked = len(snap.blocked)
        self._summary(snap, unreadable, blocked)
        self._notice(self.query_one("#pg-notice", Static), *self._main_notice(snap, unreadable))
        tabs = self.query_one(TabbedContent)
        if tabs.display == unreadable:
            tabs.display = not unreadable
        self._fill(tabs.active or TAB_ACTIVITY)
        if not unreadable:
            self._label_tab(TAB_ACTIVITY, f"Activity ({len(snap.sessions)})")
            self._label_tab(TAB_LOCKS, f"Locks ({blocked} blocked)" if blocked else "Locks")

    @on(TabbedContent.TabActivated, "#pg-tabs")
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id is not None:
            self._fill(event.pane.id)

    def _fill(self, pane_id: str) -> None:
        """Show the latest snapshot on one tab (empty while the server cannot be read)."""
        snap = self.snapshot
        if snap is None:
            return
        readable = not _unreadable(snap)
        if pane_id == TAB_ACTIVITY:
            self.activity.show(snap.sessions if readable else [])
        elif pane_id == TAB_STATEMENTS:
            if readable:
                self._statements(snap)
            else:
                self.statements.show([])
        elif pane_id == TAB_LOCKS:
            if readable:
                self._locks(snap)
            else:
                self.lock_tree.show([])

    def _summary(self, snap: PostgresSnapshot, unreadable: bool, blocked: int) -> None:
        summary, states = self.query_one("#pg-summary", Static), self.query_one("#pg-states", Static)
        head = f"{snap.state.symbol} {snap.state.word}  PostgreSQL"
        gauge = self.query_one(Gauge)
        if unreadable:
            _set_line(summary, f"{head}: not readable")
            _set_line(states, "")
            gauge.show(0, 0, snap.state, "no data")
            return
        version = snap.server_version.split()[0] if snap.server_version else "?"
        cache = f"{snap.cache_hit_pct:.1f}%" if snap.cache_hit_pct is not None else "?"
        _set_line(
            summary,
            f"{head} {version} · long {len(snap.long_running)} · blocked {blocked} · "
            f"idle>{short_age(snap.thresholds.idle_older_than_s)} {len(snap.idle_over_threshold)} · "
            f"cache {cache} · {size_text(snap.db_size_bytes)} · "
            f"{snap.role}@{snap.database}{' (superuser)' if snap.superuser else ''}",
        )
        parts = [f"{STATE_WORDS.get(state, state)} {n}" for state, n in snap.connections.items()]
        clients = ", ".join(f"{client} {n}" for client, n in list(snap.by_client.items())[:3])
        apps = ", ".join(f"{app} {n}" for app, n in list(snap.by_application.items())[:3])
        _set_line(states, " · ".join(parts) + f" │ apps: {apps} │ clients: {clients}")
        conn = next(c for c in snap.checks() if c.name == "connections")
        gauge.show(
            snap.total_connections,
            snap.max_connections,
            conn.state,
            f"{snap.total_connections}/{snap.max_connections} {snap.connections_pct:.0f}%",
        )

    @staticmethod
    def _main_notice(snap: PostgresSnapshot, unreadable: bool) -> tuple[str, str]:
        if unreadable:
            state = snap.state
            return f"{state.symbol} {state.word}  {snap.reason or 'PostgreSQL is not answering'}", "-down"
        if snap.held:
            return (
                f"{State.WARN.symbol} held by `for`: {snap.held} · reading of {snap.taken_at.astimezone():%H:%M:%S}",
                "-warn",
            )
        if snap.missing_grant:
            return (
                f"{State.WARN.symbol} {State.WARN.word}  role {snap.role} cannot see other roles' sessions and "
                f"queries. As a superuser run:  {snap.missing_grant}",
                "-warn",
            )
        return "", ""

    @staticmethod
    def _notice(notice: Static, text: str, kind: str) -> None:
        """Show `text` (class `kind`) or hide the notice when text is empty; touches nothing when unchanged."""
        classes = {"pg-notice", kind, "-shown"} if text else {"pg-notice"}
        if set(notice.classes) != classes:
            notice.set_classes(" ".join(sorted(classes)))
        shown = outside(text, lines=True)  # a server's words (its error, a missing grant); lines are the pane's own
        if str(notice.content) != shown.plain:
            notice.update(shown)

    def _statements(self, snap: PostgresSnapshot) -> None:
        notice, table = self.query_one("#pg-statements-notice", Static), self.statements
        if snap.statements_status:
            text = f"{State.WARN.symbol} {State.WARN.word}  " + snap.statements_status.replace("; 2.", ";\n2.").replace(
                ". 1.", ".\n1."
            )
            self._notice(notice, text, "-warn")
        elif not snap.statements:
            self._notice(notice, "No statements recorded yet by pg_stat_statements.", "-ok")
        else:
            self._notice(notice, "", "")
        has_rows = bool(snap.statements)
        if table.display != has_rows:
            table.display = has_rows
        table.show_statements(snap.statements, snap.thresholds.slow_query_ms)

    def _locks(self, snap: PostgresSnapshot) -> None:
        notice, tree = self.query_one("#pg-locks-notice", Static), self.lock_tree
        if snap.locks:
            self._notice(notice, "", "")
        else:
            self._notice(notice, f"{State.OK.symbol} {State.OK.word}  no session is waiting on a lock", "-ok")
        if tree.display != bool(snap.locks):
            tree.display = bool(snap.locks)
        tree.show(snap.locks)

    def _label_tab(self, pane_id: str, label: str) -> None:
        if self._tab_labels.get(pane_id) != label:
            self._tab_labels[pane_id] = label
            self.query_one(TabbedContent).get_tab(pane_id).label = label

    def _targets(self) -> list[PgSession]:
        active = self.query_one(TabbedContent).active
        if active == TAB_LOCKS:
            node = self.lock_tree.cursor_node
            return [node.data] if node is not None and node.data is not None else []
        if active == TAB_ACTIVITY:
            return self.activity.targets()
        return []

    def _request(self, action: str) -> None:
        sessions = self._targets()
        refused = [s for s in sessions if not s.killable]
        pids = [s.pid for s in sessions if s.killable]
        if refused:
            why = ", ".join(f"{s.pid} ({'this console' if s.own else s.backend_type})" for s in refused)
            self.notify(f"not offered: {why}", severity="warning", timeout=3, markup=False)
        if pids:
            self.post_message(ActionRequested(action, {"pid": pids}))
        elif not refused:
            self.notify("no session selected: move to a session on Activity or Locks", timeout=3)

    def action_cancel(self) -> None:
        self._request("cancel-query")

    def action_terminate(self) -> None:
        self._request("terminate")

    def action_kill_idle(self) -> None:
        self.post_message(ActionRequested("kill-idle", {}))

    @on(DataTable.RowSelected, "#pg-activity")
    def _session_detail(self, event: DataTable.RowSelected) -> None:
        event.stop()
        session = self.activity.current_session()
        if session is not None:
            self._detail(session)

    @on(DataTable.RowSelected, "#pg-statements")
    def _statement_detail(self, event: DataTable.RowSelected) -> None:
        event.stop()
        st = self.statements.current_statement()
        if st is None:
            return
        lines = [
            f"query id   {st.queryid}",
            f"mean       {milliseconds(st.mean_ms)}",
            f"calls      {st.calls}",
            f"total      {milliseconds(st.total_ms)}",
            f"calls/s    {rate(st.calls_per_s)}",
            f"ms/s       {rate(st.time_per_s)}",
            "",
            *st.query.splitlines(),
        ]
        self.post_message(DetailRequested(f"statement {st.queryid}", lines))

    @on(Tree.NodeSelected, "#pg-locks")
    def _lock_detail(self, event: Tree.NodeSelected) -> None:
        event.stop()
        if event.node.data is not None:
            self._detail(event.node.data)

    def _detail(self, session: PgSession) -> None:
        title = f"pid {session.pid} · {session.user or '?'}@{session.database or '?'}"
        self.post_message(DetailRequested(title, session.detail_lines()))
