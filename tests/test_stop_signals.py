"""An SSH session that drops (SIGHUP), a `kill` (SIGTERM) or the operator quitting while an action runs: the action
is cancelled, its outcome journaled with the reason, its process group gone, and the console exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from actions.registry import build_runner
from console import config as cfg
from console.incident.commands import IncidentDesk
from console.journal import Journal
from console.sources.base import Feeds
from console.stop_signals import STOP_SIGNALS, on_stop_signals
from console.tui.app import ConsoleApp
from console.tui.screens.action_run import ActionRunScreen
from tests.helpers import CLI, cli_on_pty, read_until, toasts, until, wait_for
from widgets.timeline import Timeline

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = (
    '[console]\nenvironment = "staging"\njournal = "{journal}"\n'
    '[actions.slow]\ncommand = ["{script}", "{pid}"]\nrisk = "write"\n'
)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        CONFIG.format(journal=tmp_path / "journal.jsonl", script=FIXTURES / "long-running", pid=tmp_path / "pid")
    )
    return path


def _started(tmp_path: Path, timeout: float = 20.0) -> int:
    """The action's pid, once it has written it."""
    pid = tmp_path / "pid"
    wait_for(lambda: pid.exists() and pid.read_text().endswith("\n"), timeout, "the action started")
    return int(pid.read_text())


