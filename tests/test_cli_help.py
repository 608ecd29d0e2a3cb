"""What a newcomer meets on the command line: each help names its flags, a mistake points at the help of the
command it was made in, `run` alone lists the actions, and a dry run of a runbook's shell step needs no config."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.cli import STATUSES, main
from console.incident.state import FLOW
from tests.helpers import cli, config_file


@pytest.mark.parametrize(
    "argv",
    [
        ["journal", "show", "--bogus"],
        ["journal", "export", "--bogus"],
        ["runbook", "show", "book.md", "--namespace", "x"],
        ["incident", "note", "hi", "--bogus"],
        ["status", "--bogus"],
    ],
)
def test_a_mistake_points_at_the_help_of_its_own_command(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    command = " ".join(word for word in argv if not word.startswith("-") and word not in ("book.md", "x", "hi"))
    assert capsys.readouterr().err.endswith(f"(see incident-console {command} --help)\n")


def test_a_stray_word_among_run_params_points_at_run_help(capsys) -> None:
    assert main(["run", "rollback", "v1.2.2"]) == 2
    assert capsys.readouterr().err == (
        "incident-console: expected --PARAM VALUE, got 'v1.2.2' (see incident-console run --help)\n"
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run"], ["[ACTION [--PARAM VALUE ...]]", "--PARAM VALUE    each parameter the action declares"]),
        (["runbook", "run"], ["FILE STEP_ID [--PARAM VALUE ...]", "A dry run of a shell step needs no config"]),
        (["demo"], ["a loopback service that plays an incident", "throwaway PostgreSQL", "paths printed"]),
    ],
)
def test_each_help_names_its_flags_and_what_it_does(argv: list[str], says: list[str]) -> None:
    shown = cli(*argv, "--help").stdout
    for text in says:
        assert text in shown, shown


def test_incident_status_help_lists_the_statuses_in_order() -> None:
    assert tuple(status.value for status in FLOW) == STATUSES
    assert f"one of {', '.join(STATUSES)}: forward only" in " ".join(cli("incident", "status", "--help").stdout.split())


def test_run_alone_lists_the_configured_and_builtin_actions_with_their_risk(tmp_path: Path) -> None:
    body = (
        '[postgres]\ndsn = "postgresql://app@127.0.0.1:1/app"\n'
        '[actions.rollback]\ncommand = ["./rollback.sh", "{version}"]\nparams = { version = "release" }\n'
        'risk = "destructive"\ndescription = "roll back to a release"\n'
    )
    done = cli("run", "--config", config_file(tmp_path / "etc", body))
    assert done.returncode == 2 and done.stderr.startswith("incident-console: run: name the ACTION to run: ")
    lines = done.stdout.splitlines()
    assert lines[0] == "actions on staging"
    assert lines[1] == "  cancel-query  write        cancel the query a backend is running (the session stays)"
    assert lines[2].split() == ["--pid"]
    assert lines[5].split()[:2] == ["rollback", "destructive"] and lines[6].split() == ["--version"]
    assert [line.split()[:2] for line in lines[3:9:2]] == [
        ["kill-idle", "destructive"],
        ["rollback", "destructive"],
        ["terminate", "destructive"],
    ]


def test_a_dry_run_of_a_shell_step_needs_no_config(tmp_path: Path) -> None:
    book = tmp_path / "book.md"
    book.write_text(
        "# Book\n\n## Restart\n\n```bash\nkubectl -n <namespace> rollout restart deploy/api\n```\n\n"
        "## Count\n\n```sql\nSELECT count(*) FROM orders;\n```\n"
    )
    planned = cli("runbook", "run", book, "restart-1", "--namespace", "shop", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert "  1     kubectl -n shop rollout restart deploy/api" in planned.stdout
    assert planned.stdout.endswith("dry run: nothing was run\n")
    assert planned.stderr == (
        "incident-console: no config: a dry run only, on no environment (SQL and flush steps need --config)\n"
    )
    sql = cli("runbook", "run", book, "count-1", "--dry-run")
    assert sql.returncode == 2 and "the config has no [postgres] section to run SQL on" in sql.stderr
    run = cli("runbook", "run", book, "restart-1", "--namespace", "shop", "--yes")
    assert run.returncode == 2 and "no config file here" in run.stderr  # a run journals: it needs the config's
