"""What the journal holds is data: shown escaped (JSON stays JSON), and a line that is no entry is one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.incident.commands import IncidentDesk
from console.journal import Journal, canonical, entry_hash
from console.redact import UNSAFE_CHARS
from tests.helpers import cli

FORGED = "x\n   99  2025-01-15 03:20:00  action.completed    root@bastion  rollback completed"
OSC52 = "\x1b]52;c;cm0gLXJmIC8K\x07"
NOTE = f"copied {OSC52} and a NUL \x00 here"
TITLE = "Checkout \x1b[2J500s"


def _hostile_journal(tmp_path: Path) -> tuple[Path, str]:
    """An incident whose title, a note and an action's parameter carry escapes, NUL and a forged line."""
    journal = Journal(tmp_path / "journal.jsonl", environment="staging")
    desk = IncidentDesk(journal)
    desk.declare(TITLE)
    desk.add_note(NOTE)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{journal.path}"\n'
        '[actions.echo]\ncommand = ["echo", "{msg}"]\nparams = { msg = "what to say" }\n'
    )
    done = cli("run", "echo", "--config", config, "--msg", FORGED, "--yes")
    assert done.returncode == 0, done.stderr
    return journal.path, done.stdout


def _raw_controls(text: str) -> set[str]:
    return {c for c in UNSAFE_CHARS.findall(text) if c != "\n"}


def test_journal_show_escapes_what_the_entries_hold(tmp_path: Path) -> None:
    path, run_output = _hostile_journal(tmp_path)
    assert "runs echo 'x\\x0a   99  2025" in run_output  # the preview of `run` says it the same way
    shown = cli("journal", "show", "--journal", path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == 4  # declared, note, requested, completed: the newline forged no fifth line
    assert _raw_controls(shown.stdout) == set()
    assert "Checkout \\x1b[2J500s" in lines[0]
    assert "copied \\x1b]52;c;cm0gLXJmIC8K\\x07 and a NUL \\x00 here" in lines[1]
    assert "x\\x0a   99  2025-01-15 03:20:00  action.completed" in lines[2]
    as_json = cli("journal", "show", "--journal", path, "--json")
    entries = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert entries[1]["data"]["text"] == NOTE and entries[2]["data"]["params"] == {"msg": FORGED}


def test_markdown_export_escapes_what_the_entries_hold(tmp_path: Path) -> None:
    path, _ = _hostile_journal(tmp_path)
    exported = cli("journal", "export", "--journal", path, "--format", "md")
    assert exported.returncode == 0, exported.stderr
    markdown = exported.stdout
    assert _raw_controls(markdown) == set()
    assert markdown.startswith("# Post-mortem: Checkout \\x1b[2J500s\n")
    assert "| copied \\x1b]52;c;cm0gLXJmIC8K\\x07 and a NUL \\x00 here |" in markdown
    params = [line for line in markdown.splitlines() if "msg=x" in line]
    assert len(params) == 1 and "| msg=x\\x0a 99 2025-01-15 03:20:00 action.completed " in params[0]  # one cell
    as_json = json.loads(cli("journal", "export", "--journal", path, "--format", "json").stdout)
    assert as_json["incident"]["title"] == TITLE and as_json["actions"][0]["params"] == {"msg": FORGED}


@pytest.mark.parametrize(
    ("line", "problem", "bad"),
    [
        ("42", "line 3 is not a journal entry: a number, not an object", "seq 3: not a journal entry"),
        ('{"seq":3}', "line 3 (seq 3) is not a journal entry: no 'ts' field", "seq 3: prev does not match"),
    ],
)
def test_a_line_that_is_json_but_no_entry_is_one_clear_error(tmp_path: Path, line: str, problem: str, bad: str) -> None:
    journal = Journal(tmp_path / "journal.jsonl", environment="staging")
    desk = IncidentDesk(journal)
    desk.declare("Checkout returns 500s")
    desk.add_note("looking")
    with journal.path.open("a") as f:
        f.write(line + "\n")
    desk.state()  # a follower skips the line, says which (the TUI notifies it) and keeps following
    [said] = desk.tracker.take_unreadable()
    assert problem in said
    for argv in (["show"], ["show", "--json"]):
        shown = cli("journal", *argv, "--journal", journal.path)
        assert shown.returncode == 2 and shown.stderr.count("\n") == 1, shown.stderr
        assert shown.stderr.startswith(f"incident-console: journal {journal.path}: {problem}; run ")
    exported = cli("journal", "export", "--journal", journal.path)
    assert exported.returncode == 1 and exported.stderr.count("\n") == 1, exported.stderr
    assert "failed verification at seq 3" in exported.stderr
    assert exported.stdout.startswith("# Post-mortem: Checkout returns 500s\n")  # what precedes the line
    verified = cli("journal", "verify", "--journal", journal.path)
    assert verified.returncode == 1 and f"BAD at {bad}" in verified.stdout


def test_a_bad_first_line_is_named_by_export_too(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text('{"seq":1}\n')
    exported = cli("journal", "export", "--journal", path)
    assert (exported.returncode, exported.stdout) == (1, "")
    assert exported.stderr == (
        f"incident-console: journal {path}: line 1 (seq 1) is not a journal entry: no 'ts' field; "
        "run `incident-console journal verify`\n"
    )


def test_verify_names_a_chained_line_that_is_no_entry(tmp_path: Path) -> None:
    forged = {"v": 1, "seq": 1, "prev": None, "kind": "note", "data": {}}  # hashed like an entry, but no ts, no actor
    forged["hash"] = entry_hash(forged)
    path = tmp_path / "journal.jsonl"
    path.write_text(canonical(forged) + "\n")
    verified = cli("journal", "verify", "--journal", path)
    assert verified.returncode == 1
    assert verified.stdout == f"{path}: BAD at seq 1: not a journal entry: no 'ts' field\n"
