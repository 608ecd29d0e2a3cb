"""`incident-console triage`, `triage show` and `triage check` as a user runs them: exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

CONFIG = """
[console]
environment = "staging"
playbooks = ["books"]

[[health]]
name = "api"
url = "http://127.0.0.1:9/health"
timeout = "1s"

[[playbook]]
name = "api-down"
title = "The API is down"
when = "{when}"
severity = "SEV-1"

[[playbook.steps]]
id = "look"
kind = "look"
pane = "health"
"""
BAD_BOOK = """
[[playbook]]
name = "typo"
title = "Typo"
when = "health.apj is down"

[[playbook.steps]]
kind = "action"
action = "restart-everything"
next = "nowhere"
"""


def run(tmp_path: Path, *args: str, when: str = "health.api is down", books: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "books").mkdir(exist_ok=True)
    (tmp_path / "books" / "extra.toml").write_text(books, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(when=when), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "triage", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_triage_suggests_what_fits_and_exits_1(tmp_path: Path) -> None:
    done = run(tmp_path, "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["environment"] == "staging"
    [suggested] = report["suggested"]
    assert suggested["playbook"] == "api-down" and suggested["severity"] == "SEV-1"
    assert suggested["state"] == "down" and suggested["evidence"].startswith("health api DOWN")
    text = run(tmp_path)
    assert text.returncode == 1
    assert "▼ SEV-1  api-down: The API is down" in text.stdout
    assert suggested["fit"] == "suggests SEV-1; its condition reads 1 failing check"
    assert "    why: suggests SEV-1; its condition reads 1 failing check\n" in text.stdout


def test_triage_exits_0_when_nothing_fits(tmp_path: Path) -> None:
    done = run(tmp_path, when="health.api is ok")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "staging: no playbook fits what the console sees now\n"


def test_show_prints_the_steps(tmp_path: Path) -> None:
    done = run(tmp_path, "show", "api-down")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:3] == [
        f"api-down: The API is down  ({tmp_path / 'config.toml'})",
        "  when health.api is down",
        "  severity SEV-1",
    ]
    assert "  1. [look] look: health" in done.stdout
    missing = run(tmp_path, "show", "nope")
    assert missing.returncode == 2
    assert missing.stderr == "incident-console: triage show: no playbook 'nope' (playbooks: api-down)\n"


def test_check_exits_2_with_one_line_per_problem_and_0_when_valid(tmp_path: Path) -> None:
    valid = run(tmp_path, "check")
    assert (valid.returncode, valid.stdout) == (0, "1 playbook valid\n")
    broken = run(tmp_path, "check", books=BAD_BOOK)
    assert broken.returncode == 2
    where = f"{tmp_path / 'books' / 'extra.toml'}: playbook typo"
    assert broken.stdout.splitlines() == [
        f"{where}: when: unknown check health.'apj' (known: api)",
        f"{where}: step step-1: unknown action 'restart-everything' "
        "(actions: cancel-query, flush-cache, kill-idle, page, post-update, silence, terminate, unsilence)",
        f"{where}: step step-1: branches to missing step 'nowhere'",
    ]
    malformed = run(tmp_path, "check", books='[[playbook]]\nname = "x"\n')
    assert malformed.returncode == 2
    assert malformed.stdout == f"{tmp_path / 'books' / 'extra.toml'}: playbook x: required key 'title' is missing\n"


def test_a_mistyped_playbooks_key_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[console]\nplaybook = ["books"]\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "triage", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown key 'playbook' in console" in done.stderr


RUNBOOK_BOOK = """
[[playbook]]
name = "deploy"
title = "Deploy went wrong"
when = "health.api is down"

[[playbook.steps]]
id = "cache"
kind = "action"
action = "runbook:split:check-the-cache-1.2"

[[playbook.steps]]
id = "restore"
kind = "action"
action = "runbook:split:restore-1"

[[playbook.steps]]
id = "typo"
kind = "action"
action = "runbook:split:restor"

[[playbook.steps]]
id = "elsewhere"
kind = "action"
action = "runbook:nowhere:x"
"""


def test_check_verifies_the_runbook_steps_a_playbook_names(tmp_path: Path) -> None:
    runbook = Path(__file__).parent / "fixtures" / "runbooks" / "split.md"
    config = tmp_path / "config.toml"
    config.write_text(
        CONFIG.format(when="health.api is down").replace(
            "[[health]]", f'[[runbooks]]\npath = "{runbook}"\n\n[[health]]'
        )
    )
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "deploy.toml").write_text(RUNBOOK_BOOK)
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "triage", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    where = f"{tmp_path / 'books' / 'deploy.toml'}: playbook deploy: step"
    assert done.stdout.splitlines() == [
        f"{where} restore: runbook:split:restore-1 was split into runbook:split:restore-1.1, "
        "runbook:split:restore-1.2: name one of them",
        f"{where} typo: runbook:split:restor: no such step (runnable steps: restore-1.1, restore-1.2, roll-back-1.1, "
        "roll-back-1.2, roll-back-1.3, roll-back-2.1, roll-back-2.2, roll-back-3.1, roll-back-3.2, roll-back-3.3, "
        "migrate-1.1, migrate-1.2, check-the-cache-1.1, check-the-cache-1.2, kept-whole-1, kept-whole-2, "
        "kept-whole-3, kept-whole-4)",
        f"{where} elsewhere: runbook:nowhere:x: no such runbook with runnable steps (runbooks: runbook:split)",
    ]


def test_triage_reads_the_open_incident_for_incident_conditions(tmp_path: Path) -> None:
    when = "incident.severity <= SEV-2 and health.api is down"
    assert run(tmp_path, when=when).returncode == 0  # no incident open: incident.severity has no value
    declared = subprocess.run(
        [sys.executable, "-m", "console.cli", "incident", "declare", "--title", "API down", "--severity", "SEV-1",
         "--config", str(tmp_path / "config.toml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert declared.returncode == 0, declared.stderr
    done = run(tmp_path, "--json", when=when)
    assert done.returncode == 1, done.stderr
    assert [s["playbook"] for s in json.loads(done.stdout)["suggested"]] == ["api-down"]


def test_triage_reads_the_change_ledger_as_the_screen_does(tmp_path: Path) -> None:
    """A `when` on the ledger (`changes.suspect.kind`, `changes.suspects`) is judged headless as on the screen: the
    change sources are read once and ranked against what the poll finds failing (it was UNKNOWN, never suggested)."""
    deployed = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    releases = tmp_path / "releases"
    releases.write_text(
        "#!/bin/sh\ncat <<'EOF'\n"
        + json.dumps([{"version": "v1.2.3", "at": deployed, "by": "ci-bot", "notes": "Faster checkout"}])
        + "\nEOF\n"
    )
    releases.chmod(0o700)
    ledger = (
        f'journal = "{tmp_path / "journal.jsonl"}"\n\n'
        '[[changes]]\nname = "releases"\nkind = "command"\ncommand = ["./releases"]\n'
        'map = { id = "version", version = "version", time = "at", live_at = "at", author = "by", summary = "notes" }'
    )
    config = tmp_path / "config.toml"
    when = 'health.api is down and changes.suspect.kind == "deploy" and changes.suspects > 0'
    config.write_text(
        CONFIG.format(when=when.replace('"', '\\"')).replace('playbooks = ["books"]', f"playbooks = []\n{ledger}"),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "triage", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    [suggested] = json.loads(done.stdout)["suggested"]
    assert suggested["playbook"] == "api-down", suggested
    assert not (tmp_path / "journal.jsonl").exists(), "a headless triage journals nothing"
