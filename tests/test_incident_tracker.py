"""The incident tracker follows a journal incrementally and always agrees with a full replay."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from test_incident import START, busy_incident, make_desk

from console.clock import ManualClock
from console.incident.replay import replay
from console.incident.tracker import IncidentTracker
from console.journal import Journal


def same(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a.__dict__ == b.__dict__)


def test_after_every_command_the_tracker_equals_a_full_replay(tmp_path: Path) -> None:
    clock = ManualClock(START)
    desk = make_desk(tmp_path, clock)
    follower = IncidentTracker(Journal(desk.journal.path))
    steps = [
        lambda: desk.journal.append("observation", {"source": "metric", "name": "x", "state": "crit", "from": "ok"}),
        lambda: desk.declare("Payments time out", "SEV-1", START - timedelta(minutes=5)),
        lambda: desk.add_note("looking at the pool"),
        lambda: desk.journal.append("note", {"text": "from another console"}),
        lambda: desk.set_status("mitigated"),
        lambda: desk.set_status("resolved"),
        lambda: desk.set_status("closed"),
        lambda: desk.journal.append("observation", {"source": "metric", "name": "x", "state": "ok", "from": "crit"}),
        lambda: desk.declare("Second one", "SEV-3", clock.now() - timedelta(seconds=30)),
    ]
    for step in steps:
        clock.advance(20)
        step()
        follower.catch_up()
        assert same(follower.state, replay(desk.journal.entries()))
    assert follower.declared == [e["incident"] for e in desk.journal.entries() if e["kind"] == "incident.declared"]
    assert [e["seq"] for e in follower.recent] == [e["seq"] for e in desk.journal.entries()]


def test_it_reads_only_what_was_appended_and_leaves_a_partial_line(tmp_path: Path) -> None:
    clock = ManualClock(START)
    desk = make_desk(tmp_path, clock)
    busy_incident(desk, clock)
    tracker = IncidentTracker(desk.journal)
    assert len(tracker.catch_up()) == len(list(desk.journal.entries()))
    assert tracker.catch_up() == []
    desk.add_note("one more")
    assert [e["data"]["text"] for e in tracker.catch_up()] == ["one more"]
    with desk.journal.path.open("ab") as f:
        f.write(b'{"half": ')  # a writer mid-line: nothing to read yet
    assert tracker.catch_up() == []


def test_a_journal_written_by_another_process_shows_its_entries(tmp_path: Path) -> None:
    clock = ManualClock(START)
    desk = make_desk(tmp_path, clock)
    desk.declare("Site down", "SEV-1")
    tracker = IncidentTracker(Journal(desk.journal.path))
    tracker.catch_up()
    program = (
        "import sys; from console.journal import Journal; "
        "Journal(sys.argv[1]).append('note', {'text': 'from the bastion next door'})"
    )
    subprocess.run([sys.executable, "-c", program, str(desk.journal.path)], check=True)
    assert [e["kind"] for e in tracker.catch_up()] == ["note"]
    assert tracker.state.notes[-1].text == "from the bastion next door"


@pytest.mark.parametrize("how", ["replaced", "shrunk"])
def test_a_replaced_or_shrunk_journal_is_read_again_from_the_start(tmp_path: Path, how: str) -> None:
    clock = ManualClock(START)
    desk = make_desk(tmp_path, clock)
    busy_incident(desk, clock)
    tracker = IncidentTracker(desk.journal)
    tracker.catch_up()
    (tmp_path / "other").mkdir()
    other = make_desk(tmp_path / "other", clock)
    other.declare("A different incident", "SEV-3")
    if how == "replaced":
        other.journal.path.replace(desk.journal.path)
    else:
        desk.journal.path.write_bytes(other.journal.path.read_bytes())
    tracker.catch_up()
    assert tracker.state.title == "A different incident"
    assert len(tracker.recent) == 1
