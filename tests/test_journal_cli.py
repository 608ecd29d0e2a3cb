"""`journal show|verify|export` as a real process: a journal that is missing, unreadable or no file is the same
one line and exit 2 for all three; an unknown `--kind` is a usage error that lists the kinds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.journal import Journal
from tests.helpers import cli, without_dac_override

COMMANDS = ("show", "verify", "export")


def refusals(path: Path, **options) -> set[tuple[int, str, str]]:
    """(exit code, stdout, stderr) of each command on the journal at `path`: one value when they agree."""
    found = set()
    for command in COMMANDS:
        done = cli("journal", command, "--journal", path, **options)
        found.add((done.returncode, done.stdout, done.stderr))
    return found


def test_a_missing_journal_is_the_same_line_for_every_command(tmp_path: Path) -> None:
    path = tmp_path / "none.jsonl"
    assert refusals(path) == {
        (
            2,
            "",
            f"incident-console: journal {path}: no journal here (nothing has been journaled there yet; name one with "
            "--journal FILE or the config's [console] journal)\n",
        )
    }


def test_a_folder_is_the_same_line_for_every_command(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.mkdir(mode=0o700)
    reason = "a folder, not a regular file; refused as a journal (name a regular file)"
    assert refusals(path) == {(2, "", f"incident-console: journal {path}: {reason}\n")}


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping the capability that reads any file needs root")
def test_an_unreadable_journal_is_the_same_line_for_every_command(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    Journal(path).append("note", {"text": "kept"})
    path.chmod(0)
    reason = "cannot read it: permission denied (you may not read it, or may not enter a folder on its path"
    [(code, shown, err)] = refusals(path, preexec_fn=without_dac_override)
    assert (code, shown) == (2, "") and err.startswith(f"incident-console: journal {path}: {reason}")


def test_a_bad_line_still_differs_as_documented(tmp_path: Path) -> None:
    """show stops at it (2); export writes what precedes it and exits 1 (README, The journal)."""
    path = tmp_path / "journal.jsonl"
    assert cli("incident", "declare", "--title", "checkout down", "--journal", path).returncode == 0
    with path.open("a") as f:
        f.write("not json\n")
    assert cli("journal", "show", "--journal", path).returncode == 2
    exported = cli("journal", "export", "--journal", path)
    assert exported.returncode == 1 and "checkout down" in exported.stdout


def test_an_unknown_kind_is_a_usage_error_listing_the_kinds(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    Journal(path).append("note", {"text": "kept"})
    done = cli("journal", "show", "--journal", path, "--kind", "nosuchkind")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("incident-console: journal show --kind nosuchkind: no journal kind starts with it; ")
    kinds = "kinds: action.*, change, change.*, console.*, decision, incident.*, journal.*, note, observation"
    kinds += ", page.*, pin, triage.*, update.*"
    assert kinds in done.stderr
    assert cli("journal", "show", "--journal", path, "--kind", "no").stdout.count("\n") == 1  # a prefix still matches
