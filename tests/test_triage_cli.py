"""`incident-console triage`, `triage show` and `triage check` as a user runs them: exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
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
        f"{where}: step step-1: branches to missing step 'nowhere'",
        f"{where}: step step-1: unknown action 'restart-everything' "
        "(actions: cancel-query, flush-cache, kill-idle, terminate)",
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