def _outcome(tmp_path: Path) -> dict:
    entries = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in entries] == ["action.requested", "action.cancelled"]
    assert entries[1]["corr"] == entries[0]["seq"]
    return entries[1]["data"]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize(
    ("sig", "why"),
    [(signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP (its terminal went away)"), (signal.SIGINT, "SIGINT")],
)
def test_headless_run_stopped_by_a_signal_journals_the_cancel(tmp_path: Path, sig: int, why: str) -> None:
    process = subprocess.Popen(
        [*CLI, "run", "slow", "--yes", "--config", str(_config(tmp_path))],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid = _started(tmp_path)
    process.send_signal(sig)
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 1
    assert f"slow: cancelled: the console got {why} in " in out
    assert _outcome(tmp_path)["message"] == f"the console got {why}"
    assert _gone(pid)


def _run_on_pty(tmp_path: Path) -> tuple[subprocess.Popen, int, int]:
    """The TUI on its own terminal, the action confirmed and printing: the process, the master end, the action's pid."""
    process, master = cli_on_pty("--config", _config(tmp_path), columns=100, rows=30)
    read_until(master, b"kind: all")  # the dashboard, past the shell
    os.write(master, b"\x10")  # ctrl+p: the palette
    read_until(master, b"slow")
    os.write(master, b"slow\r")
    read_until(master, b"Press y to run it")
    os.write(master, b"y")
    read_until(master, b"tick 1")
    return process, master, _started(tmp_path)


def test_a_terminal_that_hangs_up_mid_action_ends_the_console_with_the_cancel_journaled(tmp_path: Path) -> None:
    """Closing the terminal's master end is what sshd does when the connection drops: the kernel sends SIGHUP (and
    SIGCONT). The console cancels the action, journals it and exits 129; it does not hang on the dead terminal."""
    process, master, pid = _run_on_pty(tmp_path)
    try:
        os.close(master)
        assert process.wait(timeout=20) == 128 + signal.SIGHUP
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _outcome(tmp_path)["message"] == "the console got SIGHUP (its terminal went away)"
    assert _gone(pid)


def test_sigterm_mid_action_restores_the_terminal_and_exits_143(tmp_path: Path) -> None:
    process, master, pid = _run_on_pty(tmp_path)
    try:
        process.send_signal(signal.SIGTERM)
        written = read_until(master, None)
        assert process.wait(timeout=20) == 128 + signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    assert b"\x1b[?1049l" in written  # the alternate screen left: the terminal is usable again
    assert _outcome(tmp_path)["message"] == "the console got SIGTERM"
    assert _gone(pid)


async def test_quitting_while_an_action_runs_asks_again_then_journals_the_cancel(tmp_path: Path) -> None:
    config = cfg.load(_config(tmp_path), environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        app.request_action("slow")

        def previews() -> list[str]:  # the run screen may be pushed and not yet composed: its preview is looked for
            shown = app.screen.query("#preview-text") if isinstance(app.screen, ActionRunScreen) else []
            return [str(preview.render()) for preview in shown]

        await until(lambda: any("slow on staging" in text for text in previews()), 10, "the preview")
        await pilot.press("y")
        _started(tmp_path)
        await pilot.press("ctrl+q")  # Textual's quit key, past the run screen: it asks first
        await until(lambda: any("quit again to cancel it" in text for text in toasts(app)), what="the question")
        assert app.is_running and app.screen.running
        await pilot.press("ctrl+q")
        await until(lambda: not app.is_running, 30, "the console ended")
    assert app.return_code == 0
    assert _outcome(tmp_path)["message"] == "the operator quit the console"
    assert "tick 1" in "\n".join(_outcome(tmp_path)["output_tail"])


def _killed_mid_action(tmp_path: Path) -> subprocess.Popen:
    """`run slow` killed with SIGKILL while the action runs: a request with no outcome, by a process that has ended
    (a zombie until the caller waits for it)."""
    process = subprocess.Popen(
        [*CLI, "run", "slow", "--yes", "--config", str(_config(tmp_path))],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    child = _started(tmp_path)
    process.kill()
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # it has ended, and is left unreaped
    os.kill(child, signal.SIGKILL)  # its process group outlives the console; the test tidies it up
    return process


def test_a_request_whose_console_was_killed_gets_an_unknown_outcome_journaled_once(tmp_path: Path) -> None:
    killed = _killed_mid_action(tmp_path)  # not waited for: an ended process, not yet reaped, has ended all the same
    journal = Journal(tmp_path / "journal.jsonl")
    desk = IncidentDesk(journal)
    [written] = desk.close_stranded()
    assert written["kind"] == "action.failed" and written["corr"] == 1 and written["data"]["stranded"] is True
    assert (
        "the console that ran it (pid " in written["data"]["message"]
        and "what it did is unknown" in (written["data"]["message"])
    )
    assert IncidentDesk(journal).close_stranded() == []  # another console finds it closed
    assert desk.close_stranded() == []
    killed.wait(timeout=10)


def test_a_request_of_a_running_console_is_not_stranded(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*CLI, "run", "slow", "--yes", "--config", str(_config(tmp_path))],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _started(tmp_path)
        assert IncidentDesk(Journal(tmp_path / "journal.jsonl")).close_stranded() == []
    finally:
        process.terminate()
        process.wait(timeout=20)


async def test_the_console_says_at_start_that_an_action_never_finished(tmp_path: Path) -> None:
    _killed_mid_action(tmp_path).wait(timeout=10)
    config = cfg.load(_config(tmp_path), environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(120, 30), notifications=True):
        await until(lambda: toasts(app), what="the notice on screen")
        [notice] = toasts(app, "error")
        assert notice.startswith("✖ slow (journal seq 1) never finished: no outcome was journaled")
        table = app.dashboard.query_one(Timeline).table

        def texts() -> list[str]:
            return [table.get_row_at(i)[-1].plain for i in range(table.row_count)]

        await until(lambda: any(text.startswith("slow requested → failed") for text in texts()), what="the row")


async def test_the_handlers_from_before_come_back_after() -> None:
    """`demo` stops its servers on SIGHUP and SIGTERM with handlers of its own: they hold again once the app ends."""

    def before(signum: int, frame: object) -> None:
        raise AssertionError("not called here")

    kept = {sig: signal.signal(sig, before) for sig in STOP_SIGNALS}
    try:
        seen: list[tuple[int, str]] = []
        with on_stop_signals(lambda sig, why: seen.append((sig, why))):
            os.kill(os.getpid(), signal.SIGTERM)
            await until(lambda: seen, 10, "the handler called")
        assert seen == [(signal.SIGTERM, "SIGTERM")]
        assert all(signal.getsignal(sig) is before for sig in STOP_SIGNALS)
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)
