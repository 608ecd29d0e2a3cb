"""Playbooks: format, loading from the config and folders, validation (each problem kind), built-ins, suggestions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.registry import action_names
from console.clock import ManualClock
from console.config import ConfigError, load
from console.live import LiveState
from console.models import State
from console.models.health import HealthSnapshot, MetricSnapshot
from console.models.postgres import PostgresSnapshot
from console.triage.builtins import all_playbooks, builtin_playbooks
from console.triage.playbook import load_playbooks, validate
from console.triage.suggest import suggest

START = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
BASE = """
[console]
environment = "staging"
{console}

[[health]]
name = "api"
url = "http://127.0.0.1:9/health"

[[metric]]
name = "error rate"
url = "http://127.0.0.1:9/metrics"
path = "errors.rate"

[actions.rollback]
command = ["echo", "{{version}}"]
params = {{ version = "release to go back to" }}
"""
GOOD = """
[[playbook]]
name = "api-down"
title = "The API is down"
when = 'health.api is down and metric."error rate" > 1'
severity = "SEV-1"

[[playbook.steps]]
id = "errors"
kind = "check"
condition = 'metric."error rate" > 1'
for = "2m"
on_fail = "look"

[[playbook.steps]]
id = "roll"
kind = "ask"
question = "Roll back?"
choices = [{ label = "yes", next = "rollback" }, { label = "no", next = "done" }]

[[playbook.steps]]
id = "rollback"
kind = "action"
action = "rollback"
params = { version = "{previous}" }

[[playbook.steps]]
kind = "verify"
condition = "health.api is ok"
within = "5m"
for = "1m"
on_fail = "roll"

[[playbook.steps]]
id = "look"
kind = "look"
pane = "logs"
filter = "level=error"

[[playbook.steps]]
kind = "capture"
name = "previous"
output = 'version (\\S+)'
"""


def write_config(tmp_path: Path, extra: str = "", console: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE.format(console=console) + extra, encoding="utf-8")
    return path


def test_a_good_playbook_loads_with_defaults_and_validates(tmp_path: Path) -> None:
    config = load(write_config(tmp_path, GOOD))
    playbooks, problems = load_playbooks(config)
    assert problems == []
    [book] = playbooks
    assert [s.id for s in book.steps] == ["errors", "roll", "rollback", "step-4", "look", "step-6"]
    assert book.steps[0].for_ == 120 and book.steps[3].within == 300
    assert book.origin == str(tmp_path / "config.toml")
    assert validate(playbooks, config, action_names(config)) == []
    assert book.digest.startswith("sha256:") and book.digest == load_playbooks(config)[0][0].digest


def test_playbook_folders_are_relative_to_the_config(tmp_path: Path) -> None:
    folder = tmp_path / "books"
    folder.mkdir()
    (folder / "a.toml").write_text(GOOD, encoding="utf-8")
    (folder / "notes.txt").write_text("not a playbook", encoding="utf-8")
    (folder / "broken.toml").write_text("[[playbook]\n", encoding="utf-8")
    config = load(write_config(tmp_path, console='playbooks = ["books/", "missing/"]'))
    playbooks, problems = load_playbooks(config)
    assert [(p.name, p.origin) for p in playbooks] == [("api-down", str(folder / "a.toml"))]
    assert problems[0].startswith(f"{folder / 'broken.toml'}: line 1, column 11: TOML syntax error: Expected ']]'")
    assert problems[1].endswith(f"console.playbooks: {tmp_path / 'missing'} is not a folder")


def test_the_config_keys_are_checked_by_the_config_itself(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'playbook_dirs'"):
        load(write_config(tmp_path, console='playbook_dirs = ["x"]'))


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ('kind = "chek"', "step 1: kind must be one of check, look, ask"),
        (
            'kind = "look"\npane = "disk"',
            "step 1: pane: expected 'health', 'metric', 'logs', 'postgres', 'redis', 'alerts', 'changes', got 'disk'",
        ),
        ('kind = "check"', "step 1: required key 'condition' is missing"),
        ('kind = "check"\ncondition = "health.api is ok"\nwhen = "x"', "step 1: unknown key 'when'"),
        ('kind = "verify"\ncondition = "health.api is ok"\nwithin = 5', "step 1: within: expected a duration string"),
        ('kind = "capture"\nname = "x"', "step 1: give exactly one of output (a regex) or json (a path)"),
        ('kind = "capture"\nname = "x"\noutput = "("', "step 1: output is not a regular expression"),
    ],
)
def test_malformed_steps_are_one_line_each(tmp_path: Path, steps: str, problem: str) -> None:
    text = f'[[playbook]]\nname = "p"\ntitle = "P"\nwhen = "health.api is down"\n[[playbook.steps]]\n{steps}\n'
    config = load(write_config(tmp_path, text))
    playbooks, problems = load_playbooks(config)
    assert playbooks == []
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'config.toml'}: playbook p: {problem}")


BAD = """
[[playbook]]
name = "bad"
title = "Bad"
when = "health.api is down and (metric.x > 1"

