"""The PostgreSQL pane with fixed models: snapshots at 80x24 and 160x50, and keyboard flows with Pilot."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from textual.app import App, ComposeResult
from textual.widgets import TabbedContent

from console.models import State
from console.models.postgres import PgSession, PgThresholds, PostgresSnapshot, SlowStatement, lock_tree
from widgets.messages import ActionRequested, DetailRequested, FilterRequested
from widgets.pg_activity_table import PgActivityTable
from widgets.postgres_pane import TAB_ACTIVITY, TAB_LOCKS, TAB_STATEMENTS, PostgresPane

TAKEN = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)
LONG_QUERY = (
    "SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
    "WHERE o.created_at > now() - interval '30 days' ORDER BY o.total DESC"
)


def _session(pid: int, state: str | None, seconds: float, query: str, **extra) -> PgSession:
    base = {
        "user": "app",
        "database": "shop",
        "application": "api",
        "client": "10.0.0.5",
        "state_seconds": seconds,
        "query_seconds": seconds,
        "xact_seconds": seconds if state != "idle" else None,
    }
    return PgSession(pid=pid, state=state, query=query, **{**base, **extra})


def sample_sessions() -> list[PgSession]:
    sessions = [
        _session(4101, "active", 412.5, LONG_QUERY),
        _session(
            4102,
            "active",
            3.2,
            "UPDATE accounts SET balance = balance - $1 WHERE id = $2",
            blocked_by=[4103],
            wait_event_type="Lock",
            wait_event="transactionid",
            application="billing",
        ),
        _session(
            4103,
            "idle in transaction",
            95.0,
            "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
            application="billing",
        ),
        _session(
            4104,
            "active",
            1.1,
            "UPDATE accounts SET flagged = true WHERE id = $1",
            blocked_by=[4103],
            wait_event_type="Lock",
            wait_event="tuple",
            application="billing",
        ),
        _session(
            4200,
            "active",
            0.0,
            "/* incident-console */ SELECT a.pid FROM pg_stat_activity a",
            application="incident-console",
            client="127.0.0.1",
            own=True,
            user="postgres",
        ),
        PgSession(pid=120, backend_type="checkpointer"),
    ]
    for i in range(8):
        sessions.append(
            _session(4300 + i, "idle", 3600.0 + 600 * i, "SELECT 1", application="worker", client="10.0.0.9")
        )
    return sessions


def sample_snapshot() -> PostgresSnapshot:
    sessions = sample_sessions()
    return PostgresSnapshot(
        state=State.WARN,
        server_version="16.4 (Debian 16.4-1)",
        server_version_num=160004,
        role="postgres",
        superuser=True,
        privileged=True,
        database="shop",
        max_connections=20,
        connections={"active": 4, "idle": 8, "idle in transaction": 1, "waiting": 2},
        by_client={"10.0.0.9": 8, "10.0.0.5": 4, "127.0.0.1": 1},
        by_application={"worker": 8, "billing": 3, "api": 1, "incident-console": 1},
        sessions=sessions,
        long_running=[sessions[0]],
        idle_over_threshold=sessions[6:],
        locks=lock_tree(sessions),
        db_size_bytes=734_003_200,
        cache_hit_pct=99.3,
        statements=[
            SlowStatement(
                queryid=-7001,
                query=LONG_QUERY,
                calls=120,
                total_ms=98_400.0,
                mean_ms=820.0,
                calls_per_s=0.5,
                time_per_s=410.0,
            ),
            SlowStatement(
                queryid=7002,
                query="SELECT * FROM reports WHERE day = $1",
                calls=15,
                total_ms=2_250.0,
                mean_ms=150.0,
                calls_per_s=None,
                time_per_s=None,
            ),
            SlowStatement(
                queryid=7003,
                query="SELECT 1",
                calls=90_000,
                total_ms=900.0,
                mean_ms=0.01,
                calls_per_s=40.0,
                time_per_s=0.4,
            ),
        ],
        thresholds=PgThresholds(pool_warn_pct=80, long_running_s=300, idle_older_than_s=3600, slow_query_ms=100),
        taken_at=TAKEN,
    )


class PaneApp(App):
    """Hosts the pane, feeds it one snapshot, and records the requests it posts."""

    def __init__(self, snapshot: PostgresSnapshot, tab: str | None = None) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.tab = tab
        self.requests: list = []

    def compose(self) -> ComposeResult:
        yield PostgresPane()

    def on_mount(self) -> None:
        pane = self.query_one(PostgresPane)
        pane.update_model(self.snapshot)
        if self.tab:
            self.call_after_refresh(pane.show_tab, self.tab)
        self.query_one(PgActivityTable).focus()

    def on_action_requested(self, message: ActionRequested) -> None:
        self.requests.append(message)

    def on_detail_requested(self, message: DetailRequested) -> None:
        self.requests.append(message)

    def on_filter_requested(self, message: FilterRequested) -> None:
        self.requests.append(message)


def down_snapshot() -> PostgresSnapshot:
    return PostgresSnapshot(
        state=State.DOWN, reason="127.0.0.1:5432/shop: connection refused (is PostgreSQL running?)", taken_at=TAKEN
    )


def unprivileged_snapshot() -> PostgresSnapshot:
    snap = sample_snapshot()
    hidden = [
        replace(s, state=None, query="<insufficient privilege>", application="", client="") for s in snap.sessions[:4]
    ]
    return snap.model_copy(
        update={
            "role": "reporter",
            "superuser": False,
            "privileged": False,
            "sessions": hidden + snap.sessions[4:],
            "locks": [],
            "missing_grant": "GRANT pg_read_all_stats TO reporter;",
            "statements": [],
            "statements_status": "pg_stat_statements is loaded but not created in database shop. 1. in "
            "postgresql.conf set shared_preload_libraries = 'pg_stat_statements' and restart PostgreSQL (done); "
            "2. in database shop run: CREATE EXTENSION pg_stat_statements;",
        }
    )


def test_pane_80x24(snap_compare) -> None:
    assert snap_compare(PaneApp(sample_snapshot()), terminal_size=(80, 24))


def test_pane_160x50(snap_compare) -> None:
    assert snap_compare(PaneApp(sample_snapshot()), terminal_size=(160, 50))


def test_statements_80x24(snap_compare) -> None:
    assert snap_compare(PaneApp(sample_snapshot(), TAB_STATEMENTS), terminal_size=(80, 24))


def test_locks_160x50(snap_compare) -> None:
    assert snap_compare(PaneApp(sample_snapshot(), TAB_LOCKS), terminal_size=(160, 50))


def test_down_80x24(snap_compare) -> None:
    assert snap_compare(PaneApp(down_snapshot()), terminal_size=(80, 24))


def test_missing_grant_and_statements_steps_160x50(snap_compare) -> None:
    assert snap_compare(PaneApp(unprivileged_snapshot(), TAB_STATEMENTS), terminal_size=(160, 50))


def _sent(app: PaneApp, kind: type) -> list:
    return [m for m in app.requests if isinstance(m, kind)]


async def test_marked_sessions_are_terminated_in_one_request() -> None:
    app = PaneApp(sample_snapshot())
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(PgActivityTable)
        table.move_cursor(row=table._shown.index("4300"))
        await pilot.press("space", "space", "K")
        await pilot.pause()
        assert table.marked == {"4300", "4301"}
        assert [(m.action, m.params) for m in _sent(app, ActionRequested)] == [("terminate", {"pid": [4300, 4301]})]


async def test_cancel_uses_the_cursor_row_and_never_offers_the_console_itself() -> None:
    app = PaneApp(sample_snapshot())
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(PgActivityTable)
        await pilot.press("C")
        table.move_cursor(row=table._shown.index("4200"))
        await pilot.press("K")
        table.move_cursor(row=table._shown.index("120"))
        await pilot.press("K", "x")
        await pilot.pause()
        sent = [(m.action, m.params) for m in _sent(app, ActionRequested)]
        assert sent == [("cancel-query", {"pid": [4101]}), ("kill-idle", {})]


async def test_enter_shows_the_full_query_and_y_copies_it() -> None:
    app = PaneApp(sample_snapshot())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter", "y")
        await pilot.pause()
        detail = _sent(app, DetailRequested)[0]
        assert detail.title == "pid 4101 · app@shop"
        assert LONG_QUERY in detail.lines and "state          active" in detail.lines
        assert app.clipboard == LONG_QUERY


async def test_filter_request_and_regex_filter() -> None:
    app = PaneApp(sample_snapshot())
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(PgActivityTable)
        await pilot.press("slash")
        await pilot.pause()
        assert _sent(app, FilterRequested)[0].widget is table
        assert table.set_filter("worker") is None
        assert table.row_count == 8
        assert table.set_filter("!worker") is None
        assert table.row_count == 6
        assert table.set_filter("(") is not None


async def test_cursor_stays_on_its_pid_across_refreshes_and_columns_follow_the_width() -> None:
    app = PaneApp(sample_snapshot())
    async with app.run_test(size=(160, 40)) as pilot:
        pane, table = app.query_one(PostgresPane), app.query_one(PgActivityTable)
        assert "client" in [key for key, _ in table.column_spec]
        table.move_cursor(row=table._shown.index("4103"))
        table.sort_by(0)  # by pid
        newcomer = _session(50, "active", 1.0, "SELECT 2")
        snap = sample_snapshot()
        pane.update_model(snap.model_copy(update={"sessions": [newcomer, *snap.sessions]}))
        await pilot.pause()
        assert table.current_key == "4103" and table.row_count == 15
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert [key for key, _ in table.column_spec] == ["pid", "user", "application", "state", "duration", "query"]
        assert table.current_key == "4103" and table.sort_column == 0


async def test_terminate_the_blocker_from_the_lock_tree() -> None:
    app = PaneApp(sample_snapshot(), TAB_LOCKS)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        app.query_one("PgLockTree").focus()
        await pilot.press("K")
        await pilot.pause()
        assert [(m.action, m.params) for m in _sent(app, ActionRequested)] == [("terminate", {"pid": [4103]})]


async def test_down_hides_the_tables_and_recovery_brings_them_back() -> None:
    app = PaneApp(down_snapshot())
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(PostgresPane)
        assert not pane.query_one("TabbedContent").display
        assert "connection refused" in str(pane.query_one("#pg-notice").content)
        pane.update_model(sample_snapshot())
        await pilot.pause()
        assert pane.query_one("TabbedContent").display
        assert not pane.query_one("#pg-notice").has_class("-shown")
        assert app.query_one(PgActivityTable).row_count == 14


async def test_a_held_outage_keeps_the_tables_and_says_what_is_pending() -> None:
    held = sample_snapshot().model_copy(update={"held": "connection DOWN pending 30s/1m"})
    app = PaneApp(held)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = app.query_one(PostgresPane)
        notice = pane.query_one("#pg-notice")
        assert pane.query_one("TabbedContent").display and notice.has_class("-shown")
        assert "held by `for`: connection DOWN pending 30s/1m" in str(notice.content)
        assert app.query_one(PgActivityTable).row_count == 14


async def test_hidden_tabs_are_filled_when_shown_with_the_latest_snapshot() -> None:
    app = PaneApp(sample_snapshot())
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.query_one(PostgresPane)
        await pilot.pause()
        assert pane.statements.row_count == 0 and not pane.lock_tree.root.children, "not filled while hidden"
        snap = sample_snapshot()
        newer = snap.model_copy(update={"statements": snap.statements[:2], "locks": snap.locks[:1]})
        pane.update_model(newer)
        pane.show_tab(TAB_STATEMENTS)
        await pilot.pause()
        assert pane.statements.row_count == 2
        pane.show_tab(TAB_LOCKS)
        await pilot.pause()
        assert [node.data.pid for node in pane.lock_tree.root.children] == [snap.locks[0].session.pid]
        assert pane.activity.row_count == 14


async def test_a_look_step_preset_shows_the_locks_or_the_sessions_longest_first() -> None:
    app = PaneApp(sample_snapshot())
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(PostgresPane)
        table = app.query_one(PgActivityTable)
        await pilot.pause()
        assert pane.set_filter("blocked") is None
        await pilot.pause()
        assert app.query_one(TabbedContent).active == TAB_LOCKS
        assert pane.set_filter("idle") is None
        await pilot.pause()
        assert app.query_one(TabbedContent).active == TAB_ACTIVITY
        pids = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]  # after the mark column
        assert pids == [str(pid) for pid in range(4307, 4299, -1)] + ["4103"]  # idle (in a transaction too), longest
        assert pane.set_filter("long") is None
        assert str(table.get_row_at(0)[1]) == "4307" and table.row_count == 14
        assert pane.set_filter("(").startswith("not a valid regular expression")
