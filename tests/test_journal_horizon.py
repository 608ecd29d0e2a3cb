"""Every reader of a journal's past reads from its horizon, not the whole file: on a journal whose early part is
huge (and valid), the tracker, stranded closure, triage resume, the share mirror, `incident show` and the TUI read a
small part of it (the kernel's count of bytes read, /proc/self/io) and agree with a full replay."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_triage_engine import api, metric, playbook

from benchmarks.big_journal import ACTOR, START, BulkWriter, with_open_incident
from console import config as cfg
from console.cli import main
from console.clock import ManualClock
from console.config import ShareSettings
from console.demo.servers import RedisServer
from console.incident.commands import IncidentDesk
from console.incident.replay import replay
from console.incident.tracker import IncidentTracker
from console.journal import Journal
from console.journal.cursor import JournalCursor
from console.journal.horizon import BOUND, CHECKPOINT, horizon
from console.live import LiveState
from console.models import State
from console.share import JournalMirror
from console.share.codec import encode
from console.sources.base import Feeds
from console.triage.engine import TriageEngine
from tests.helpers import until

EARLY = 100_000  # entries of routine traffic before what a console needs: about 47 MB


def bytes_read() -> int:
    """What this process has read so far (files, pipes, sockets), as the kernel counts it."""
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))


def reading(call: Callable[[], Any]) -> tuple[Any, int]:
    before = bytes_read()
    result = call()
    return result, bytes_read() - before


def same(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a.__dict__ == b.__dict__


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A journal of EARLY routine entries (with the checkpoints a console writes) and an open incident at its end."""
    path = tmp_path_factory.mktemp("huge") / "journal.jsonl"
    with_open_incident(path, EARLY)
    return path


@pytest.fixture
def journal(huge: Path, tmp_path: Path) -> Journal:
    (tmp_path / "j").mkdir(mode=0o700)
    shutil.copyfile(huge, tmp_path / "j" / "journal.jsonl")
    (tmp_path / "j" / "journal.jsonl").chmod(0o600)
    return Journal(tmp_path / "j" / "journal.jsonl", actor=ACTOR)


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_the_tracker_reads_the_horizon_and_agrees_with_a_full_replay(journal: Journal) -> None:
    size = journal.path.stat().st_size
    tracker = IncidentTracker(journal)
    _, read = reading(tracker.catch_up)
    assert read < size / 10, f"{read:,} bytes read of {size:,}"
    full = replay(journal.entries())
    assert same(tracker.state, full) and tracker.state.is_open and tracker.state.title == "Checkout returns 500s"
    assert [e["seq"] for e in tracker.recent] == [e["seq"] for e in journal.tail(200)]
    journal.append("note", {"text": "one more"}, incident=full.id)
    tracker.catch_up()
    assert tracker.state.notes[-1].text == "one more"
    with journal.path.open("ab") as f:  # a line past the horizon that is no entry is named by its line
        f.write(b"not json\n")
    follower = IncidentTracker(journal)
    _, read = reading(follower.catch_up)
    lines = journal.path.read_bytes().count(b"\n")
    assert follower.take_unreadable() == [
        f"journal {journal.path}: line {lines} is not JSON; run `incident-console journal verify`"
    ]
    assert read < size / 10 and same(follower.state, tracker.state)


def test_incident_show_reads_the_horizon(journal: Journal, capsys: pytest.CaptureFixture[str]) -> None:
    code, read = reading(lambda: main(["incident", "show", "--journal", str(journal.path)]))
    out = capsys.readouterr().out
    assert code == 0 and "Checkout returns 500s" in out and "TRIAGE" in out
    assert read < journal.path.stat().st_size / 10
    head = journal.tail(1)[0]
    assert f"anchor: seq {head['seq']} sha256:{head['hash'][7:19]}" in out


