"""The action runner and command actions, with real executables from tests/fixtures (no shell, no mocks)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from actions.base import ParamError, Progress
from actions.registry import build_runner
from actions.runner import ActionRefused, Runner
from console import config as cfg
from console.journal import Journal
from console.models import ConfirmLevel, OutcomeStatus
from tests.helpers import alive, until

FIXTURES = Path(__file__).parent / "fixtures"


def make_runner(
    tmp_path: Path,
    actions: str,
    *,
    read_only: bool = False,
    journal: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Runner:
    journal_path = journal or tmp_path / "journal.jsonl"
    text = f'[console]\nenvironment = "staging"\njournal = "{journal_path}"\n{actions}'
    path = tmp_path / "config.toml"
    path.write_text(text)
    config = cfg.load(path, environ=environ or {})
    return build_runner(config, read_only=read_only)


def entries(tmp_path: Path) -> list[dict]:
    return list(Journal(tmp_path / "journal.jsonl").entries())


RECORD = f"""
[actions.record]
command = ["{FIXTURES}/record-argv", "--env", "{{environment}}", "--msg", "{{message}}", "x{{count}}"]
params = {{ message = "free text", count = {{ type = "int", description = "a number" }} }}
"""


async def test_argv_substitution_is_literal_with_spaces_quotes_and_semicolons(tmp_path: Path, monkeypatch) -> None:
    record_to = tmp_path / "argv.json"
    monkeypatch.setenv("RECORD_TO", str(record_to))
    runner = make_runner(tmp_path, RECORD)
    message = """it's "quoted"; rm -rf / && echo $HOME `id` | cat"""
    plan = await runner.plan("record", {"message": message, "count": "7"})
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
    assert json.loads(record_to.read_text()) == ["--env", "staging", "--msg", message, "x7"]
    assert f"arg: {message}" in outcome.output_tail
    kinds = [e["kind"] for e in entries(tmp_path)]
    assert kinds == ["action.requested", "action.completed"]
    done = entries(tmp_path)[1]
    assert done["corr"] == 1 and done["data"]["exit_code"] == 0


async def test_typed_params_are_validated(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, RECORD)
    with pytest.raises(ParamError, match="--count"):
        await runner.plan("record", {"message": "m", "count": "many"})
    with pytest.raises(ParamError, match="--message is required"):
        await runner.plan("record", {"count": "1"})
    with pytest.raises(ParamError, match="unknown parameter --colour"):
        await runner.plan("record", {"message": "m", "count": "1", "colour": "red"})


async def test_read_only_refuses_before_anything_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    runner = make_runner(tmp_path, RECORD, read_only=True)
    with pytest.raises(ActionRefused, match="read-only"):
        await runner.plan("record", {"message": "m", "count": "1"})
    assert not (tmp_path / "argv.json").exists()
    assert not (tmp_path / "journal.jsonl").exists()


async def test_fail_closed_when_the_journal_cannot_be_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the journal's folder should be")
    runner = make_runner(tmp_path, RECORD, journal=blocker / "journal.jsonl")
    plan = await runner.plan("record", {"message": "m", "count": "1"})
    with pytest.raises(ActionRefused, match=r"journal cannot be written.*nothing was run"):
        await runner.execute(plan, confirmed=True)
    assert not (tmp_path / "argv.json").exists()


