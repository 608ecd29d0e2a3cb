"""What the journal holds is data: `journal show` and the Markdown export escape it; JSON stays JSON."""

from __future__ import annotations

import json
from pathlib import Path

from cli_process import cli

from console.incident.commands import IncidentDesk
from console.journal import Journal
from console.redact import UNSAFE_CHARS

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
