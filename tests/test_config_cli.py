"""Config mistakes and secrets through the real command line: one line on stderr, exit 2, no traceback.

Every test runs `python -m console.cli` in a subprocess on real files with explicit modes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.demo.servers import free_port
from tests.helpers import cli, config_file, without_dac_override

ROOT = Path(__file__).resolve().parents[1]
RECORD_ARGV = ROOT / "tests" / "fixtures" / "record-argv"


def assert_config_error(result: subprocess.CompletedProcess[str], path: Path, *parts: str) -> str:
    err = result.stderr
    assert result.returncode == 2, (result.stdout, err)
    assert result.stdout == "" and "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"incident-console: {path}: "), err
    for part in parts:
        assert part in err, err
    return err


SAY = f'[actions.say]\ncommand = ["{RECORD_ARGV}", "hello"]\n'


# -- E: command-action params ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "field", "expected"),
    [
        ('{ pattern = "(" }', "pattern", "unclosed group"),
        ('{ pattern = "\\\\d{{4}}" }', "pattern", "repetition quantifier"),
        ('{ pattern = "(?=v)v.*" }', "pattern", "look-around"),
        ('{ type = "int", default = "abc" }', "default:", "expected a whole number, got 'abc'"),
        ('{ choices = ["a", "b"], default = "c" }', "default:", "expected 'a' or 'b', got 'c'"),
        ('{ pattern = "v[0-9]+", default = "latest" }', "default:", "expected text matching the pattern"),
    ],
)
def test_bad_param_is_a_config_error_for_check_and_every_run(tmp_path: Path, param: str, field: str, expected: str):
    body = SAY + f'[actions.deploy]\ncommand = ["{RECORD_ARGV}", "{{v}}"]\nparams = {{ v = {param} }}\n'
    path = config_file(tmp_path / "etc", body)
    line = body.count("\n")  # the params line is the last one
    for argv in (["check"], ["run", "say", "--yes"], ["run", "deploy", "--v", "1", "--yes"], ["status"]):
        err = assert_config_error(cli(*argv, "--config", str(path)), path, expected)
        assert f": line {line + 3}: actions.deploy.params.v: {field} " in err, err
    assert not (tmp_path / "state").exists()  # nothing ran, nothing was journaled


def test_good_param_defaults_are_converted_and_checked(tmp_path: Path) -> None:
    body = (
        f'[actions.scale]\ncommand = ["{RECORD_ARGV}", "{{replicas}}", "{{tier}}", "{{version}}"]\n'
        'params = { replicas = { type = "int", default = "3" }, tier = { choices = ["web", "api"], default = "api" },'
        ' version = { pattern = "v[0-9]+", default = "v7" } }\n'
    )
    path = config_file(tmp_path / "etc", body)
    record = tmp_path / "argv.json"
    result = cli("run", "scale", "--config", str(path), "--yes", env={"RECORD_TO": str(record)})
    assert result.returncode == 0, result.stderr
    assert json.loads(record.read_text()) == ["3", "api", "v7"]
    result = cli("run", "scale", "--config", str(path), "--version", "v7\n", "--dry-run")
    assert result.returncode == 2 and "--version: String should match pattern" in result.stderr


# -- I: the environment name -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", " production"])
def test_blank_environment_is_a_config_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / "etc" / "config.toml"
    path.parent.mkdir(mode=0o700)
    path.write_text(f'[console]\nenvironment = "{name}"\n{SAY}')
    path.chmod(0o600)
    for argv in (["check"], ["run", "say", "--yes"]):
        assert_config_error(cli(*argv, "--config", str(path)), path, "line 2: console.environment: ")


# -- K: secrets in config errors -------------------------------------------------------------------


def test_config_errors_mask_expanded_values(tmp_path: Path) -> None:
    path = config_file(tmp_path / "etc", '[postgres]\ndsn = "${DATABASE_URL}"\n')
    result = cli("check", "--config", str(path), env={"DATABASE_URL": "postgress://app:S3cretDbPw@db:5432/app"})
    err = assert_config_error(result, path, "line 5: postgres.dsn: expected a URL starting with postgres://")
    assert "S3cretDbPw" not in err

    path = config_file(tmp_path / "etc", '[[health]]\nname = "api"\nurl = "${API_URL}"\n')
    result = cli("check", "--config", str(path), env={"API_URL": "Authorization: Bearer abc}def123"})
    err = assert_config_error(result, path, "line 6: health[0].url: ", "got '***'")
    assert "abc}def123" not in err and "Bearer" not in err

    body = f'[actions.a]\ncommand = ["{RECORD_ARGV}"]\nenv = {{ T = "${{TOKEN}}-{{oops" }}\n'
    path = config_file(tmp_path / "etc", body)
    result = cli("check", "--config", str(path), env={"TOKEN": "t{k}n"})
    err = assert_config_error(result, path, "line 4: actions.a: env.T")
    assert "'***-{oops'" in err and "t{k}n" not in err and "t{{k}}n" not in err

    path = config_file(tmp_path / "etc", '[[health]]\nname = "api"\nurl = "http://x"\nwarn_ms = "${WARN}"\n')
    err = assert_config_error(cli("check", "--config", str(path), env={"WARN": "tok-5ecret"}), path, "warn_ms")
    assert "tok-5ecret" not in err


# -- L: expanded values are literal in command templates -------------------------------------------


def test_expanded_values_are_not_templates(tmp_path: Path) -> None:
    body = (
        f'[actions.deploy]\ncommand = ["{RECORD_ARGV}", "{{version}}"]\n'
        'env = { AUTH = "auth:${TOKEN}", NOTE = "${NOTE}" }\nparams = { version = "release" }\n'
    )
    path = config_file(tmp_path / "etc", body)
    record = tmp_path / "argv.json"
    env = {"TOKEN": "tok{version}XYZ", "NOTE": "a } and a {{", "RECORD_TO": str(record), "RECORD_ENV": "AUTH,NOTE"}
    result = cli("run", "deploy", "--config", str(path), "--version", "v1", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(record.read_text()) == ["v1"]
    assert json.loads(Path(f"{record}.env").read_text()) == {"AUTH": "auth:tok{version}XYZ", "NOTE": "a } and a {{"}
    assert "| env: AUTH=auth:***" in result.stdout and "| env: NOTE=***" in result.stdout
    for leaked in ("tokv1XYZ", "tok{version}XYZ", "a } and"):
        assert leaked not in result.stdout + result.stderr
    journal = (tmp_path / "state" / "journal.jsonl").read_text()
    assert "tokv1XYZ" not in journal and "tok{version}XYZ" not in journal


# -- R: modes of the config file -------------------------------------------------------------------

LITERAL_DSN = f'[postgres]\ndsn = "postgresql://app:Lit3ralPw@127.0.0.1:{free_port()}/app"\n'


def test_readable_config_with_a_literal_password_warns_once(tmp_path: Path) -> None:
    path = config_file(tmp_path / "etc", LITERAL_DSN, mode=0o644, folder_mode=0o755)
    result = cli("check", "--config", str(path))
    assert result.returncode == 1  # nothing listens on the port; the config itself is valid
    warning = f"incident-console: warning: {path}: line 5: postgres.dsn: "
    assert result.stderr.startswith(warning) and result.stderr.count("\n") == 1, result.stderr
    assert "readable by group or others (mode 0644)" in result.stderr and f"chmod 600 {path}" in result.stderr
    assert "Lit3ralPw" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("body", "mode", "folder_mode"),
    [
        (LITERAL_DSN, 0o600, 0o755),  # only the owner can read it
        (LITERAL_DSN, 0o644, 0o700),  # nobody else can reach it
        ('[postgres]\ndsn = "postgresql://app:${PGPASS}@127.0.0.1:1/app"\n', 0o644, 0o755),  # not literal
        ('[[health]]\nname = "api"\nurl = "http://127.0.0.1:1/health?password=${PGPASS}"\n', 0o644, 0o755),
    ],
)
def test_no_warning_when_the_secret_is_not_exposed(tmp_path: Path, body: str, mode: int, folder_mode: int) -> None:
    path = config_file(tmp_path / "etc", body, mode=mode, folder_mode=folder_mode)
    result = cli("check", "--config", str(path), env={"PGPASS": "from-env-pw"})
    assert result.returncode == 1 and result.stderr == "", result.stderr


@pytest.mark.parametrize(
    ("mode", "folder_mode", "expected"),
    [
        (0o664, 0o755, "config file is writable by group or others (mode 0664)"),
        (0o646, 0o755, "config file is writable by group or others (mode 0646)"),
        (0o644, 0o777, "is writable by group or others (mode 0777)"),
        (0o644, 0o775, "is writable by group or others (mode 0775)"),
    ],
)
def test_config_writable_by_others_is_refused(tmp_path: Path, mode: int, folder_mode: int, expected: str) -> None:
    path = config_file(tmp_path / "etc", SAY, mode=mode, folder_mode=folder_mode)
    for argv in (["check"], ["run", "say", "--yes"]):
        err = assert_config_error(cli(*argv, "--config", str(path)), path, expected)
        assert "chmod go-w" in err and "anyone who can write it chooses the commands" in err
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(("mode", "folder_mode"), [(0o644, 0o1777), (0o666, 0o700), (0o600, 0o755)])
def test_modes_that_keep_the_config_private_are_accepted(tmp_path: Path, mode: int, folder_mode: int) -> None:
    path = config_file(tmp_path / "etc", SAY, mode=mode, folder_mode=folder_mode)
    result = cli("check", "--config", str(path))
    assert result.returncode == 0 and result.stderr == "", result.stderr


# -- S: secrets in query strings -------------------------------------------------------------------


def test_check_masks_query_string_secrets(tmp_path: Path) -> None:
    port = free_port()
    queries = ["key=AIzaKey123", "api_key=ApiKey456", "token=Tok789xx", "access_token=Acc012xx", "secret=Sec345xx"]
    body = "".join(
        f'[[health]]\nname = "h{i}"\nurl = "http://127.0.0.1:{port}/health?x=1&{query}"\ntimeout = "1s"\n'
        for i, query in enumerate(queries)
    )
    path = config_file(tmp_path / "etc", body)
    result = cli("check", "--config", str(path))
    assert result.returncode == 1, result.stderr
    for query in queries:
        key, value = query.split("=")
        assert f"&{key}=***" in result.stdout
        assert value not in result.stdout + result.stderr


# -- T: every mistake in the console's words, never pydantic's or Python's -------------------------

FOREIGN_PHRASES = ("Input should", "should have", "after validation", "Field required", "valid dictionary", "[Errno")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[actions.a]\ncommand = []\n", "line 5: actions.a.command: expected at least 1 item, got an empty array"),
        ("[actions]\na = [1, 2]\n", "line 5: actions.a: expected a table, got the array [1, 2]"),
        ('[health]\nname = "api"\n', "line 4: health: expected an array, got a table (keys: name)"),
        ('playbooks = "books"\n', "line 4: console.playbooks: expected an array, got 'books'"),
        (
            '[[health]]\nname = "api"\nurl = "http://x"\nwarn_ms = "fast"\n',
            "health[0].warn_ms: expected a number, got 'fast'",
        ),
        (
            '[[health]]\nname = ""\nurl = "http://x"\n',
            "line 5: health[0].name: expected at least 1 character, got an empty string",
        ),
        (
            '[[health]]\nname = "api"\nurl = "http://x"\nexpect_status = 2.5\n',
            "expected a whole number, got the number 2.5",
        ),
        (
            '[[health]]\nname = "api"\nurl = "http://x"\nexpect_json = [1]\n',
            "expect_json: expected a table, got the array [1]",
        ),
        (
            '[actions.a]\ncommand = ["x"]\nrisk = "big"\n',
            "actions.a.risk: expected 'read', 'write' or 'destructive', got 'big'",
        ),
        (
            '[share]\nredis_url = "redis://x"\nmaxlen = 5\n',
            "line 6: share.maxlen: must be 100 or more, got the number 5",
        ),
        ("[[logs]]\nname = true\n", "line 5: logs[0].name: expected a string, got true"),
    ],
)
def test_type_mistakes_are_worded_like_the_others(tmp_path: Path, body: str, expected: str) -> None:
    path = config_file(tmp_path / "etc", body)
    err = assert_config_error(cli("check", "--config", str(path)), path, expected)
    assert not [phrase for phrase in FOREIGN_PHRASES if phrase in err], err


def test_a_config_that_is_not_utf8_names_the_line_and_column(tmp_path: Path) -> None:
    path = config_file(tmp_path / "etc", "")
    path.write_bytes(b'[console]\nenvironment = "st\xe9ging"\n')
    err = assert_config_error(cli("status", "--config", str(path)), path)
    assert err == f"incident-console: {path}: line 2, column 18: not UTF-8 text (byte 0xe9); save the file as UTF-8\n"


def test_a_folder_given_as_the_config_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    config_file(folder, "")
    err = assert_config_error(cli("check", "--config", str(folder)), folder)
    assert (
        err
        == f"incident-console: {folder}: a folder, not a regular file; refused as a config file (name a regular file)\n"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="a non-root user reads the config through its mode (0000 here)")
def test_a_config_it_may_not_read_is_one_line(tmp_path: Path) -> None:
    path = config_file(tmp_path / "etc", "", mode=0o000)
    result = subprocess.run(
        [sys.executable, "-m", "console.cli", "check", "--config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=without_dac_override,
    )
    err = assert_config_error(result, path)
    assert err == (
        f"incident-console: {path}: cannot read the config: permission denied (you may not read it, or may not "
        "enter a folder on its path: check their modes)\n"
    )
