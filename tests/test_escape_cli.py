"""Nothing from outside reaches the terminal raw from the headless commands either: each one's real stdout and stderr
bytes, with hostile text in every field it prints (tests/escape_world.py). JSON output stays JSON."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from escape_world import EVIL, SHOWN, hostile_http, hostile_incident, write_config
from http_server import LoopbackHTTPServer

from console.demo.servers import PostgresServer
from console.journal import Journal
from console.output import json_text, out
from console.redact import UNSAFE_BUT_NEWLINE, make_safe
from tests.helpers import CLI

RUNBOOK = "# Restart \x9b2J\u202eevil [bold]runbook[/]\n\n## Restart \u202e\x9b31m\n\n```sh\necho \u202eok\n```\n"


def run(*argv: str | Path) -> tuple[str, str, int]:
    """The CLI as a process: its stdout and stderr (every byte UTF-8, no control but a newline), its exit code."""
    done = subprocess.run([*CLI, *map(str, argv)], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert UNSAFE_BUT_NEWLINE.findall(stdout + stderr) == [], (stdout, stderr)
    return stdout, stderr, done.returncode


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "ic"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def http() -> LoopbackHTTPServer:
    with LoopbackHTTPServer() as server:
        hostile_http(server)
        yield server


def test_out_escapes_every_line_and_json_text_stays_json(capsys: pytest.CaptureFixture) -> None:
    out(f"a\n{EVIL}\rb")
    assert capsys.readouterr().out == f"a\n{make_safe(EVIL)}\\x0db\n"  # several lines stay lines, a CR does not
    assert make_safe(EVIL).startswith(f"{SHOWN}\\x1b]52;c;aGk=\\x07\\x1b[2J\\x9b31m\\x7f\\u202e[bold red]")
    value = {"text": EVIL, "csi": "\x9b", "del": "\x7f", "isolate": "\u2066"}
    text = json_text(value, indent=2)
    assert json.loads(text) == value and UNSAFE_BUT_NEWLINE.findall(text) == []
    assert '"\\u009b"' in text and '"\\u007f"' in text and '"\\u2066"' in text  # JSON's own escapes
    plain = json.dumps(value, ensure_ascii=False)  # escapes C0 only: C1, DEL and bidi controls go out raw
    assert {"\x9b", "\x7f", "\u202e", "\u2066"} <= set(UNSAFE_BUT_NEWLINE.findall(plain))


def test_incident_show_and_the_declare_refusal(folder: Path) -> None:
    journal = folder / "journal.jsonl"
    incident = hostile_incident(journal)
    Journal(journal).append("note", {"text": f"two\nlines {EVIL}"}, incident=incident)  # written by another tool
    shown, _, code = run("incident", "show", "--journal", journal)
    assert code == 0
    assert f"checkout down {SHOWN}" in shown.splitlines()[0]
    assert f"roles: commander {SHOWN}" in shown
    assert f"deploy done {SHOWN}" in shown and "decision #4" in shown
    assert f"two\\x0alines {SHOWN}" in shown  # one line: a newline in a note forges none
    assert "[link=https://evil.example]link[/link]" in shown
    as_json, _, _ = run("incident", "show", "--journal", journal, "--json")
    assert json.loads(as_json)["title"] == f"checkout down {EVIL}"
    _, refused, code = run("incident", "declare", "--title", "another", "--journal", journal)
    assert code == 2 and refused.count("\n") == 1
    assert f"(checkout down {SHOWN}" in refused


def test_journal_show_keeps_c1_and_bidi_out_of_text_and_json(folder: Path) -> None:
    journal = folder / "journal.jsonl"
    hostile_incident(journal)
    shown, _, code = run("journal", "show", "--journal", journal)
    assert code == 0 and f"deploy done {SHOWN}" in shown
    as_json, _, _ = run("journal", "show", "--journal", journal, "--json")
    texts = [json.loads(line)["data"].get("text") for line in as_json.splitlines()]
    assert f"deploy done {EVIL}" in texts and "\\u009b31m\\u007f\\u202e" in as_json


def test_status_and_check(folder: Path, http: LoopbackHTTPServer, pg_server: PostgresServer) -> None:
    config = write_config(folder, http)
    shown, _, code = run("status", "--config", config)
    assert code == 2  # the health body is not ok
    assert f"status != ok (got {SHOWN}" in shown and f"errors {SHOWN}" in shown
    as_json, _, _ = run("status", "--config", config, "--json")
    assert f"status != ok (got {EVIL})" in [check["reason"] for check in json.loads(as_json)["checks"]]
    database = quote(f"db {EVIL}", safe="")
    config.write_text(
        config.read_text()
        + f'\n[postgres]\ndsn = "postgresql://postgres@{pg_server.host}:{pg_server.port}/{database}"\n'
    )
    checked, _, code = run("check", "--config", config)
    assert code == 1  # the database does not exist: the server's own words name it
    postgres = next(line for line in checked.splitlines() if line.startswith("FAIL  postgres"))
    assert f"db {SHOWN}" in postgres
    assert f"errors {SHOWN}" in checked


def test_triage_suggest_show_and_json(folder: Path, http: LoopbackHTTPServer) -> None:
    config = write_config(folder, http)
    found, _, code = run("triage", "--config", config)
    assert code == 1 and f"escape-test: {SHOWN}" in found
    as_json, _, _ = run("triage", "--config", config, "--json")
    assert json.loads(as_json)["suggested"][0]["title"] == EVIL
    shown, _, code = run("triage", "show", "escape-test", "--config", config)
    assert code == 0 and f"escape-test: {SHOWN}" in shown and f"[ask] ask: {SHOWN}" in shown


def test_runbook_show_and_json(folder: Path) -> None:
    runbook = folder / "restart.md"
    runbook.write_text(RUNBOOK)
    shown, _, code = run("runbook", "show", runbook)
    assert code == 0
    assert "Restart \\x9b2J\\u202eevil [bold]runbook[/]" in shown and "echo \\u202eok" in shown
    as_json, _, _ = run("runbook", "show", runbook, "--json")
    assert json.loads(as_json)["title"] == "Restart \x9b2J\u202eevil [bold]runbook[/]"
