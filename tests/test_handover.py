"""Runbook steps that need the terminal or never end, run for real: the console as a process on a pseudo-terminal
(its controlling terminal, as over SSH), stand-ins for `vim`, `kubectl logs -f` and `wrangler tail` on PATH
(tests/fixtures/tools), the journal read back."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.base import Progress
from actions.registry import build_runner
from console import config as cfg
from console.clock import ManualClock
from console.journal import Journal
from console.models.logs import LogLine
from console.outside_json import ObjectLines
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.follow import FollowScreen
from tests.helpers import ANSI, CLI, cli_on_pty, group_alive, read_until, until, wait_for

TOOLS = Path(__file__).parent / "fixtures" / "tools"
CODE_0 = ["--code", "0", "--yes"]
CONFIG = """
[console]
environment = "staging"
journal = "{journal}"
[[runbooks]]
path = "ops.md"
[[logs]]  # the TUI paints it 4 times a second, also while the terminal is lent
name = "api"
command = ["kubectl", "logs", "-f", "deploy/api"]
"""
RUNBOOK = """# Ops

## Edit the notes

```bash {name=edit}
FAKE_EXIT=<code> vim notes.txt
```

## Follow the api

```bash {name=tail-api}
kubectl logs -f deploy/api
```

## Tail the worker

```bash {name=tail-worker}
wrangler tail api --format json
```
"""


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The console's folder: its config, the runbook, the stand-ins first on PATH (for the console and its steps)."""
    (tmp_path / "config.toml").write_text(CONFIG.format(journal=tmp_path / "journal.jsonl"))
    (tmp_path / "ops.md").write_text(RUNBOOK)
    monkeypatch.setenv("PATH", f"{TOOLS}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PGID_FILE", str(tmp_path / "pgid"))
    yield tmp_path
    with contextlib.suppress(OSError, ValueError):  # a failed test leaves no `kubectl` stand-in behind
        os.killpg(int((tmp_path / "pgid").read_text()), signal.SIGKILL)


def journal(folder: Path) -> list[dict]:
    path = folder / "journal.jsonl"
    return list(Journal(path).entries()) if path.exists() else []


def outcome(folder: Path) -> dict:
    """The one action's outcome entry, after its request."""
    entries = journal(folder)
    assert [e["kind"] for e in entries][:1] == ["action.requested"] and len(entries) == 2, entries
    assert entries[1]["corr"] == entries[0]["seq"]
    return {"kind": entries[1]["kind"], **entries[1]["data"]}


def notes(folder: Path) -> list[str]:
    return (folder / "notes.txt").read_text().splitlines()


def finished(process: subprocess.Popen, timeout: float = 20) -> int:
    try:
        return process.wait(timeout=timeout)
    finally:
        ended(process)


def ended(process: subprocess.Popen) -> None:
    """The console killed if it has not exited (a failed test)."""
    if process.poll() is None:
        process.kill()
        process.wait()


# ---- interactive: the terminal handed over --------------------------------------------------------------------


def _edit_in_the_console(folder: Path, code: str) -> tuple[subprocess.Popen, int, bytes]:
    """The TUI on its own terminal, the `edit` step asked for with --code, confirmed, and its stand-in prompting:
    the process, the master end, and what the console wrote before."""
    process, master = cli_on_pty("--config", folder / "config.toml", columns=100, rows=30)
    try:
        read_until(master, b"tick 2")  # the dashboard, its log pane painting
        os.write(master, b"\x10")  # ctrl+p: the palette
        read_until(master, b"Edit the notes")
        os.write(master, b"edit")
        read_until(master, b"Ops / Edit the notes (line 6)")
        os.write(master, b"\r")
        read_until(master, b"replaces <code>")  # the form asks for --code
        os.write(master, code.encode() + b"\r")
        read_until(master, b"Press y to hand it the terminal")
        os.write(master, b"y")
        return process, master, read_until(master, b"fake vim: type a line")
    except BaseException:
        os.close(master)
        ended(process)
        raise


