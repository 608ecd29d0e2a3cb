"""Markdown runbooks parsed into steps: golden JSON through the real CLI, hostile files, the playbook view."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actions.registry import action_names
from console.judge.placeholders import find_params, shell_script
from console.models import Risk
from console.runbooks.model import MAX_BYTES, RunbookError, load_runbook
from console.runbooks.risk import infer, raise_to
from console.triage.playbook import validate
from console.triage.runbook_view import as_playbook

ROOT = Path(__file__).parent.parent
FIXTURES = Path("tests/fixtures/runbooks")
GOLDEN = (
    *("sessions", "placeholders", "psql", "mixed", "split"),
    *("crlf", "tabs", "four-backticks", "duplicate-headings", "unclosed"),
)
CLEAN_ENV = {"PATH": os.environ["PATH"], "HOME": "/root"}  # no API_HOST, OPERATOR...: they are parameters


def show(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`incident-console runbook show ...` as a real process, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "runbook", "show", *argv],
        cwd=ROOT,
        env={**(env or CLEAN_ENV), "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("name", GOLDEN)
def test_show_json_matches_the_hand_checked_golden(name: str) -> None:
    result = show(str(FIXTURES / f"{name}.md"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads((ROOT / FIXTURES / f"{name}.json").read_text())


def test_show_text_lists_steps_risks_and_params() -> None:
    result = show(str(FIXTURES / "placeholders.md"))
    assert result.returncode == 0
    assert "Cache tier recovery" in result.stdout
    assert "restart-the-api-1  [shell, destructive]  line 34  Restart the API" in result.stdout
    assert "risk: destructive: `kubectl -n <my_namespace> delete pod -l…` deletes" in result.stdout
    assert "params: --my_namespace" in result.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("binary", "binary.md: not UTF-8 text (byte 0x89 at offset 0); refused"),
        ("nul", "nul.md: a NUL byte on line 4: not a text runbook; refused"),
        ("control", "control.md: a control character (0x1b) on line 4; refused"),
        ("missing", "missing.md: cannot read: no such file or directory"),
    ],
)
def test_unusable_files_are_one_line_and_exit_2(name: str, message: str) -> None:
    result = show(str(FIXTURES / f"{name}.md"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_one_step_is_one_step(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_text("# One\n\n```bash\nuptime\n```\n")
    assert show(str(tmp_path / "one.md")).stdout.splitlines()[1] == "1 step, 1 runnable"


def test_an_unclosed_fence_runs_to_the_end_and_is_flagged() -> None:
    result = show(str(FIXTURES / "unclosed.md"))
    assert result.returncode == 0
    assert "unclosed.md:11: the fence is never closed" in result.stderr
    assert result.stdout.splitlines()[1] == "2 steps, 1 runnable (the fence at line 11 is never closed)"
    assert "    not run: the fence at line 11 is never closed (close it to run this step)" in result.stdout
    book = load_runbook(ROOT / FIXTURES / "unclosed.md", {})
    assert [s.closed for s in book.steps] == [True, False]
    assert "## A heading swallowed by the fence" in book.steps[1].command


def test_a_file_with_no_code_has_no_steps_and_no_playbook() -> None:
    result = show(str(FIXTURES / "nocode.md"))
    assert result.returncode == 0 and "0 steps, 0 runnable (no code blocks: nothing to run)" in result.stdout
    with pytest.raises(RunbookError, match="no code blocks"):
        as_playbook(load_runbook(ROOT / FIXTURES / "nocode.md", {}))


@pytest.mark.timeout(300)
def test_a_5_mb_runbook_parses_and_a_huge_one_is_refused(tmp_path: Path) -> None:
    prose = "Restart the thing when the queue backs up; say so in the channel first. " * 6
    section = "## Step {n}\n\n" + prose + "\n\n```bash\nkubectl -n <ns> rollout restart deploy/api-{n}\n```\n\n"
    text = "# Big\n\n" + "".join(section.format(n=n) for n in range(5 * 2**20 // len(section)))
    big = tmp_path / "big.md"
    big.write_text(text)
    book = load_runbook(big, {})
    assert len(book.steps) == text.count("```bash")
    assert len({s.id for s in book.steps}) == len(book.steps)
    huge = tmp_path / "huge.md"
    huge.write_bytes(b"x" * (MAX_BYTES + 1))
    with pytest.raises(RunbookError, match=r"huge.md: 8.0 MiB is over the 8 MiB a runbook may have"):
        load_runbook(huge, {})


def test_placeholders_become_normalised_parameters() -> None:
    text = "kubectl -n <My-Namespace> get {{ pod.name }} YOUR_API_KEY_HERE $UNSET ${ALSO} $SET '$QUOTED' # <note>"
    params = find_params(text, {"SET": "1"}, shell=True)
    assert [p.name for p in params] == ["my_namespace", "pod_name", "api_key", "unset", "also"]
    assert shell_script(text, params) == (
        'kubectl -n "${RB_MY_NAMESPACE}" get "${RB_POD_NAME}" "${RB_API_KEY}" "${RB_UNSET}" "${RB_ALSO}" $SET'
        " '$QUOTED' # <note>"
    )


def test_variables_the_block_assigns_are_not_parameters() -> None:
    text = 'export TOKEN=abc\nfor pod in a b; do echo "$pod $TOKEN $MISSING"; done'
    assert [p.name for p in find_params(text, {}, shell=True)] == ["missing"]


@pytest.mark.parametrize(
    ("command", "risk", "reason"),
    [
        ("kubectl get pods", Risk.READ, "read: only reading commands"),
        ("curl -X POST https://x/a", Risk.WRITE, "write: `curl -X POST https://x/a` sends a POST request"),
        ("kubectl delete pod api-1", Risk.DESTRUCTIVE, "destructive: `kubectl delete pod api-1` deletes"),
        ("pg_ctl promote && patronictl failover", Risk.DESTRUCTIVE, "destructive: `patronictl failover` fails over"),
        ("# delete nothing, just look\nkubectl get pods", Risk.READ, None),
        ("kubectl -n <ns> rollout restart deploy/api", Risk.WRITE, None),
        ("find <dir> -name x -print", Risk.READ, None),
    ],
)
def test_risk_is_inferred_with_a_reason(command: str, risk: Risk, reason: str | None) -> None:
    found, why, mode, mode_reason = infer(command)
    assert found is risk and (mode, mode_reason) == ("run", "")
    assert reason is None or why == reason


def test_an_sql_step_is_judged_by_the_parser_never_by_the_destructive_words() -> None:
    assert infer("SELECT 1", sql=True)[:2] == (Risk.READ, "read: only reading statements")
    looks = "SELECT pid FROM pg_stat_activity WHERE query NOT LIKE '%pg_terminate_backend%' AND state <> 'reset'"
    assert infer(looks, sql=True)[0] is Risk.READ  # the words are in literals: no longer destructive
    assert infer("\\x\nSELECT pid FROM pg_stat_activity WHERE datname = <db>;", sql=True)[0] is Risk.READ
    updated = infer("update t set a = 1", sql=True)[:2]
    assert updated == (Risk.DESTRUCTIVE, "destructive: `UPDATE` writes to the database")
    assert infer('SELECT "<fn>"()', sql=True)[:2] == (
        Risk.WRITE,
        "write: calls an unknown function <fn>(): not judged a read",
    )
    assert infer("SELECT * FROM <table>", sql=True)[:2] == (
        Risk.WRITE,
        "write: cannot parse: syntax error at or near \"'<table>'\" at line 1",
    )


def test_a_risk_attribute_raises_but_never_lowers() -> None:
    assert raise_to(Risk.READ, "read: x", "destructive")[0] is Risk.DESTRUCTIVE
    assert raise_to(Risk.WRITE, "write: x", "read") == (Risk.WRITE, "write: x")
    assert raise_to(Risk.WRITE, "write: x", "bogus") == (Risk.WRITE, "write: x")


def test_the_playbook_view_asks_each_parameter_once_in_its_part_then_proposes_the_action() -> None:
    book = load_runbook(ROOT / FIXTURES / "placeholders.md", {"HOME": "/root"})
    playbook = as_playbook(book)
    assert playbook.name == "runbook:placeholders" and playbook.title == "Cache tier recovery"
    kinds = [(s.kind, s.id) for s in playbook.steps]
    assert kinds[:5] == [
        ("ask", "sections"),  # which part of the runbook (three headings)
        ("ask", "check-api--api_host"),
        ("ask", "check-api--env"),
        ("action", "check-api"),
        ("pick", "tail-api--kube_context--pick"),  # from check-api's output, else asked
    ]
    restart = playbook.step("restart-api")
    assert restart.action == "runbook:placeholders:restart-api"
    assert restart.params == {"my_namespace": "{my_namespace}"}
    assert sum(s.id.endswith("--my_namespace") for s in playbook.steps) == 2  # once in each part that uses it


def test_display_blocks_become_ask_steps_with_one_choice_and_the_playbook_is_sound() -> None:
    from console.config import Config

    book = load_runbook(ROOT / FIXTURES / "mixed.md", {})
    playbook = as_playbook(book)
    yaml_step = playbook.step("config-and-queries-shown-never-run-1")
    assert yaml_step.kind == "ask" and [c.label for c in yaml_step.choices] == ["continue"]
    assert "replicas: 3" in yaml_step.question
    problems = validate([playbook], Config(), action_names(Config()))
    assert all("unknown action" in p or "when" in p for p in problems)
