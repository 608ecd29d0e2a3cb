"""`journal archive` on real files: the entries before the last resolved incident move to a 0600 archive, `journal
verify` walks across both (and names a tampered or missing archive), anchors still hold, the console still shows the
open incident, and it refuses what would lose an open request or an unfinished triage run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_journal_horizon import dead_pid, same, shown

from benchmarks.big_journal import ACTOR, START, BulkWriter, with_open_incident
from console.cli import main
from console.clock import ManualClock
from console.incident.replay import replay
from console.incident.tracker import IncidentTracker
from console.journal import Journal
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    path = tmp_path / "j" / "journal.jsonl"
    with_open_incident(path, 8_000)  # routine incidents resolved and closed every 2,000 entries, one open at the end
    return Journal(path, actor=ACTOR)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_archive_then_verify_walks_across_both(journal: Journal, capsys: pytest.CaptureFixture[str]) -> None:
    before = list(journal.entries())
    incident = replay(before)
    anchored = before[99]
    code, out, err = run(capsys, "journal", "archive", "--journal", str(journal.path))
    assert (code, err) == (0, "")
    archive = next(journal.path.parent.glob("journal-archive-*.jsonl"))
    archived = [json.loads(line) for line in archive.read_text().splitlines()]
    kept = list(journal.entries())
    first, last = archived[0]["seq"], archived[-1]["seq"]
    assert archive.name == f"journal-archive-{first}-{last}.jsonl" and (archive.stat().st_mode & 0o777) == 0o600
    assert archived + kept[:-1] == before  # nothing lost, nothing changed: the same lines, in two files
    assert out.strip() == (
        f"archived {len(archived)} entries (seq 1-{last}) to {archive}; the journal goes on from seq {last + 1}, "
        f"and its entry #{kept[-1]['seq']} records the archive's head {archived[-1]['hash']}"
    )
    record = kept[-1]
    assert (record["kind"], record["seq"]) == ("journal.archived", before[-1]["seq"] + 1)
    assert record["prev"] == before[-1]["hash"]
    assert record["data"] == {
        "file": archive.name,
        "entries": len(archived),
        "first": 1,
        "last": last,
        "head": archived[-1]["hash"],
        "before": record["data"]["before"],
    }
    assert kept[0]["prev"] == archived[-1]["hash"]  # seqs go on: the live journal keeps its seqs and its chain
    anchor = f"{anchored['seq']}:{anchored['hash']}"
    code, out, _ = run(capsys, "journal", "verify", "--journal", str(journal.path), "--anchor", anchor)
    assert code == 0
    assert f"ok, {len(before) + 1} entries" in out and f"checked: archive {archive.name}: intact" in out
    assert f"checked: anchor seq {anchored['seq']}" in out and f"anchor: seq {record['seq']} " in out
    tracker = IncidentTracker(journal)
    tracker.catch_up()
    assert same(tracker.state, replay(journal.entries())) and tracker.state.is_open
    assert [e["seq"] for e in tracker.state.entries] == [e["seq"] for e in incident.entries] + [record["seq"]]
    code, out, _ = run(capsys, "incident", "show", "--journal", str(journal.path))
    assert code == 0 and incident.id in out and "Checkout returns 500s" in out


@pytest.mark.parametrize("damage", ["tampered", "missing"])
def test_verify_names_a_tampered_or_missing_archive(
    journal: Journal, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    assert run(capsys, "journal", "archive", "--journal", str(journal.path))[0] == 0
    archive = next(journal.path.parent.glob("journal-archive-*.jsonl"))
    lines = archive.read_bytes().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if i > 40 and b'"reason":"x"' in line)
    if damage == "tampered":  # an observation's reason changed, its hash left as it was
        lines[at] = lines[at].replace(b'"reason":"x"', b'"reason":"y"')
        archive.write_bytes(b"".join(lines))
    else:
        archive.unlink()
    code, out, _ = run(capsys, "journal", "verify", "--journal", str(journal.path))
    assert code == 1
    if damage == "tampered":
        assert out.startswith(f"{journal.path}: BAD at seq {at + 1}: archive {archive.name}: hash mismatch")
    else:
        assert f"archive {archive.name} is missing or empty" in out


async def test_the_console_shows_the_open_incident_after_an_archive(journal: Journal, tmp_path: Path) -> None:
    follower = IncidentTracker(journal)  # a console already running while the journal is archived
    follower.catch_up()
    assert main(["journal", "archive", "--journal", str(journal.path)]) == 0
    follower.catch_up()
    assert follower.state.title == "Checkout returns 500s" and follower.state.is_open
    banner, rows = await shown(journal.path)
    assert "Checkout returns 500s" in banner and rows == len(follower.state.entries)


def test_a_writer_waiting_for_the_lock_writes_to_the_archived_journal(journal: Journal) -> None:
    program = (
        "import sys; from console.journal import Journal; j = Journal(sys.argv[1]); "
        "[j.append('note', {'i': i}) for i in range(1500)]"
    )
    writer = subprocess.Popen([sys.executable, "-c", program, str(journal.path)], cwd=ROOT)
    wait_for(lambda: journal.path.read_bytes().count(b'"kind":"note","prev"') >= 150, 30, "the writer under way")
    assert main(["journal", "archive", "--journal", str(journal.path)]) == 0  # while the writer goes on
    assert writer.wait(timeout=60) == 0
    kinds = [e["kind"] if "i" not in e["data"] else e["data"]["i"] for e in journal.entries()]
    at = kinds.index("journal.archived")
    assert [k for k in kinds if isinstance(k, int)] == list(range(1500))  # not one lost to the old file
    assert isinstance(kinds[at - 1], int) and isinstance(kinds[at + 1], int) and journal.verify().ok


def test_it_refuses_to_move_an_open_request_or_an_unfinished_triage_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, clock = tmp_path / "j" / "journal.jsonl", ManualClock(START)
    gone = {**ACTOR, "pid": dead_pid(), "host": "elsewhere"}  # another host's: never closed as stranded here
    request = Journal(path, actor=gone, clock=clock.now).append("action.requested", {"action": "flush-cache"})
    run_started = Journal(path, clock=clock.now).append("triage.started", {"playbook": "p", "definition": {}})
    with BulkWriter(path, clock) as writer:
        writer.routine(4_000)
    content = path.read_bytes()
    code, _, err = run(capsys, "journal", "archive", "--journal", str(path))
    assert code == 2 and err == (
        f"incident-console: journal archive: action request #{request['seq']} (flush-cache) has no outcome; wait for "
        "it to end (a stranded one is closed by the next console on its host) and run it again\n"
    )
    Journal(path).append("action.failed", {"action": "flush-cache", "status": "failed"}, corr=request["seq"])
    content = path.read_bytes()
    code, _, err = run(capsys, "journal", "archive", "--journal", str(path))
    assert code == 2 and f"triage run #{run_started['seq']} is unfinished; finish or abandon it (x)" in err
    assert path.read_bytes() == content and not list(path.parent.glob("*archive*"))


def test_it_refuses_a_journal_with_nothing_resolved_or_that_fails_verification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "j" / "journal.jsonl"
    with_open_incident(path, 500)  # no routine incident resolved yet
    code, _, err = run(capsys, "journal", "archive", "--journal", str(path))
    assert code == 2 and "no incident in" in err and "is resolved yet; nothing to archive" in err
    lines = path.read_bytes().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if b'"reason":"x"' in line)
    lines[at] = lines[at].replace(b'"reason":"x"', b'"reason":"y"')
    path.write_bytes(b"".join(lines))
    code, _, err = run(capsys, "journal", "archive", "--journal", str(path))
    assert code == 2 and f"fails verification at seq {at + 1} (hash mismatch)" in err