def test_an_interactive_step_gets_the_terminal_and_the_console_comes_back_with_its_outcome(scratch: Path) -> None:
    process, master, before = _edit_in_the_console(scratch, "3")
    try:
        assert b"\x1b[?1049l" in before  # the console left its screen to the step
        time.sleep(4)  # a sleep by design: the step keeps the terminal while the log pane paints 16 frames
        os.write(master, b"typed in vim\r")
        after = read_until(master, b"FAILED: exit code 3")
        assert b"\x1b[?1049h" in after  # back on its own screen, repainted whole: the preview under the result
        assert b"sha256 = " in ANSI.sub(b"", after) and b"staging" in ANSI.sub(b"", after)
        os.write(master, b"\x1b")  # the run screen closes; the dashboard answers keys again
        time.sleep(0.5)  # a sleep by design: a typing gap, so the terminal parser reads escape alone, not alt+q
        os.write(master, b"q")
        read_until(master, None)  # read to the end: a terminal nobody reads blocks the console's writes
        assert finished(process) == 0
    finally:
        os.close(master)
        ended(process)
    had_it, typed = notes(scratch)
    assert had_it.endswith("foreground True") and typed == "typed typed in vim"
    entries = journal(scratch)
    assert [e["kind"] for e in entries] == ["action.requested", "action.failed"]
    assert entries[0]["data"]["params"]["mode"] == "interactive"
    assert entries[1]["data"]["exit_code"] == 3 and entries[1]["data"]["message"] == "exit code 3"


def test_a_hang_up_while_the_step_has_the_terminal_stops_it_and_the_console(scratch: Path) -> None:
    """sshd closing the master end: the console forwards SIGHUP to the step's group (the stand-in, waiting on its
    dead terminal, notes it), journals the cancel and exits 129 without hanging on its suspended screen."""
    process, master, _ = _edit_in_the_console(scratch, "0")
    os.close(master)
    assert finished(process) == 128 + signal.SIGHUP
    # the kernel hangs up the step's foreground group too: its read may fail before the SIGHUP comes or not at all
    assert notes(scratch)[1:] in (["the terminal failed", "got SIGHUP"], ["got SIGHUP"])
    pgid = int(notes(scratch)[0].split()[1])
    wait_for(lambda: not group_alive(pgid), 10, "the step's process group ended")
    done = outcome(scratch)
    assert done["kind"] == "action.cancelled" and done["message"] == "the console got SIGHUP (its terminal went away)"


def test_headless_an_interactive_step_runs_in_the_foreground_of_its_terminal(scratch: Path) -> None:
    process, master = cli_on_pty(
        "runbook", "run", "--config", scratch / "config.toml", scratch / "ops.md", "edit", *CODE_0
    )
    try:
        shown = ANSI.sub(b"", read_until(master, b"fake vim: type a line")).decode()
        os.write(master, b"hello\r")
        shown += ANSI.sub(b"", read_until(master, None)).decode()
        assert finished(process) == 0
    finally:
        os.close(master)
        ended(process)
    assert "the terminal handed over to it, no timeout: the console comes back when it exits" in shown
    assert "runbook:ops:edit: completed: exit code 0 in " in shown
    assert notes(scratch)[0].endswith("foreground True") and notes(scratch)[1] == "typed hello"
    assert outcome(scratch)["kind"] == "action.completed" and outcome(scratch)["exit_code"] == 0


