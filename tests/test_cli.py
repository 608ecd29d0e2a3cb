"""The command line: exit codes and messages of check, run, journal verify/show, and config errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from console.cli import main
from console.journal import Journal
from tests.helpers import ANSI, cli, cli_on_pty, read_until

FIXTURES = Path(__file__).parent / "fixtures"


def write_config(tmp_path: Path, body: str, environment: str = "production") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[console]\nenvironment = "{environment}"\njournal = "{tmp_path / "journal.jsonl"}"\n{body}')
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_config_error_is_one_line_exit_2_no_traceback(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path, '[[health]]\nname = "api"\nurl = "http://x"\ntimeout = 3\n')
    code, out, err = run(capsys, "check", "--config", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"incident-console: {path}: line 7: health[0].timeout: expected a duration string")


def test_a_config_mistake_in_a_terminal_closes_the_shell_then_says_one_line(tmp_path: Path) -> None:
    """The TUI paints its first frame before it reads the config: on a mistake it leaves the alternate screen
    (the terminal restored), then prints the one line and exits 2."""
    path = write_config(tmp_path, '[[health]]\nname = "api"\nurl = "http://x"\ntimeout = 3\n')
    process, master = cli_on_pty("--config", path)
    try:
        written = read_until(master, None)
        assert process.wait(timeout=10) == 2
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    assert b"loading the config" in ANSI.sub(b"", written)  # the shell was painted
    restored = written.rindex(b"\x1b[?1049l")  # the alternate screen left
    after = ANSI.sub(b"", written[restored:]).decode()
    assert after.strip() == f"incident-console: {path}: line 7: health[0].timeout: expected a duration string like " + (
        '"500ms", "2s", "5m" or "1h", got the number 3'
    )
    assert "Traceback" not in after


def test_usage_error_exit_2(capsys) -> None:
    code, _, err = run(capsys, "--bogus")
    assert code == 2 and err == "incident-console: unrecognized arguments: --bogus (see incident-console --help)\n"


def test_check_reaches_every_target(tmp_path: Path, capsys, http_server, pg_server, redis_server) -> None:
    http_server.route("/health", body={"status": "ok"})
    body = (
        f'[[health]]\nname = "api"\nurl = "{http_server.url("/health")}"\n'
        f'[postgres]\ndsn = "{pg_server.dsn}"\n[redis]\nurl = "{redis_server.url}"\n'
        f'[actions.rollback]\ncommand = ["{FIXTURES}/record-argv"]\n'
    )
    code, out, _ = run(capsys, "check", "--config", str(write_config(tmp_path, body)))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("ok    health    api") and "HTTP 200" in lines[0]
    assert any(line.startswith("ok    postgres") and "PostgreSQL 1" in line for line in lines)
    assert any(line.startswith("ok    redis") and "PING" in line for line in lines)
    assert any(line.startswith("ok    action") for line in lines)
    assert lines[-1].endswith("valid; 4 of 4 targets reachable")


def test_check_exit_1_when_a_target_is_unreachable(tmp_path: Path, capsys, http_server) -> None:
    http_server.route("/health", body={"status": "ok"})
    dead = f"http://127.0.0.1:{_closed_port()}/health"
    body = (
        f'[[health]]\nname = "api"\nurl = "{http_server.url("/health")}"\n'
        f'[[health]]\nname = "dead"\nurl = "{dead}"\ntimeout = "1s"\n'
        f'[redis]\nurl = "redis://127.0.0.1:{_closed_port()}/0"\n'
    )
    code, out, _ = run(capsys, "check", "--config", str(write_config(tmp_path, body)))
    assert code == 1
    assert "FAIL  health    dead" in out and "FAIL  redis" in out
    assert f"connection refused ({dead})" in out  # the words a tile would show
    assert out.splitlines()[-1].endswith("valid; 1 of 3 targets reachable")


def _closed_port() -> int:
    from console.demo.servers import free_port

    return free_port()


ECHO = f'[actions.say]\ncommand = ["{FIXTURES}/record-argv", "{{word}}"]\nparams = {{ word = "a word" }}\n'


def test_run_requires_yes_without_a_terminal(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    path = write_config(tmp_path, ECHO)
    code, out, err = run(capsys, "run", "say", "--config", str(path), "--word", "hi")
    assert code == 2 and "no terminal to confirm on: pass --yes" in err
    assert "[production] say (write)" in out
    assert not (tmp_path / "argv.json").exists()
    code, out, _ = run(capsys, "run", "say", "--config", str(path), "--word", "hi", "--yes")
    assert code == 0 and "say: completed: exit code 0" in out
    assert json.loads((tmp_path / "argv.json").read_text()) == ["hi"]


def test_run_dry_run_and_parameter_errors(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path, ECHO)
    code, out, _ = run(capsys, "run", "say", "--config", str(path), "--word=hello there", "--dry-run")
    assert code == 0 and "dry run: nothing was run" in out and "'hello there'" in out
    assert not (tmp_path / "journal.jsonl").exists()
    code, _, err = run(capsys, "run", "say", "--config", str(path))
    assert code == 2 and "say: --word is required (a word)" in err
    code, _, err = run(capsys, "run", "nope", "--config", str(path))
    assert code == 2 and "unknown action 'nope' (actions: say)" in err


def test_run_destructive_needs_confirm_environment(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    path = write_config(tmp_path, ECHO + 'risk = "destructive"\n')
    code, _, err = run(capsys, "run", "say", "--config", str(path), "--word", "x", "--yes")
    assert code == 2 and "pass --confirm production as well as --yes" in err
    code, _, err = run(capsys, "run", "say", "--config", str(path), "--word", "x", "--yes", "--confirm", "staging")
    assert code == 2
    assert not (tmp_path / "argv.json").exists()
    code, _, _ = run(capsys, "run", "say", "--config", str(path), "--word", "x", "--yes", "--confirm", "production")
    assert code == 0


def test_run_read_only_refuses_with_exit_2(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path, ECHO)
    code, _, err = run(capsys, "run", "say", "--config", str(path), "--read-only", "--word", "x", "--yes")
    assert code == 2 and "refused, the console is read-only" in err
    path.write_text(
        path.read_text().replace('environment = "production"', 'environment = "production"\nread_only = true')
    )
    code, _, err = run(capsys, "run", "say", "--config", str(path), "--word", "x", "--yes")
    assert code == 2 and "read-only" in err


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (["check"], "`check` changes nothing"),
        (["status", "--json"], "`status` changes nothing"),
        (["triage", "show", "x"], "`triage show` changes nothing"),
        (["journal", "show"], "`journal show` changes nothing"),
        (["incident", "show"], "`incident show` changes nothing"),
        (["incident", "severity", "SEV-1"], "`incident severity` runs no action, so the flag would not stop it"),
        (["incident", "note", "x"], "`incident note` runs no action, so the flag would not stop it writing"),
        (["incident", "update", "--posted"], "`incident update` runs no action, so the flag would not stop it"),
    ],
)
def test_read_only_where_it_means_nothing_is_a_usage_error(tmp_path: Path, argv: list[str], what: str) -> None:
    """--read-only refuses actions; a command that runs none refuses the flag rather than ignore it."""
    path = write_config(tmp_path, ECHO)
    cli("incident", "declare", "--title", "checkout 500s", "--config", path)
    before = (tmp_path / "journal.jsonl").read_bytes()
    for placed in ([*argv, "--read-only"], ["--read-only", *argv]):
        result = cli(*placed, "--config", path)
        assert (result.returncode, result.stdout) == (2, ""), result
        err = result.stderr
        assert err.startswith(f"incident-console: --read-only: {what}") and err.count("\n") == 1, err
        assert err.endswith("; it is for the TUI, `demo`, `run` and `runbook run` (nothing was done)\n"), err
    assert (tmp_path / "journal.jsonl").read_bytes() == before  # nothing was journaled


def test_run_failing_command_exit_1(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    monkeypatch.setenv("EXIT_CODE", "4")
    path = write_config(tmp_path, ECHO)
    code, out, _ = run(capsys, "run", "say", "--config", str(path), "--word", "x", "--yes")
    assert code == 1 and "say: failed: exit code 4" in out


def test_journal_verify_show_and_tamper(tmp_path: Path, capsys) -> None:
    journal_path = tmp_path / "j.jsonl"
    journal = Journal(journal_path, environment="production")
    for i in range(3):
        journal.append("note", {"text": f"note {i}"})
    code, out, _ = run(capsys, "journal", "verify", "--journal", str(journal_path))
    assert code == 0 and "ok, 3 entries, head sha256:" in out
    code, out, _ = run(capsys, "journal", "show", "--journal", str(journal_path), "--kind", "note")
    assert code == 0 and len(out.splitlines()) == 3 and "note 2" in out
    code, out, _ = run(capsys, "journal", "show", "--journal", str(journal_path), "--json")
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [1, 2, 3]
    journal_path.write_bytes(journal_path.read_bytes().replace(b"note 1", b"note X"))
    code, out, _ = run(capsys, "journal", "verify", "--journal", str(journal_path))
    assert code == 1 and "BAD at seq 2: hash mismatch" in out


def test_a_param_named_like_a_prefix_of_an_option_is_a_param(tmp_path: Path) -> None:
    """argparse must not read `--y` as an abbreviation of `--yes` (nor `--dry` as `--dry-run`)."""
    command = f'command = ["{FIXTURES}/record-argv", "{{y}}", "{{dry}}"]'
    body = f'[actions.act]\n{command}\nparams = {{ y = "y", dry = "d" }}\n'
    path = write_config(tmp_path, body)
    done = cli("run", "act", "--config", path, "--y", "5", "--dry", "no")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == "incident-console: act: no terminal to confirm on: pass --yes to run it; nothing was run\n"
    assert "  0         " in done.stdout and "  1         5" in done.stdout and "  2         no" in done.stdout
    assert not (tmp_path / "journal.jsonl").exists()