[[playbook.steps]]
id = "a"
kind = "check"
condition = 'postgres.conections > 80 or health.apii is down or metric."error rate" > 1'
on_pass = "nowhere"
on_fail = "b"

[[playbook.steps]]
id = "b"
kind = "action"
action = "rollbak"
params = { version = "{ver}", other = "{oops" }
next = "a"

[[playbook.steps]]
id = "b"
kind = "look"
pane = "logs"

[[playbook]]
name = "loop"
title = "Loop"
when = "health.api is down"

[[playbook.steps]]
id = "x"
kind = "check"
condition = "health.api is down"
on_pass = "y"
on_fail = "done"

[[playbook.steps]]
id = "y"
kind = "action"
action = "kill-idle"
next = "x"

[[playbook]]
name = "loop"
title = "Gated loop"
when = "health.api is down"

[[playbook.steps]]
id = "x"
kind = "verify"
condition = "health.api is ok"
on_fail = "x"
"""


def test_validation_names_each_problem(tmp_path: Path) -> None:
    config = load(write_config(tmp_path, BAD))
    playbooks, problems = load_playbooks(config)
    assert problems == []
    where = f"{tmp_path / 'config.toml'}: playbook"
    assert validate(playbooks, config, action_names(config)) == [
        f"{where} bad: when: bad condition 'health.api is down and (metric.x > 1': line 1, column 37: "
        "expected a closing parenthesis, found the end",
        # postgres is not configured here, so its names are not checked
        f"{where} bad: step a: condition: unknown check health.'apii' (known: api)",
        f"{where} bad: step a: branches to missing step 'nowhere'",
        f"{where} bad: step b: unknown action 'rollbak' "
        "(actions: cancel-query, flush-cache, kill-idle, page, post-update, rollback, silence, terminate, unsilence)",
        f"{where} bad: step b: params.version: unknown reference {{ver}}",
        f"{where} bad: step b: params.other: expected '}}' before end of string "
        "(write {{ and }} for literal braces)",
        f"{where} bad: step b: duplicate step id",
        f"{where} loop: steps x, y loop with no ask or verify to stop them",
        f"{where} loop: the name is used by another playbook",
    ]


def test_built_ins_are_offered_only_for_configured_sources_and_are_valid(tmp_path: Path) -> None:
    bare = load(write_config(tmp_path))
    assert builtin_playbooks(bare) == []
    text = '[postgres]\ndsn = "postgresql://x@127.0.0.1/db"\n[redis]\nurl = "redis://127.0.0.1"\n'
    text += '[[logs]]\nname = "app"\npath = "app.log"\n'
    full = load(write_config(tmp_path, text))
    books = builtin_playbooks(full)
    assert [b.name for b in books] == ["pg-connections", "pg-locks", "redis-degraded", "log-errors"]
    assert validate(books, full, action_names(full)) == []
    replaced = load(write_config(tmp_path, text + GOOD.replace('name = "api-down"', 'name = "pg-locks"')))
    merged, _ = all_playbooks(replaced)
    assert [(b.name, b.origin) for b in merged][-2:] == [
        ("log-errors", "built-in"),
        ("pg-locks", str(tmp_path / "config.toml")),
    ]


def test_suggestions_rank_worst_first_with_evidence_and_severity(tmp_path: Path) -> None:
    text = '[postgres]\ndsn = "postgresql://x@127.0.0.1/db"\n' + GOOD
    config = load(write_config(tmp_path, text))
    playbooks, _ = all_playbooks(config)
    clock = ManualClock(START)
    live = LiveState(clock)
    live.update(
        [
            MetricSnapshot(name="error rate", state=State.OK, value=0.1, unit="%", taken_at=START),
            HealthSnapshot(name="api", url="http://x", state=State.OK, latency_ms=30, taken_at=START),
        ]
    )
    clock.advance(60)
    pg = PostgresSnapshot(state=State.OK, max_connections=100, connections={"active": 85, "idle": 5})
    live.update(
        [
            MetricSnapshot(name="error rate", state=State.CRIT, value=4.7, unit="%", taken_at=START),
            HealthSnapshot(name="api", url="http://x", state=State.DOWN, reason="HTTP 503", taken_at=START),
            pg.judged(),
        ]
    )
    clock.advance(180)
    found = suggest(playbooks, live)
    assert [(s.playbook.name, s.state, s.severity) for s in found] == [
        ("api-down", State.DOWN, "SEV-1"),
        ("pg-connections", State.WARN, "SEV-2"),
    ]
    assert found[0].evidence == "health api DOWN for 3m 00s; metric error rate CRIT 4.7% for 3m 00s"
    assert found[1].evidence == "postgres connections WARN 90% for 3m 00s"