def test_a_step_stopped_by_ctrl_z_is_continued_the_console_does_no_job_control(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_STOP", "1")  # the stand-in stops its group before it asks
    process, master = cli_on_pty(
        "runbook", "run", "--config", scratch / "config.toml", scratch / "ops.md", "edit", *CODE_0
    )
    try:
        read_until(master, b"fake vim: type a line")
        os.write(master, b"after the stop\r")
        read_until(master, None)
        assert finished(process) == 0
    finally:
        os.close(master)
        ended(process)
    assert notes(scratch)[1:] == ["continued", "typed after the stop"]


def test_headless_without_a_terminal_an_interactive_step_is_refused_in_one_line(scratch: Path) -> None:
    result = subprocess.run(
        [*CLI, "runbook", "run", "--config", str(scratch / "config.toml"), str(scratch / "ops.md"), "edit", *CODE_0],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr == (
        "incident-console: runbook:ops:edit: `vim notes.txt` is interactive: it needs the terminal, and the console "
        "has none here (stdin and stdout must be its terminal, in the foreground); nothing was run\n"
    )
    assert journal(scratch) == [] and not (scratch / "notes.txt").exists()


# ---- follow: a log view until the operator has seen enough ----------------------------------------------------


async def _follow(app: ConsoleApp, pilot, step: str, lines: int) -> FollowScreen:
    app.request_action(f"runbook:ops:{step}")  # a read: it starts without asking
    await until(
        lambda: isinstance(app.screen, FollowScreen) and len(app.screen.view.lines) >= lines,
        what=f"a log view with {lines} lines",
    )
    assert isinstance(app.screen, FollowScreen)
    return app.screen


async def test_a_follow_step_opens_a_log_view_and_escape_stops_its_process_group(scratch: Path) -> None:
    config = cfg.load(scratch / "config.toml", environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(120, 30)) as pilot:
        view = (await _follow(app, pilot, "tail-api", 5)).view
        pgid = int((scratch / "pgid").read_text())
        lines: list[LogLine] = list(view.lines)
        assert [line.message for line in lines[:2]] == ["tick 1", "tick 2"]
        assert [line.level for line in lines[:5]] == ["info", "info", "warn", "info", "error"]
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, ActionRunScreen) and app.screen.outcome, what="the outcome")
        assert isinstance(app.screen, ActionRunScreen)
        assert "COMPLETED: stopped by the operator after " in str(app.screen.query_one("#result").render())
    wait_for(lambda: not group_alive(pgid), 10, "the followed process group ended")
    done = outcome(scratch)
    assert done["kind"] == "action.completed" and done["exit_code"] is None
    count = int(done["message"].removeprefix("stopped by the operator after ").split()[0])
    assert count >= 3 and done["output_tail"][-1].endswith(f"tick {count}")


async def test_a_follow_step_that_ends_by_itself_shows_each_json_object_as_one_entry(scratch: Path) -> None:
    config = cfg.load(scratch / "config.toml", environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await _follow(app, pilot, "tail-worker", 4)
        await until(lambda: screen.ended, what="the command ended")
        assert screen.ended == "completed: exit code 0"
        lines = list(screen.view.lines)
        assert [line.message for line in lines] == [
            "Successfully created tail, expires at 2026-11-23T09:04:05Z",
            *(f"GET /orders/{n} {verb} }} {{\\x0a" for n, verb in ((1, "answered"), (2, "threw"), (3, "answered"))),
        ]
        assert [line.level for line in lines[1:]] == ["info", "error", "info"]
        assert lines[2].fields is not None and lines[2].fields["outcome"] == "exception"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ActionRunScreen)
    assert outcome(scratch)["kind"] == "action.completed" and outcome(scratch)["exit_code"] == 0