async def test_fail_closed_on_a_full_disk(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    runner = make_runner(tmp_path, RECORD, journal=Path("/dev/full"))
    plan = await runner.plan("record", {"message": "m", "count": "1"})
    with pytest.raises(ActionRefused, match="journal cannot be written"):
        await runner.execute(plan, confirmed=True)
    assert not (tmp_path / "argv.json").exists()


async def test_confirmation_is_required_and_typed_for_destructive(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    runner = make_runner(tmp_path, RECORD + 'risk = "destructive"\n')
    plan = await runner.plan("record", {"message": "m", "count": "1"})
    assert plan.confirm is ConfirmLevel.TYPED and plan.confirm_text == "staging"
    with pytest.raises(ActionRefused, match="not confirmed"):
        await runner.execute(plan)
    with pytest.raises(ActionRefused, match="typed confirmation does not match"):
        await runner.execute(plan, confirmed=True, typed="production")
    assert not (tmp_path / "argv.json").exists()
    outcome = await runner.execute(plan, confirmed=True, typed="staging")
    assert outcome.status is OutcomeStatus.COMPLETED


async def test_stale_preview_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    runner = make_runner(tmp_path, RECORD)
    plan = await runner.plan("record", {"message": "m", "count": "1"})
    stale = plan.model_copy(update={"created_at": plan.created_at - timedelta(minutes=10)})
    with pytest.raises(ActionRefused, match="preview again"):
        await runner.execute(stale, confirmed=True)
    assert not (tmp_path / "argv.json").exists()


HANG = f"""
[actions.hang]
command = ["{FIXTURES}/hang"]
timeout = "{{timeout}}"
"""


async def _wait_for(path: Path) -> list[int]:
    await until(lambda: path.exists() and path.read_text().endswith("\n"), 10, f"{path} written")
    return [int(p) for p in path.read_text().split()]


async def test_cancel_mid_command_kills_the_group_and_journals_cancelled(tmp_path: Path, monkeypatch) -> None:
    pids_file = tmp_path / "pids"
    monkeypatch.setenv("PIDS_TO", str(pids_file))
    runner = make_runner(tmp_path, HANG.format(timeout="1m"))
    plan = await runner.plan("hang", {})
    ready = asyncio.Event()
    progress = Progress(listener=lambda event: event.line == "ready" and ready.set())
    task = asyncio.create_task(runner.execute(plan, confirmed=True, progress=progress))
    pids = await _wait_for(pids_file)
    await asyncio.wait_for(ready.wait(), 10)  # the command is mid-run: its output has reached the console
    progress.cancel()
    outcome = await asyncio.wait_for(task, 10)
    assert outcome.status is OutcomeStatus.CANCELLED
    assert not any(alive(pid) for pid in pids)  # the group is gone when the outcome is
    last = entries(tmp_path)[-1]
    assert last["kind"] == "action.cancelled" and last["corr"] == 1
    assert "ready" in last["data"]["output_tail"]


async def test_timeout_kills_the_process_group(tmp_path: Path, monkeypatch) -> None:
    pids_file = tmp_path / "pids"
    monkeypatch.setenv("PIDS_TO", str(pids_file))
    runner = make_runner(tmp_path, HANG.format(timeout="1s"))
    plan = await runner.plan("hang", {})
    started = time.monotonic()
    outcome = await runner.execute(plan, confirmed=True)
    assert time.monotonic() - started < 8
    assert outcome.status is OutcomeStatus.FAILED and "timed out after 1s" in outcome.message
    assert not any(alive(pid) for pid in await _wait_for(pids_file))
    assert entries(tmp_path)[-1]["kind"] == "action.failed"


async def test_nonzero_exit_and_missing_command_fail_cleanly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    monkeypatch.setenv("EXIT_CODE", "3")
    runner = make_runner(tmp_path, RECORD + '[actions.ghost]\ncommand = ["./no-such-script.sh"]\n')
    plan = await runner.plan("record", {"message": "m", "count": "1"})
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.status is OutcomeStatus.FAILED and outcome.exit_code == 3
    plan = await runner.plan("ghost", {})
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.status is OutcomeStatus.FAILED and "command not found: ./no-such-script.sh" in outcome.message
    assert [e["kind"] for e in entries(tmp_path)] == ["action.requested", "action.failed"] * 2


async def test_flooding_output_is_streamed_and_long_lines_cut(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LINES", "100000")
    runner = make_runner(tmp_path, f'[actions.flood]\ncommand = ["{FIXTURES}/flood"]\n')
    plan = await runner.plan("flood", {})
    seen: list[str] = []
    progress = Progress(listener=lambda e: e.line is not None and seen.append(e.line))
    outcome = await runner.execute(plan, confirmed=True, progress=progress)
    assert outcome.status is OutcomeStatus.COMPLETED
    assert len(seen) == 100_000
    assert seen[-1] == "line 99999 "
    cut = seen[50_000]
    assert cut.endswith("[line cut at 64 KB]") and len(cut) < 70_000
    assert len(outcome.output_tail) <= 40


async def test_secrets_are_masked_in_preview_output_and_journal(tmp_path: Path) -> None:
    secret = "tok-9f8e7d6c5b4a"
    body = '[actions.say]\ncommand = ["sh", "-c", "echo token=$TOKEN"]\nenv = { TOKEN = "${TOKEN}" }\n'
    runner = make_runner(tmp_path, body, environ={"TOKEN": secret})
    plan = await runner.plan("say", {})
    assert secret not in "\n".join(plan.preview_lines())
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.output_tail == ["token=***"]
    assert secret.encode() not in (tmp_path / "journal.jsonl").read_bytes()
    assert os.stat(tmp_path / "journal.jsonl").st_mode & 0o777 == 0o600


async def test_a_failing_progress_listener_never_changes_the_outcome(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    runner = make_runner(tmp_path, RECORD)
    plan = await runner.plan("record", {"message": "m", "count": "1"})

    def gone(event) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    outcome = await runner.execute(plan, confirmed=True, progress=Progress(listener=gone))
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
    assert [e["kind"] for e in entries(tmp_path)] == ["action.requested", "action.completed"]
    assert (tmp_path / "argv.json").exists()
