"""The Redis pane: snapshots at 80x24 and 160x50 with fixed models, and the flush key."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App, ComposeResult

from console.models import State
from console.models.redis import RedisSnapshot, SlowlogEntry
from widgets.keyed_table import KeyedTable
from widgets.messages import ActionRequested, DetailRequested
from widgets.redis_pane import RedisPane

AT = datetime(2025, 3, 14, 3, 7, 42, tzinfo=UTC)


def healthy() -> RedisSnapshot:
    slowlog = [
        SlowlogEntry(
            id=41,
            time=AT,
            duration_us=48_213,
            command="KEYS session:*",
            client="10.0.4.17:53312 (web-7f9c)",
        ),
        SlowlogEntry(
            id=40,
            time=AT.replace(second=12),
            duration_us=12_940,
            command="HGETALL user:1042:profile",
            client="10.0.4.18:40112 (worker-2)",
        ),
        SlowlogEntry(
            id=39,
            time=AT.replace(minute=6, second=55),
            duration_us=2_480,
            command='MSET cache:home:v2 {"items":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]} cache:top…',
            client="10.0.4.17:53318",
        ),
        SlowlogEntry(id=38, time=AT.replace(minute=5), duration_us=1_120_000, command="AUTH ***", client="10.0.9.2:1"),
    ]
    return RedisSnapshot(
        state=State.OK,
        target="10.0.2.5:6379/0",
        ping_ms=0.42,
        used_memory=612 * 1024 * 1024,
        peak_memory=700 * 1024 * 1024,
        max_memory=1024 * 1024 * 1024,
        eviction_policy="allkeys-lru",
        connected_clients=148,
        blocked_clients=2,
        ops_per_sec=18_240,
        hit_ratio=0.973,
        lookups=36_410,
        evicted_per_s=0.0,
        expired_per_s=14.5,
        keys_per_db={0: 120_000, 3: 512},
        role="master",
        replication="2 replicas",
        slowlog=slowlog,
        hit_rate_warn_pct=90,
        taken_at=AT,
    ).evaluated()


def degraded() -> RedisSnapshot:
    return healthy().model_copy(update={"hit_ratio": 0.41, "used_memory": 990 * 1024 * 1024}).evaluated()


def down() -> RedisSnapshot:
    return RedisSnapshot(
        state=State.DOWN,
        target="10.0.2.5:6379/0",
        reason="connection refused (is redis-server running?); next attempt in 4.0s",
        taken_at=AT,
    )


class PaneApp(App):
    """Hosts one RedisPane and feeds it a fixed model; records the requests it posts."""

    def __init__(self, snapshot: RedisSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.requests: list[ActionRequested] = []
        self.details: list[DetailRequested] = []

    def compose(self) -> ComposeResult:
        yield RedisPane()

    def on_mount(self) -> None:
        self.query_one(RedisPane).update_model(self.snapshot)

    def on_action_requested(self, message: ActionRequested) -> None:
        self.requests.append(message)

    def on_detail_requested(self, message: DetailRequested) -> None:
        self.details.append(message)


def test_healthy_80x24(snap_compare) -> None:
    assert snap_compare(PaneApp(healthy()), terminal_size=(80, 24))


def test_healthy_160x50(snap_compare) -> None:
    assert snap_compare(PaneApp(healthy()), terminal_size=(160, 50))


def test_degraded_80x24(snap_compare) -> None:
    assert snap_compare(PaneApp(degraded()), terminal_size=(80, 24))


def test_down_80x24(snap_compare) -> None:
    assert snap_compare(PaneApp(down()), terminal_size=(80, 24))


def test_down_160x50(snap_compare) -> None:
    assert snap_compare(PaneApp(down()), terminal_size=(160, 50))


def test_model_checks_drive_the_states() -> None:
    checks = {c.name: c for c in degraded().checks()}
    assert checks["hit ratio"].state is State.WARN and checks["hit ratio"].reason == "below 90% (of 36,410 lookups)"
    assert checks["memory"].state is State.CRIT and checks["memory"].value == "97% of 1.0 GiB"
    assert degraded().state is State.CRIT and healthy().state is State.OK
    assert [c.state for c in down().checks()] == [State.DOWN]


async def test_flush_key_posts_action_requested() -> None:
    app = PaneApp(healthy())
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(KeyedTable).focus()
        await pilot.press("F")
        await pilot.pause()
    assert [(m.action, m.params) for m in app.requests] == [("flush-cache", {})]


async def test_flush_binding_has_an_id_for_the_keymap() -> None:
    assert [b.id for b in RedisPane.BINDINGS] == ["redis.flush"]


async def test_enter_on_a_slowlog_entry_asks_for_its_detail() -> None:
    app = PaneApp(healthy())
    async with app.run_test(size=(160, 50)) as pilot:
        app.query_one(KeyedTable).focus()
        await pilot.press("down", "enter")
        await pilot.pause()
    assert [d.title for d in app.details] == ["SLOWLOG #40"]
    assert app.details[0].lines[-1] == "HGETALL user:1042:profile"


async def test_refresh_keeps_the_cursor_on_the_same_entry_and_down_empties_the_table() -> None:
    app = PaneApp(healthy())
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.query_one(KeyedTable)
        table.focus()
        await pilot.press("down", "down")
        newer = SlowlogEntry(id=42, time=AT, duration_us=900, command="GET x", client="10.0.0.1:1")
        snap = healthy()
        app.query_one(RedisPane).update_model(snap.model_copy(update={"slowlog": [newer, *snap.slowlog]}))
        await pilot.pause()
        assert table.current_key == "39"
        app.query_one(RedisPane).update_model(down())
        await pilot.pause()
        assert table.row_count == 0
        assert app.query_one(RedisPane).has_class("-down")


async def test_a_held_outage_shows_the_last_reading_and_what_is_pending() -> None:
    app = PaneApp(healthy().model_copy(update={"held": "ping DOWN pending 10s/20s"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        status = str(app.query_one("#redis-status").content)
        assert "PING 0.4 ms" in status and "held: ping DOWN pending 10s/20s" in status
