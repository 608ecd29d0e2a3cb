"""A signal when the console needs the operator: on a real pty, a health check turning CRIT, an action that ran
past LONG_ACTION finishing and a triage step waiting on the operator ring the bell and send a desktop notification
whose text is escaped; a short action, a window in front, the same need said again, and the wall get none."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from benchmarks.ptyrun import PtyProcess
from console.models import Check, State
from console.tui.attention import GAP, LONG_ACTION, REPEAT, Attention
from tests.helpers import ANSI, config_file, wait_for
from tests.http_server import LoopbackHTTPServer

HOSTILE = "api \x1b]52;c;aGk=\x07"


class Recorded:
    """A terminal that keeps what it is sent (the pty test below proves the real one)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def bell(self) -> None:
        self.sent.append("\x07")

    def write_raw(self, text: str) -> None:
        self.sent.append(text)


def test_a_need_is_said_once_per_repeat_and_not_to_a_window_in_front() -> None:
    now = [1000.0]
    terminal = Recorded()
    attention = Attention(terminal, ["bell", "osc777"], clock=lambda: now[0])
    assert attention.need("a status update is overdue")
    now[0] += GAP + 1
    assert not attention.need("a status update is overdue")  # said within REPEAT
    now[0] += REPEAT
    attention.in_front = True
    assert not attention.need("a status update is overdue")
    attention.in_front = False
    assert attention.need("a status update is overdue")
    assert terminal.sent == [
        "\x07",
        "\x1b]777;notify;incident-console;a status update is overdue\x07",
        "\x07",
        "\x1b]777;notify;incident-console;a status update is overdue\x07",
    ]


def test_only_a_check_that_just_got_worse_is_said() -> None:
    terminal = Recorded()
    attention = Attention(terminal, ["osc9"])
    check = Check(source="health", name=HOSTILE, state=State.CRIT, reason="HTTP 503")
    attention.checks_changed([(check, None)])  # first seen CRIT: the console just started, nothing new
    assert terminal.sent == []
    attention.checks_changed([(check, State.OK)])
    assert terminal.sent == ["\x1b]9;incident-console: health:api \\x1b]52;c;aGk=\\x07 CRIT\x07"]


def config(tmp_path: Path, url: str, notify: str) -> Path:
    folder = tmp_path / "ic"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\nrefresh = "1s"\njournal = "{folder / "journal.jsonl"}"\n'
        f"notify = {notify}\n"
        f'[[health]]\nname = "api"\nurl = "{url}"\n'
    )
    path.chmod(0o600)
    return path


def test_a_check_turning_crit_rings_and_notifies_on_a_real_terminal_and_the_wall_stays_quiet(tmp_path: Path) -> None:
    with LoopbackHTTPServer() as server:
        server.route("/health", body=b"ok")
        path = config(tmp_path, server.url("/health"), '["bell", "osc9"]')
        consoles = {
            mode: PtyProcess([sys.executable, "-m", "console.cli", "--config", str(path), *args], columns=100, rows=30)
            for mode, args in (("console", ()), ("wall", ("--wall",)))
        }
        try:
            for process in consoles.values():  # the tile shows the first answer's latency: the check is OK
                assert process.wait_for(b"api", timeout=20) is not None
                assert process.wait_for(b" ms", timeout=20) is not None
            marks = {mode: process.mark() for mode, process in consoles.items()}
            server.route("/health", status=503)
            needle = b"\x1b]9;incident-console: health:api DOWN\x07"
            notified = consoles["console"].arrived(needle, marks["console"], 20)
            assert notified is not None, bytes(consoles["console"].output[marks["console"] :])[-2000:]
            written = bytes(consoles["console"].output[marks["console"] :])
            assert b"\x07" in written.replace(b"\x1b]9;incident-console: health:api DOWN\x07", b"")
            assert consoles["wall"].arrived(b"DOWN", marks["wall"], 20) is not None  # the wall polled the DOWN too
            assert b"\x1b]9;" not in bytes(consoles["wall"].output)
        finally:
            for process in consoles.values():
                process.stop()


