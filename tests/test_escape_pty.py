"""Nothing from outside reaches the terminal raw: the real console on a real pty, with every text it shows from
outside hostile (tests/escape_world.py), and every byte it writes read as terminal output.

The only escape sequences allowed are the ones Textual itself writes (listed below from a capture of a clean run);
no other OSC, no DCS / APC / PM / SOS, no C1 character, no bidi control, no C0 but CR and LF. The hostile text
starts with an OSC, so a leak of any of it, even cut short, is caught.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_world import (
    CLIENT,
    MARKUP,
    ROLE_SHOWN,
    RUNBOOK_SHOWN,
    SHOWN,
    World,
    hostile_alert,
    hostile_http,
    hostile_incident,
    hostile_postgres,
    hostile_redis,
    share_from_another_host,
    write_config,
)
from http_server import LoopbackHTTPServer
from textual.widgets import Input, TextArea

from actions.registry import build_runner
from benchmarks.ptyrun import ANSI, PtyProcess
from console import config as cfg
from console.demo.servers import AlertmanagerServer, PostgresServer, RedisServer
from console.redact import is_safe
from console.tui.app import ConsoleApp
from tests.helpers import painted, until, wait_for

# What Textual 8's Linux driver and compositor write, from a capture of a clean run (start, paint, exit).
TEXTUAL = re.compile(
    r"\x1b\[[0-9;]*m"  # SGR: colours and attributes
    r"|\x1b\[\d+;\d+H"  # cursor position
    r"|\x1b\[\?(?:7|25|1000|1003|1004|1006|1015|1049|2004)[hl]"  # wrap, cursor, mouse, focus, alt screen, paste
    r"|\x1b\[\?(?:2026|2048)\$p"  # asks whether synchronized output / in-band resize are supported
    r"|\x1b\[>\d+u|\x1b\[<u"  # the kitty keyboard protocol, pushed and popped
    r"|\x1b\]22;[a-z-]+\x07"  # OSC 22: the mouse pointer's shape
    # the attention's notifications (the world turns on both): their text may hold no control, so a hostile name
    # that reached one unescaped leaves its control outside the match and fails the test
    r"|\x1b\](?:9;incident-console: |777;notify;incident-console;)[^\x00-\x1f\x7f-\x9f]*\x07"
)
# Whatever is left once Textual's own sequences are taken out: none of it may reach a terminal.
Step = tuple[bytes, tuple[bytes, ...]]  # keys to send, then what must be painted after them
RAW = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def raw_controls(written: bytes) -> list[str]:
    """Every control character (with what surrounds it) that is not part of a sequence Textual writes."""
    text = TEXTUAL.sub("", written.decode("utf-8"))  # strict: a byte that is not UTF-8 fails here
    return [repr(text[max(0, m.start() - 30) : m.end() + 30]) for m in RAW.finditer(text)]


def screen_text(written: bytes) -> str:
    return TEXTUAL.sub("", written.decode("utf-8"))


@pytest.fixture
def world(
    tmp_path: Path,
    pg_server: PostgresServer,
    redis_server: RedisServer,
    alertmanager_server: AlertmanagerServer,
) -> Iterator[World]:
    folder = tmp_path / "ic"
    folder.mkdir(mode=0o700)
    stream = f"escape-test:{uuid.uuid4().hex}"
    prefix = f"escape-test:{uuid.uuid4().hex[:8]}:"
    with LoopbackHTTPServer() as http, hostile_postgres(pg_server), hostile_redis(redis_server, prefix):
        hostile_http(http)
        hostile_alert(alertmanager_server)
        config = write_config(
            folder, http, pg=pg_server, redis_server=redis_server, alertmanager=alertmanager_server, stream=stream
        )
        incident = hostile_incident(folder / "journal.jsonl")
        share_from_another_host(config, folder, incident, redis_server, stream)
        yield World(config, folder / "journal.jsonl", incident, prefix)


def run(world: World, size: tuple[int, int], args: tuple[str, ...], steps: list[Step], dump: Path) -> bytes:
    """The console (with `args`) on a pty of `size`, driven through `steps`: every byte it wrote to the terminal.

    Each step sends its keys, then waits until its needles are painted after them (or a short while, for none).
    """
    columns, rows = size
    argv = [sys.executable, "-m", "console.cli", "--config", str(world.config), *args]
    process = PtyProcess(argv, columns=columns, rows=rows)
    try:
        for keys, needles in steps:
            mark = process.mark()
            process.send(keys)
            if not needles:
                time.sleep(0.5)  # a sleep by design: a key that shows nothing, then a typing gap (escape read alone)
            try:
                wait_for(lambda: all(n in ANSI.sub(b"", bytes(process.output[mark:])) for n in needles), 15)  # noqa: B023
            except AssertionError:
                dump.write_bytes(bytes(process.output))
                assert raw_controls(bytes(process.output)) == []
                raise AssertionError(
                    f"after {keys!r}: {needles!r} never showed (the terminal's bytes: {dump})"
                ) from None
    finally:
        process.stop(b"q")
    return bytes(process.output)


def walk(world: World) -> list[Step]:
    """Every screen and pane, each with hostile text on it: (keys, what shows once they are handled)."""
    esc, enter = b"\x1b", b"\r"
    shown = SHOWN.encode()
    steps = [
        (b"", shown),
        (b"2", b"deploy done " + shown),  # the timeline: a note
        # notes and decisions only, so another host's (through the shared stream) fit below ours in a short pane
        (b"kkkk", (b"kind: notes", b"from the laptop " + shown)),
        (enter, b"Journal entry #"),
        (esc, None),
        (b"3", b"payment failed " + shown),  # a log line
        (b"4", b"SELECT pg_sleep(6"),  # a PostgreSQL session
        (b"\t", None),  # from the tabs to the table
        (b"/", b"Filter"),
        (b"PWNED" + enter, None),
        (enter, b"user           " + ROLE_SHOWN.encode()),  # its detail: the role, the query
        (esc, None),
        (b"5", b"SET " + world.key_prefix.encode() + shown[:6]),  # SLOWLOG: a command (and its client's name)
        (enter, CLIENT.encode()),  # an entry's detail: the client's name
        (esc, None),
        (b"F", b"pattern"),
        (world.key_prefix.encode() + b"*\x13", world.key_prefix.encode() + shown),  # ctrl+s: the flush preview
        (esc, None),
        (b"6", b"job=" + shown[:10]),  # an alert's labels
        (enter, b"summary ="),  # and its annotations
        (esc, None),
        (b"7", b"v9.9.9 " + shown[:6]),  # the Changes pane: a release (its version, notes; the suspect's reason)
        (enter, b"version: v9.9.9"),  # its detail: every field (a hostile value goes on over the next lines)
        (esc, None),
        (b"1", b"slow endpoints"),
        (b"i", b"checkout down " + shown[:10]),  # the incident screen
        (b"o", b"commander:"),  # the roles
        (enter, b"Who is the commander?"),  # an Input holding a hostile value: the net shows it
        (esc, None),
        (b"u", b"Which update?"),
        (enter, b"ctrl+s: post"),  # the composer's Inputs and TextArea, drafted from the hostile incident
        (esc, None),
        (esc, None),
        (b"t", b"[@click=app.quit]quit[/]"),  # triage: a playbook
        (b"/", b"Filter playbooks"),
        (b"restart" + enter, RUNBOOK_SHOWN.encode()),  # a runbook
        (b"", None),  # the prompt closes
        (b"/", b"Filter playbooks"),
        (b"\x15" + enter, b"[@click=app.quit]quit[/]"),  # ctrl+u: the filter cleared
        (b"", None),
        (enter, b"ASK"),  # the playbook's step
        (esc, None),
        (b"\x10", b"Run evil"),  # ctrl+p: the palette
        (b"evil", b"Run evil (read)"),
        (enter, b"COMPLETED"),  # the command's output
        (b"o", b"output of evil"),
        (esc, None),
        (esc, None),
        (b"?", b"binding id"),
        (esc, None),
    ]
    return [(keys, needle if isinstance(needle, tuple) else (needle,) if needle else ()) for keys, needle in steps]


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_the_console_and_the_wall_write_nothing_raw(world: World, size: tuple[int, int], tmp_path: Path) -> None:
    """One console start walks every screen, one wall start shows the incident: neither writes a control."""
    written = run(world, size, (), walk(world), tmp_path / "console")
    assert raw_controls(written) == []
    assert MARKUP in screen_text(written)  # markup is shown as typed, never obeyed
    release = b"v9.9.9 " + SHOWN.encode()[:6]  # the wall reads the change sources and shows the Changes pane
    wall = [(b"", (b"checkout down " + SHOWN.encode()[:6], "TIMELINE · latest ".encode(), release))]
    assert raw_controls(run(world, size, ("--wall",), wall, tmp_path / "wall")) == []


KEY_NAMES = {"\r": "enter", "\x1b": "escape", "\t": "tab", "\x10": "ctrl+p", "\x13": "ctrl+s", "\x15": "ctrl+u"}


async def test_no_widget_leaves_a_control_to_the_net(world: World) -> None:
    """The same walk in-process: the control net (widgets/outside.py) had a control to show only while Textual's
    Input or TextArea held one, so every widget of ours escaped (and laid out) what it shows itself."""
    config = cfg.load(world.config, environ={})
    app = ConsoleApp(config, build_runner(config))
    async with app.run_test(size=(80, 24)) as pilot:
        for keys, needles in walk(world):
            caught, before = app.net.caught, (app.screen, app.focused)
            await pilot.press(*(KEY_NAMES.get(char, char) for char in keys.decode()))
            await until(lambda n=needles: all(needle.decode() in painted(app) for needle in n), what=f"{needles!r}")
            if keys == b"":  # the filter's prompt closes by itself
                await until(lambda: not isinstance(app.focused, Input), what="the prompt closed")
            elif not needles:  # keys that show no text of their own close a screen or move the focus
                await until(lambda b=before: (app.screen, app.focused) != b, what=f"what {keys!r} does")
            inputs = [*(i.value for i in app.screen.query(Input)), *(t.text for t in app.screen.query(TextArea))]
            assert app.net.caught == caught or not all(map(is_safe, inputs)), f"after {keys!r}: a widget left a control"
        assert app.net.caught > 0  # the Inputs holding the hostile commander and title went through it
