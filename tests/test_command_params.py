"""Command action parameters: secret values, `|json` / `|url` filters, `stdin`, read actions, the output file."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from textual.app import App
from textual.widgets import Input

from actions.registry import build_runner
from actions.runner import Runner
from console import config as cfg
from console.clock import ManualClock
from console.config import ConfigError
from console.journal import Journal
from console.models import ConfirmLevel, OutcomeStatus
from console.sources.base import Feeds
from console.tui.app import ConsoleApp
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.output import OutputScreen
from tests.helpers import CLI, until
from widgets.log_view import LogView

TAKE = Path(__file__).parent / "fixtures" / "take-input"
SECRET = "s3cr3t-Tok3n-value"
HOSTILE = [
    'a "quoted" \\ backslash',
    "new\nline\ttab\r\x00nul",
    "}{ braces {x} and ' apostrophes",
    "ünïcødé ✖ \u202e bidi",
    '\\"; rm -rf / #',
]


def make_runner(tmp_path: Path, actions: str) -> Runner:
    path = tmp_path / "config.toml"
    path.write_text(f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n{actions}')
    return build_runner(cfg.load(path, environ={}))


def action(tmp_path: Path, command: str, params: str, extra: str = "") -> str:
    return f"""
[actions.take]
command = ["{TAKE}", "{tmp_path / "got.json"}", {command}]
params = {{ {params} }}
{extra}
"""


async def test_a_secret_never_reaches_the_journal_the_screen_or_the_output(tmp_path: Path) -> None:
    params = 'token = { secret = true }, name = "a name"'
    extra = 'stdin = "{token}"\nenv = { TOKEN = "{token}" }'
    runner = make_runner(tmp_path, action(tmp_path, '"{name}"', params, extra))
    assert runner.get("take").secret_params == {"token"}
    plan = await runner.plan("take", {"token": SECRET, "name": "api"})
    assert plan.params == {"token": "***", "name": "api"}
    assert SECRET not in plan.summary + json.dumps(plan.rows) + "\n".join(plan.preview_lines())
    outcome = await runner.execute(plan, confirmed=True)
    lines = outcome.output_tail
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
    got = json.loads((tmp_path / "got.json").read_text())
    assert got == {"argv": ["api"], "stdin": SECRET, "env": SECRET}  # the command gets the real value
    assert "stdin: ***" in lines and "env: TOKEN=***" in lines
    journal = (tmp_path / "journal.jsonl").read_bytes()
    assert SECRET.encode() not in journal
    output = Path(outcome.output_file)
    assert output == tmp_path / "outputs" / f"{outcome.request_seq}.log"
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert SECRET.encode() not in output.read_bytes()
    done = list(Journal(tmp_path / "journal.jsonl").entries())[-1]
    assert done["data"]["output"] == {
        "file": f"outputs/{output.name}",
        "sha256": hashlib.sha256(output.read_bytes()).hexdigest(),
        "bytes": len(output.read_bytes()),
    }


async def test_the_json_filter_survives_hostile_values(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, action(tmp_path, '"{{\\"text\\": {msg|json}}}"', 'msg = "message"'))
    for value in HOSTILE:
        outcome = await runner.execute(await runner.plan("take", {"msg": value}), confirmed=True)
        assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
        received = json.loads((tmp_path / "got.json").read_text())["argv"][0]
        assert json.loads(received) == {"text": value}


async def test_the_url_filter_escapes_a_query_value(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, action(tmp_path, '"https://example.com/?q={q|url}&env={environment}"', 'q = "q"'))
    value = "a b&c=d/é?#%"
    await runner.execute(await runner.plan("take", {"q": value}), confirmed=True)
    received = json.loads((tmp_path / "got.json").read_text())["argv"][0]
    query = received.split("?q=", 1)[1]
    assert query.endswith("&env=staging") and unquote(query.removesuffix("&env=staging")) == value


async def test_stdin_feeds_the_command_and_a_read_action_needs_no_confirmation(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, action(tmp_path, '"x"', 'value = "v"', 'stdin = "{value}\\n"\nrisk = "read"'))
    plan = await runner.plan("take", {"value": "line one"})
    assert plan.confirm is ConfirmLevel.NONE
    assert ["stdin", "line one\n"] in plan.rows
    outcome = await runner.execute(plan)  # not confirmed: a read action does not ask
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
    assert json.loads((tmp_path / "got.json").read_text())["stdin"] == "line one\n"


@pytest.mark.parametrize(
    ("command", "extra", "message"),
    [
        ('"{msg|yaml}"', "", r"command\[2\] uses \{msg\|yaml\}: unknown filter 'yaml' \(filters: json, url\)"),
        ('"x"', 'stdin = "{nope}"', r"stdin uses \{nope\}, which is not declared"),
        ('"x"', 'stdin = "{msg"', "stdin '\\{msg'"),
    ],
)
def test_filter_and_stdin_mistakes_are_one_line_config_errors(
    tmp_path: Path, command: str, extra: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        cfg.loads(action(tmp_path, command, 'msg = "m"', extra))
    assert "\n" not in str(caught.value)


async def test_the_form_hides_a_secret_and_a_read_action_runs_at_once_and_copies_its_output(tmp_path: Path) -> None:
    params = 'token = { secret = true, description = "API token" }'
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        + action(tmp_path, '"--token"', params, 'risk = "read"\nenv = { TOKEN = "{token}" }')
    )
    config = cfg.load(path, environ={})
    clock = ManualClock(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    app = ConsoleApp(config, build_runner(config, clock=clock.now), clock=clock, feeds=Feeds())
    async with app.run_test(size=(100, 30)) as pilot:
        app.request_action("take")
        await pilot.pause()
        field = app.screen.query_one("#param-token", Input)
        assert field.password
        field.focus()
        await pilot.press(*SECRET, "enter")
        await until(lambda: isinstance(app.screen, ActionRunScreen) and app.screen.outcome, what="the outcome")
        screen = app.screen
        assert isinstance(screen, ActionRunScreen) and screen.outcome is not None, "a read action runs unasked"
        assert screen.outcome.status is OutcomeStatus.COMPLETED
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == "arg: --token\nstdin: \nenv: TOKEN=***\n"
    assert SECRET.encode() not in (tmp_path / "journal.jsonl").read_bytes()


def test_headless_run_asks_a_missing_secret_on_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        + action(tmp_path, '"--token"', "token = { secret = true }", 'risk = "read"\nenv = { TOKEN = "{token}" }')
    )
    main, child = os.openpty()
    proc = subprocess.Popen(
        [*CLI, "run", "take", "--config", str(path)], stdin=child, stdout=child, stderr=child, start_new_session=True
    )
    os.close(child)
    seen = b""
    while b"token (not shown): " not in seen:
        seen += os.read(main, 1024)
    os.write(main, SECRET.encode() + b"\n")
    assert proc.wait(timeout=60) == 0
    os.close(main)
    assert json.loads((tmp_path / "got.json").read_text())["env"] == SECRET
    assert SECRET.encode() not in (tmp_path / "journal.jsonl").read_bytes()


async def test_o_opens_the_whole_output_beyond_the_streamed_lines_with_escapes_made_visible(tmp_path: Path) -> None:
    script = "for n in range(1, 12001): print('line %d' % n)\nprint('red \\x1b[31m end')\n"
    path = tmp_path / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
        f'[actions.dump]\ncommand = [{json.dumps(sys.executable)}, "-c", {json.dumps(script)}]\nrisk = "read"\n'
    )
    config = cfg.load(path, environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(80, 24)) as pilot:
        app.request_action("dump")
        await until(lambda: isinstance(app.screen, ActionRunScreen) and app.screen.outcome, what="the outcome")
        run = app.screen
        assert isinstance(run, ActionRunScreen) and run.outcome is not None
        streamed = run.query_one("#output")
        assert streamed.line_count == 5000 and streamed.lines[-2] == "line 12000"  # only the last lines stream
        await pilot.press("o")
        await until(lambda: isinstance(app.screen, OutputScreen) and app.screen.read_lines, what="the output read")
        screen = app.screen
        assert isinstance(screen, OutputScreen) and screen.read_lines == 12001
        texts = [line.text for line in screen.query_one(LogView).lines]
        assert texts[0] == "line 1" and texts[11999] == "line 12000" and texts[-1] == "red \\x1b[31m end"
        assert "12,001 lines" in str(screen.query_one("#output-title").content)
        await pilot.press("Y")
        await pilot.pause()
        assert app.clipboard.splitlines()[0] == "line 1" and len(app.clipboard.splitlines()) == 12001
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is run


class OutputApp(App):
    """Opens a fixed output file (a migration's log with an error line carrying colour codes)."""

    def on_mount(self) -> None:
        self.push_screen(OutputScreen(Path(__file__).parent / "fixtures" / "outputs" / "42.log", "output of migrate"))


async def _read(pilot) -> None:
    def read_and_painted() -> bool:  # the view paints appended lines on a timer (widgets/log_view.py)
        screen = pilot.app.screen
        return bool(screen.read_lines) and not screen.query_one(LogView).paint_pending

    await until(read_and_painted, what="the output read and painted")


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_output_screen(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(OutputApp(), terminal_size=size, run_before=_read)