def signalled(process: PtyProcess, since: int, what: str, timeout: float) -> None:
    """`what` arrives as a desktop notification after offset `since`, and the bell rings beside it."""
    needle = f"\x1b]9;incident-console: {what}\x07".encode()
    arrived = process.arrived(needle, since, timeout)
    written = bytes(process.output[since:])
    assert arrived is not None, written[-2000:]
    assert b"\x07" in written.replace(needle, b""), written[-2000:]


def test_a_long_action_finishing_rings_and_notifies_and_a_short_one_does_not(tmp_path: Path) -> None:
    actions = (
        '[actions.quick]\ncommand = ["true"]\nrisk = "write"\n'
        f'[actions.slow]\ncommand = ["sleep", "{LONG_ACTION + 1:g}"]\nrisk = "write"\n'
    )
    path = config_file(tmp_path / "ic", f'notify = ["bell", "osc9"]\n{actions}')
    process = PtyProcess([sys.executable, "-m", "console.cli", "--config", str(path)], columns=100, rows=30)
    try:
        assert process.wait_for(b"Actions", timeout=20) is not None  # the dashboard's footer
        for name in ("quick", "slow"):
            mark = process.mark()
            process.send(b"\x10")  # ctrl+p: the palette
            assert process.arrived(name.encode(), mark, 10) is not None
            mark = process.mark()
            process.send(name.encode())
            found = f"Run {name} (write)".encode()
            wait_for(lambda: found in ANSI.sub(b"", bytes(process.output[mark:])), 10, f"{name} found")  # noqa: B023
            mark = process.mark()
            process.send(b"\r")
            assert process.arrived(b"Press y to run it", mark, 10) is not None  # its preview
            mark = process.mark()
            process.send(b"y")
            if name == "quick":
                assert process.arrived(b"COMPLETED", mark, 10) is not None
                time.sleep(1)  # a sleep by design: a second after it ended, still no notification
                assert b"\x1b]9;" not in bytes(process.output[mark:])  # a second's action is no news
                process.send(b"\x1b")  # the run screen closes
                time.sleep(0.5)  # a sleep by design: a typing gap, so escape is read alone (not with ctrl+p)
        started = time.monotonic()
        signalled(process, mark, "slow completed", LONG_ACTION + 20)
        assert time.monotonic() - started > LONG_ACTION - 1  # at its end, not its start
    finally:
        process.stop()


def test_a_triage_step_waiting_on_the_operator_rings_and_notifies(tmp_path: Path) -> None:
    playbook = (
        '[[playbook]]\nname = "answer-me"\ntitle = "Someone must answer"\nwhen = "incident.declared"\n'
        '[[playbook.steps]]\nid = "here"\ntitle = "Is the on-call here"\nkind = "ask"\n'
        'question = "Is the on-call here?"\nchoices = [{ label = "yes" }, { label = "no" }]\n'
        '[[playbook.steps]]\nkind = "done"\n'
    )
    path = config_file(tmp_path / "ic", f'notify = ["bell", "osc9"]\n{playbook}')
    process = PtyProcess([sys.executable, "-m", "console.cli", "--config", str(path)], columns=100, rows=30)
    try:
        assert process.wait_for(b"Actions", timeout=20) is not None
        process.send(b"t")
        assert process.wait_for(b"Someone must answer", timeout=20) is not None  # the playbooks have loaded
        process.send(b"\r")  # start the highlighted (the only) playbook
        assert process.wait_for(b"Declare one first?", timeout=10) is not None
        mark = process.mark()
        assert b"\x1b]9;" not in bytes(process.output)  # nothing waited on the operator yet
        process.send(b"\x1b[B\r")  # "Start without an incident": its first step asks
        signalled(process, mark, "triage: Is the on-call here waits for you", 20)
    finally:
        process.stop()
