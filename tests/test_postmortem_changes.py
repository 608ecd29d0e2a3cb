"""The post-mortem's "Changes before the incident": the ledger's journaled changes of the day before the onset,
suspects first, and the action that undid the top suspect, from a journal written by the real parts (the CLI's
declaration and runner, the ledger's journal writer)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from console import config as cfg
from console.changes.journaled import JournalFollower
from console.changes.ledger import journal_of
from console.changes.model import Change
from console.clock import Clock
from tests.helpers import cli, config_file

ACTION = '[actions.rollback]\ncommand = ["true", "{version}"]\nparams = { version = "release" }\nrisk = "write"\n'


def test_the_post_mortem_lists_the_changes_before_the_onset_suspects_first_and_what_undid_the_suspect(
    tmp_path: Path,
) -> None:
    path = config_file(tmp_path / "etc", ACTION)
    config = cfg.load(path, warn=False)
    now = Clock().now()
    follower = JournalFollower(journal_of(config), Clock())
    follower.record(
        [
            Change("a", "releases", "deploy", now - timedelta(days=3), now - timedelta(days=3), "api", "v1.2.1"),
            Change("b", "releases", "deploy", now - timedelta(hours=5), now - timedelta(hours=5), "api", "v1.2.2"),
            Change(
                "c",
                "releases",
                "deploy",
                now - timedelta(minutes=9),
                now - timedelta(minutes=8),
                "api",
                "v1.2.3",
                "faster checkout",
                "ci@example.com",
                live_known=True,
            ),
            Change("d", "releases", "deploy", now, now, "api", "v1.2.4"),  # after the onset: never listed
        ]
    )
    declared = cli("incident", "declare", "--title", "checkout 500s", "--started", "5m", "--config", path)
    assert declared.returncode == 0, declared.stderr
    ran = cli("run", "rollback", "--version", "v1.2.2", "--yes", "--config", path)
    assert ran.returncode == 0, ran.stderr
    document = json.loads(cli("journal", "export", "--format", "json", "--config", path).stdout)
    ledger = document["change_ledger"]
    assert [(c["version"], c["suspect"] and c["suspect"]["rank"]) for c in ledger["changes"]] == [
        ("v1.2.3", 1),
        ("v1.2.2", 2),
    ], "suspects first; v1.2.1 is older than a day before the onset, v1.2.4 came after it"
    assert ledger["changes"][0]["suspect"]["reason"].startswith("v1.2.3 went live 3m 0")
    assert ledger["undone_by"]["action"] == "rollback" and ledger["undone_by"]["version"] == "v1.2.2"
    text = cli("journal", "export", "--config", path).stdout
    section = text.split("## Changes before the incident", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| #")]
    assert rows[0].startswith("| #1 (") and "v1.2.3 faster checkout" in rows[0] and "by ci@example.com" in rows[0]
    assert "Undone by `rollback` to v1.2.2" in section and "it replaced v1.2.3." in section


def test_no_change_journaled_says_where_changes_come_from(tmp_path: Path) -> None:
    path = config_file(tmp_path / "etc", "")
    assert cli("incident", "declare", "--title", "x", "--config", path).returncode == 0
    text = cli("journal", "export", "--config", path).stdout
    assert "## Changes before the incident\n\n_No change was journaled in the day before the onset" in text
