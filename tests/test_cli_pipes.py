"""A reader that goes away (`| head`): no traceback, a quiet exit, and a running action still journals the truth."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from console.journal import Journal
from tests.helpers import CLI, cli_into


def test_run_into_head_keeps_running_and_journals_the_real_outcome(tmp_path: Path) -> None:
    # The first five lines fill head's nine with the preview; "more" comes after head has exited.
    script = "seq 1 5; sleep 1; echo more; sleep 1; date > done"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[actions.slow]\ncommand = ["sh", "-c", "{script}"]\nrisk = "write"\n'
    )
    code, err, shown = cli_into(["head", "-n", "9"], "run", "slow", "--config", config, "--yes")
    assert (code, err) == (0, "")
    assert shown.splitlines()[0] == "[staging] slow (write)" and len(shown.splitlines()) == 9
    assert (tmp_path / "done").exists()  # the command ran to its end before the CLI exited
    entries = list(Journal(tmp_path / "journal.jsonl").entries())
    assert [e["kind"] for e in entries] == ["action.requested", "action.completed"]
    assert entries[1]["data"]["exit_code"] == 0 and entries[1]["data"]["output_tail"][-1] == "more"


def _long_journal(tmp_path: Path, n: int = 3000) -> Path:
    journal = Journal(tmp_path / "journal.jsonl", environment="staging")
    for i in range(1, n + 1):
        journal.append("note", {"text": f"note {i}"})
    return journal.path


def test_journal_show_into_head_exits_quietly(tmp_path: Path) -> None:
    path = _long_journal(tmp_path)
    code, err, shown = cli_into(["head", "-n", "1"], "journal", "show", "--journal", path)
    assert (code, err) == (0, "") and "note 1" in shown and shown.count("\n") == 1
    code, err, shown = cli_into(["head", "-n", "1"], "journal", "show", "--journal", path, "--json")
    assert (code, err) == (0, "") and json.loads(shown)["seq"] == 1


def test_the_console_refuses_a_stdout_that_is_no_terminal_before_writing_anything(tmp_path: Path) -> None:
    """`incident-console | cat`, `incident-console demo | cat`, `incident-console > file`: one line, exit 2."""
    config = tmp_path / "config.toml"
    config.write_text(f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n')
    line = "incident-console: the console needs a terminal on stdout; for a one-shot view use `incident-console status`"
    line += "\n"
    for argv in (["--config", config], ["--config", config, "--wall"], ["demo"]):
        code, err, shown = cli_into(["cat"], *argv, timeout=30)
        assert (code, err, shown) == (2, line, ""), argv
    with (tmp_path / "screen.txt").open("w") as file:
        result = subprocess.run([*CLI, "--config", config], stdin=subprocess.DEVNULL, stdout=file,
                                stderr=subprocess.PIPE, timeout=30)
    assert (result.returncode, result.stderr.decode()) == (2, line)
    assert (tmp_path / "screen.txt").read_bytes() == b""
    assert not (tmp_path / "journal.jsonl").exists()
