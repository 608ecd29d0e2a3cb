"""A signal when the console needs the operator: on a real pty, a health check turning CRIT rings the bell and sends
a desktop notification whose text is escaped; a window in front, the same need said again, and the wall get none."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from benchmarks.ptyrun import PtyProcess
from console.models import Check, State
from console.tui.attention import GAP, REPEAT, Attention
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
            time.sleep(2)  # the wall polled the DOWN too
            assert b"\x1b]9;" not in bytes(consoles["wall"].output)
        finally:
            for process in consoles.values():
                process.stop()
