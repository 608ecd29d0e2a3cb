"""Characters other readers take for a line end (U+2028, U+2029, U+0085) never stop a journal reader."""

from __future__ import annotations

import json
from pathlib import Path

from console.incident.tracker import IncidentTracker
from console.journal import Journal
from console.journal.cursor import JournalCursor
from console.journal.verify import canonical
from tests.helpers import cli, toasts, until

ACTOR = {"user": "tester", "host": "test-host", "ssh_from": None, "pid": 1}
BREAKERS = "a\u2028b\u2029c\x85d"


def make_journal(path: Path) -> Journal:
    return Journal(path, actor=ACTOR, environment="test")


def test_line_breakers_are_escaped_in_the_file_and_read_back_exactly(tmp_path: Path) -> None:
    journal = make_journal(tmp_path / "j.jsonl")
    cursor = JournalCursor(journal)
    written = journal.append("note", {"text": BREAKERS})
    raw = journal.path.read_bytes()
    assert "\u2028".encode() not in raw and "\u2029".encode() not in raw and "\x85".encode() not in raw
    assert b"\\u2028" in raw and b"\\u2029" in raw and b"\\u0085" in raw
    assert raw.count(b"\n") == 1
    journal.append("note", {"text": "after"})
    assert [e["data"]["text"] for e in cursor.read()[0]] == [BREAKERS, "after"]
    assert next(iter(journal.entries())) == written
    assert journal.verify().ok


def test_a_journal_an_older_console_wrote_raw_still_reads_and_verifies(tmp_path: Path) -> None:
    """Older consoles wrote the canonical text raw: the hash is over that text, so it still verifies."""
    path = tmp_path / "j.jsonl"
    journal = make_journal(path)
    entry = journal.append("note", {"text": "first"})
    follower = JournalCursor(journal)
    assert len(follower.read()[0]) == 1
    from console.journal.verify import entry_hash

    raw_entry = {**entry, "seq": 2, "prev": entry["hash"], "data": {"text": BREAKERS}}
    raw_entry.pop("hash")
    raw_entry["hash"] = entry_hash(raw_entry)
    with path.open("ab") as f:
        f.write((canonical(raw_entry) + "\n").encode())
    journal.append("note", {"text": "third"})
    assert [e["data"]["text"] for e in follower.read()[0]] == [BREAKERS, "third"]
    assert [e["seq"] for e in journal.entries()] == [1, 2, 3]
    assert journal.verify().ok and journal.verify().count == 3


def test_a_follower_skips_a_line_it_cannot_read_says_so_and_keeps_following(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = make_journal(path)
    tracker = IncidentTracker(journal)
    journal.append("note", {"text": "one"})
    tracker.catch_up()
    with path.open("ab") as f:
        f.write(b'{"not": "an entry"}\n')
    with path.open("ab") as f:  # the journal refuses to append after a bad line: another writer's entry follows it
        f.write((json.dumps({"seq": 3}) + "\n").encode())
    assert tracker.catch_up() == []
    problems = tracker.take_unreadable()
    assert len(problems) == 2 and "line 2" in problems[0] and "line 3" in problems[1]
    assert tracker.take_unreadable() == []


def test_incident_commands_work_with_a_note_holding_line_separators(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    declared = cli("incident", "declare", "--title", "API down", "--severity", "SEV-2", "--journal", path)
    assert declared.returncode == 0, declared.stderr
    noted = cli("incident", "note", f"deploy {BREAKERS} done", "--journal", path)
    assert noted.returncode == 0, noted.stderr
    later = cli("incident", "note", "later note", "--journal", path)
    assert later.returncode == 0, later.stderr
    shown = cli("incident", "show", "--journal", path)
    assert shown.returncode == 0, shown.stderr
    assert "later note" in shown.stdout
    verified = cli("journal", "verify", "--journal", path)
    assert verified.returncode == 0 and "3 entries" in verified.stdout


async def test_the_console_says_on_screen_when_it_skips_a_journal_line_and_keeps_following(tmp_path: Path) -> None:
    from actions.registry import build_runner
    from console import config as cfg
    from console.sources.base import Feeds
    from console.tui.app import ConsoleApp

    path = tmp_path / "config.toml"
    journal_path = tmp_path / "j.jsonl"
    path.write_text(f'[console]\nenvironment = "staging"\njournal = "{journal_path}"\n')
    config = cfg.load(path, environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(100, 30), notifications=True):
        app.incident.desk.declare("API down", "SEV-2")
        await app.incident.refresh()
        with journal_path.open("ab") as f:  # a line no console could use, then a good entry another host wrote
            f.write(b"\xff not json\n")
        second = make_journal(tmp_path / "other.jsonl").append("note", {"text": "x"})
        entry = {**second, "seq": 3, "incident": app.incident.desk.state().id, "data": {"text": f"after {BREAKERS}"}}
        with journal_path.open("ab") as f:
            f.write((json.dumps(entry) + "\n").encode())
        await app.incident.refresh()
        await until(lambda: any("line 2 is not JSON" in text for text in toasts(app)), what="the notice")
        notices = toasts(app)
        assert any("line 2 is not JSON" in text and "skipped it" in text for text in notices), notices
        assert [e["data"].get("text") for e in app.incident.desk.tracker.recent][-1] == f"after {BREAKERS}"