def test_headless_a_follow_step_streams_until_ctrl_c(scratch: Path) -> None:
    """ctrl+c is the operator's way out of a follow: the run completes (SIGINT reaches the console's process group
    only: the followed command has a session of its own)."""
    process = subprocess.Popen(
        [*CLI, "runbook", "run", "--config", str(scratch / "config.toml"), str(scratch / "ops.md"), "tail-api"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    shown = []
    while sum(" tick " in line for line in shown) < 3:
        shown.append(process.stdout.readline())
    pgid = int((scratch / "pgid").read_text())
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    shown += rest.splitlines(keepends=True)
    assert "its output followed, no timeout, until it exits or you stop it (escape, or ctrl+c headless)" in "".join(
        shown
    )
    ticks = [line for line in shown if " tick " in line]
    assert ticks[0] == "  | 2026-11-23T03:04:01Z INFO tick 1\n"
    assert f"runbook:ops:tail-api: completed: stopped by the operator after {len(ticks)} lines in " in rest
    wait_for(lambda: not group_alive(pgid), 10, "the followed process group ended")
    assert outcome(scratch)["message"] == f"stopped by the operator after {len(ticks)} lines"


def test_headless_a_json_follow_prints_one_line_per_object(scratch: Path) -> None:
    result = subprocess.run(
        [*CLI, "runbook", "run", "--config", str(scratch / "config.toml"), str(scratch / "ops.md"), "tail-worker"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    streamed = [line.removeprefix("  | ") for line in result.stdout.splitlines() if line.startswith("  | ")]
    assert len(streamed) == 4 and streamed[0].startswith("Successfully created tail")
    assert [json.loads(line)["outcome"] for line in streamed[1:]] == ["ok", "exception", "ok"]
    assert outcome(scratch)["output_tail"] == streamed


# ---- the reader behind it -------------------------------------------------------------------------------------


def test_object_lines_join_each_object_and_pass_everything_else_as_it_is() -> None:
    pretty = json.dumps({"a": "} { [", "b": [1, {"c": '\\"'}]}, indent=2).splitlines()
    reader = ObjectLines()
    assert reader.feed(["banner", *pretty[:3]]) == ["banner"]  # held until the object closes
    joined = reader.feed([*pretty[3:], '{"one": "line"}', "  {not json"])
    assert json.loads(joined[0]) == {"a": "} { [", "b": [1, {"c": '\\"'}]}
    assert joined[1:] == ['{"one": "line"}']
    assert reader.flush() == ["  {not json"]  # an object never closed comes out as it was, at the end


def test_an_object_past_the_size_bound_is_given_up_line_by_line() -> None:
    reader = ObjectLines(max_size=100)
    lines = ["{", *(f'  "k{n}": "{"x" * 20}",' for n in range(6)), "}", "after"]
    assert reader.feed(lines[:4]) == []  # 85 characters held
    assert reader.feed(lines[4:]) == lines  # past 100: given up, every line as it was, in order


# ---- how the follow view looks --------------------------------------------------------------------------------

FOLLOWED = [
    *(
        f"2026-11-23T03:04:{n:02d}Z {'ERROR' if n % 5 == 0 else 'WARN' if n % 3 == 0 else 'INFO'} GET /orders/{n} "
        f"{'503 upstream timed out' if n % 5 == 0 else '200 in 41 ms'}"
        for n in range(1, 19)
    ),
    '{"time": "2026-11-23T03:04:19Z", "level": "error", "message": "payment declined", "trace_id": "4bf92f35"}',
    "a line with no time of its own \x1b[31m(and an escape made visible)",
]


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_follow_view(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    async def follow(pilot) -> None:
        clock = ManualClock(datetime(2026, 11, 23, 3, 4, 20, tzinfo=UTC))
        screen = FollowScreen("runbook:ops:tail-api", "kubectl logs -f deploy/api", Progress().end_follow, clock)
        await pilot.app.push_screen(screen)
        screen.add(FOLLOWED)
        await until(lambda: screen.view.virtual_size.height == len(FOLLOWED), what="the lines painted")
        await pilot.pause()

    text = f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
    config = cfg.loads(text, source=tmp_path / "config.toml", environ={})
    app = ConsoleApp(config, build_runner(config), clock=ManualClock(datetime(2026, 11, 23, tzinfo=UTC)), feeds=Feeds())
    assert snap_compare(app, terminal_size=size, run_before=follow)