def test_a_journal_without_checkpoints_is_walked_once_then_a_checkpoint_keeps_starts_short(tmp_path: Path) -> None:
    path = tmp_path / "j" / "journal.jsonl"
    with_open_incident(path, 30_000, checkpoints=False)
    journal = Journal(path, actor=ACTOR)
    desk = IncidentDesk(journal)
    _, read = reading(desk.state)
    assert read > path.stat().st_size * 0.9  # no checkpoint: the walk back reaches the first line
    assert desk.tracker.summary.due
    entry = desk.checkpoint()
    assert entry["kind"] == CHECKPOINT
    assert set(entry["data"]) == {"requests", "triage_runs", "declared", "outbox", "change_baselines"}
    assert entry["data"]["declared"] == desk.state().declared_seq and entry["data"]["requests"] == []
    assert IncidentDesk(journal).checkpoint() is None  # another console: the checkpoint is there already
    tracker = IncidentTracker(Journal(path))
    _, read = reading(tracker.catch_up)
    assert read < path.stat().st_size / 5 and same(tracker.state, desk.state())


def test_an_open_request_before_the_last_declaration_is_still_closed_as_stranded(tmp_path: Path) -> None:
    path, clock = tmp_path / "j" / "journal.jsonl", ManualClock(START)
    with BulkWriter(path, clock) as writer:
        writer.routine(EARLY // 2)
    gone = {**ACTOR, "host": socket.gethostname(), "pid": dead_pid()}
    request = Journal(path, actor=gone, clock=clock.now).append("action.requested", {"action": "flush-cache"})
    with BulkWriter(path, clock) as writer:
        writer.routine(EARLY // 2)  # checkpoints after it carry the request
    desk = IncidentDesk(Journal(path, clock=clock.now), clock)
    clock.advance(60)
    desk.declare("Cache misses", "SEV-2")
    checkpoints = [e for e in desk.journal.entries() if e["kind"] == CHECKPOINT]
    assert checkpoints and request in checkpoints[-1]["data"]["requests"]
    fresh = IncidentDesk(Journal(path, clock=clock.now), clock)
    written, read = reading(fresh.close_stranded)
    assert read < path.stat().st_size / 10
    [outcome] = written
    assert (outcome["kind"], outcome["corr"], outcome["data"]["stranded"]) == ("action.failed", request["seq"], True)
    assert fresh.close_stranded() == [] and IncidentDesk(Journal(path), clock).tracker.stranded() == []


def test_triage_resumes_the_unfinished_run_reading_from_its_start(journal: Journal) -> None:
    clock = ManualClock(START)
    live = LiveState(clock)
    live.update([metric(4.7, State.CRIT), api(State.DOWN)])
    started = TriageEngine.start(playbook(), journal, live, clock)
    assert started.poll().step.id == "logs"
    with BulkWriter(journal.path, clock) as writer:
        writer.routine(BOUND + 500)  # a checkpoint carries the unfinished run
    resumed, read = reading(lambda: TriageEngine.resume(journal, live, clock))
    assert resumed is not None and resumed.run == started.run and resumed.current.id == started.current.id
    assert read < journal.path.stat().st_size / 3
    resumed.abandon("done with it")
    assert TriageEngine.resume(journal, live, clock) is None


async def test_the_mirror_reads_from_the_streams_last_seq(redis_server: RedisServer, journal: Journal) -> None:
    import redis.asyncio as aioredis

    share = ShareSettings(redis_url=redis_server.url, stream=f"test:{time.time_ns()}", key=None)
    entries, _ = JournalCursor(journal).read()
    sent = entries[-30]  # the stream already holds this host's entries up to here
    client = aioredis.Redis.from_url(share.redis_url)
    try:
        await client.xadd(share.stream, encode(sent, "host-a", None, 0, share.stream))
        before = bytes_read()
        mirror = JournalMirror(share, journal, host="host-a", poll=0.05).start()
        try:
            await until(lambda: mirror.last_seq == entries[-1]["seq"], 15, "the mirror caught up")
        finally:
            await mirror.stop()
        read = bytes_read() - before
        rows = await client.xrange(share.stream)
    finally:
        await client.aclose()
    assert [int(fields[b"seq"]) for _, fields in rows] == [e["seq"] for e in entries[-30:]]
    assert read < journal.path.stat().st_size / 10


async def shown(path: Path) -> tuple[str, int]:
    """The dashboard's banner and timeline rows once the console on this journal shows its open incident."""
    from actions.registry import build_runner
    from console.tui.app import ConsoleApp
    from widgets.timeline import Timeline

    config_path = path.parent / "config.toml"
    config_path.write_text(f'[console]\nenvironment = "staging"\njournal = "{path}"\n')
    config = cfg.load(config_path, environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(120, 40)):
        await until(lambda: "Checkout" in str(app.dashboard.banner.render()), what="the incident in the banner")
        await app.workers.wait_for_complete()  # the first stranded check and checkpoint
        return str(app.dashboard.banner.render()), app.dashboard.query_one(Timeline).table.row_count


async def test_the_tui_shows_the_open_incident_reading_the_horizon(journal: Journal, tmp_path: Path) -> None:
    small = tmp_path / "small" / "journal.jsonl"
    with_open_incident(small, 100)
    await shown(small)  # the app's modules are imported: what is read next is the journal
    before = bytes_read()
    banner, rows = await shown(journal.path)
    read = bytes_read() - before
    assert "SEV-2" in banner and "Checkout returns 500s" in banner
    assert rows == len(replay(journal.entries()).entries)
    assert read < journal.path.stat().st_size / 10


def test_a_replay_that_starts_inside_an_earlier_incidents_window_agrees(tmp_path: Path) -> None:
    clock = ManualClock(START)
    journal = Journal(tmp_path / "journal.jsonl", clock=clock.now, actor=ACTOR)
    desk = IncidentDesk(journal, clock)
    desk.declare("First", "SEV-3")
    clock.advance(1200)
    crit = journal.append("observation", {"source": "health", "name": "api", "state": "crit", "from": "ok"})
    clock.advance(1200)
    desk.set_status("resolved")
    desk.set_status("closed")
    clock.advance(300)
    warned = journal.append("observation", {"source": "health", "name": "api", "state": "warn", "from": "ok"})
    clock.advance(30)
    desk.declare("Second", "SEV-2")  # its window (30 minutes back) starts inside the first one's, at `crit`
    for i in range(300):  # more than the last lines every console keeps
        clock.advance(1)
        desk.add_note(f"note {i}")
    assert horizon(journal).line == crit["seq"]
    tracker = IncidentTracker(journal)
    tracker.catch_up()
    full = replay(journal.entries())
    assert same(tracker.state, full)
    assert full.detected_seq == warned["seq"] and full.onset == full.detected_at  # the first one's crit is its own
    assert [e["seq"] for e in full.entries[:2]] == [warned["seq"], warned["seq"] + 1]


async def test_a_console_journals_the_checkpoint_a_journal_without_one_needs(tmp_path: Path) -> None:
    path = tmp_path / "j" / "journal.jsonl"
    with_open_incident(path, BOUND * 2, checkpoints=False)
    banner, _ = await shown(path)
    assert "Checkout returns 500s" in banner
    [checkpoint] = [e for e in Journal(path).entries() if e["kind"] == CHECKPOINT]
    assert horizon(Journal(path)).walked < 10  # the next start walks back to it, not to line 1
    assert checkpoint["data"]["declared"] == replay(Journal(path).entries()).declared_seq


def test_a_cursor_knows_with_one_stat_whether_a_read_would_find_anything(tmp_path: Path) -> None:
    """The timeline's every-second refresh asks `at_end` before it hops to a thread: it must say False for anything
    a read would return or start over on (a first read, an append, a replaced journal)."""
    (tmp_path / "j").mkdir(mode=0o700)
    path = tmp_path / "j" / "journal.jsonl"
    journal = Journal(path, actor=ACTOR)
    cursor = JournalCursor(journal)
    assert cursor.at_end()  # no journal yet: a read finds nothing
    journal.append("note", {"text": "one"})
    assert not cursor.at_end()
    assert [e["data"]["text"] for e in cursor.read()[0]] == ["one"]
    assert cursor.at_end()
    journal.append("note", {"text": "two"})
    assert not cursor.at_end()
    cursor.read()
    assert cursor.at_end()
    replaced = tmp_path / "j" / "new.jsonl"
    shutil.copyfile(path, replaced)
    replaced.replace(path)  # same bytes, a new inode: a read starts over
    assert not cursor.at_end()
    assert cursor.read()[1]
    assert cursor.at_end()
