"""`[actions.NAME]` with `script`: a short bash script run as a runbook shell step is, proven on real effects: a
scratch folder as the config's folder, real bash and coreutils, the runner and the real CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from actions.base import ParamError, Progress
from actions.registry import build_runner
from actions.runner import Runner
from console import config as cfg
from console.config import ConfigError
from console.journal import Journal
from console.models import ConfirmLevel, OutcomeStatus, ProgressEvent, Risk
from tests.helpers import choose_in_palette, cli, until

ROOT = Path(__file__).parent.parent
SECRET = "s3cr3t-Tok3n-value"
ACTIONS = """
[actions.count-lines]
script = '''
for f in *.txt; do
  wc -l < "$f"
done | sort -n
echo ready
until [ -e go ]; do sleep 0.05; done
printf '%s\\n' "{word}" | tr a-z A-Z
'''
params = { word = "a word" }
timeout = "20s"

[actions.echo-back]
script = '''
printf '%s|' {x} "in double {x}" 'in single {x}'
echo
'''
params = { x = "any text" }

[actions.list-tmp]
script = "find {dir} -name '*.tmp' -print"
params = { dir = "where to look" }

[actions.add-one]
script = "echo $(( {n} + 1 ))"
params = { n = "a whole number" }

[actions.reparse]
script = 'bash -c "echo {x}"'
params = { x = "a plain word" }

[actions.stops]
script = '''
false; echo after
echo never
'''

[actions.third-line]
script = '''
echo one
echo two | cat
test -e missing.txt
echo never
'''

[actions.sort-in-place]
script = "sort -o sorted.txt in.txt"
risk = "read"

[actions.look]
script = "cat in.txt"
risk = "destructive"

[actions.login]
script = '''
printf 'got %s\\n' "{token}"
printf '%s' "{token}" | wc -c
'''
params = { token = { description = "an API token", secret = true } }
"""


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A folder holding the config and the files the scripts read and write: the folder they run in."""
    (tmp_path / "config.toml").write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n{ACTIONS}'
    )
    (tmp_path / "in.txt").write_text("b\na\n")
    (tmp_path / "five.txt").write_text("1\n2\n3\n4\n5\n")
    (tmp_path / "old.tmp").write_text("tmp")
    return tmp_path


def runner_for(folder: Path, *, read_only: bool = False) -> Runner:
    return build_runner(cfg.load(folder / "config.toml", environ={}), read_only=read_only)


def run(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`incident-console run` as a real process started in the scratch folder."""
    return cli(
        "run",
        "--config",
        folder / "config.toml",
        *argv,
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def journal(folder: Path) -> list[dict]:
    path = folder / "journal.jsonl"
    return list(Journal(path).entries()) if path.exists() else []


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.name != "journal.jsonl" and p.name != "outputs"}


async def test_a_script_with_a_pipeline_and_a_loop_runs_unasked_and_its_output_streams(scratch: Path) -> None:
    runner = runner_for(scratch)
    assert runner.actions["count-lines"].risk is Risk.READ  # what the palette shows, judged from the template
    plan = await runner.plan("count-lines", {"word": "streamed"})
    assert plan.risk is Risk.READ and plan.confirm is ConfirmLevel.NONE
    assert plan.summary == "count-lines on staging: read: only reading commands"
    assert plan.rows[-1] == ["6", "printf '%s\\n' \"streamed\" | tr a-z A-Z"]
    assert plan.notes[0].endswith("values passed as RB_WORD (never spliced)") and plan.notes[0].startswith("bash -c")
    assert "set -eo pipefail" in plan.notes[1]

    def seen(event: ProgressEvent) -> None:  # the script waits for `go`: it ends only if `ready` arrived first
        if event.line == "ready":
            (scratch / "go").touch()

    outcome = await runner.execute(plan, progress=Progress(listener=seen))
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.message
    assert outcome.output_tail == ["2", "5", "ready", "STREAMED"]


@pytest.mark.parametrize(
    "value",
    ["$(touch pwned)", "x; rm -rf in.txt; touch pwned", "`touch pwned`", '"; touch pwned; "', "' ; touch pwned ; '"],
)
async def test_a_value_is_never_shell_text_wherever_it_stands(scratch: Path, value: str) -> None:
    runner = runner_for(scratch)
    outcome = await runner.execute(await runner.plan("echo-back", {"x": value}))
    assert outcome.status is OutcomeStatus.COMPLETED
    assert outcome.output_tail == [f"{value}|in double {value}|in single {value}|"]
    assert not (scratch / "pwned").exists() and (scratch / "in.txt").exists()


def test_a_value_find_would_read_as_an_option_is_refused_and_nothing_runs(scratch: Path) -> None:
    before = files(scratch)
    refused = run(scratch, "list-tmp", "--dir=-delete", "--yes")
    assert refused.returncode == 2
    assert refused.stderr == (
        "incident-console: list-tmp: `--dir` is `-delete`: a value that starts with `-` would be read as an option "
        "by find; put the placeholder after `--` in the script, or give another value\n"
    )
    assert files(scratch) == before and journal(scratch) == []
    listed = run(scratch, "list-tmp", "--dir", ".")  # a read: no --yes needed
    assert listed.returncode == 0, listed.stderr
    assert "  | ./old.tmp" in listed.stdout.splitlines()


async def test_a_value_bash_would_evaluate_must_be_a_whole_number(scratch: Path) -> None:
    runner = runner_for(scratch)
    with pytest.raises(ParamError, match=r"`--n` is `a\[\$\(touch pwned\)\]`: bash evaluates it as arithmetic"):
        await runner.plan("add-one", {"n": "a[$(touch pwned)]"})
    assert not (scratch / "pwned").exists() and journal(scratch) == []
    outcome = await runner.execute(await runner.plan("add-one", {"n": "41"}))
    assert outcome.output_tail == ["42"]


async def test_a_value_a_program_re_parses_must_be_a_plain_word(scratch: Path) -> None:
    runner = runner_for(scratch)
    with pytest.raises(ParamError, match=r"`--x` is `\$\(touch pwned\)`: `bash` re-parses it as shell code"):
        await runner.plan("reparse", {"x": "$(touch pwned)"})
    assert not (scratch / "pwned").exists() and journal(scratch) == []
    plan = await runner.plan("reparse", {"x": "hello"})
    assert plan.notes[0].endswith("values passed as RB_X (re-parsed by `bash`)")
    assert (await runner.execute(plan)).output_tail == ["hello"]


@pytest.mark.parametrize(
    ("action", "message", "shown"),
    [
        ("stops", "exit code 1 at line 1: false", []),
        ("third-line", "exit code 1 at line 3: test -e missing.txt", ["one", "two"]),
    ],
)
async def test_a_failure_names_its_line_counted_from_the_scripts_first(
    scratch: Path, action: str, message: str, shown: list[str]
) -> None:
    runner = runner_for(scratch)
    outcome = await runner.execute(await runner.plan(action, {}))
    assert outcome.status is OutcomeStatus.FAILED and outcome.message == message
    assert outcome.output_tail == [*shown, f"script failed at line {message.split('at line ')[1]}"]
    assert journal(scratch)[-1]["data"]["message"] == message


def test_a_read_script_that_writes_is_judged_write_and_refused_when_read_only(scratch: Path) -> None:
    result = run(scratch, "sort-in-place", "--read-only", "--yes")
    assert result.returncode == 2
    assert result.stderr == "incident-console: sort-in-place: refused, the console is read-only (write action)\n"
    assert not (scratch / "sorted.txt").exists() and journal(scratch) == []
    asked = run(scratch, "sort-in-place")  # a write: confirmation needed, and there is no terminal
    assert asked.returncode == 2 and "no terminal to confirm on" in asked.stderr
    assert "sort-in-place on staging: write: `sort -o sorted.txt in.txt` writes a file" in asked.stdout


def test_a_declared_destructive_risk_raises_a_read_to_typed_confirmation(scratch: Path) -> None:
    result = run(scratch, "look", "--yes")
    assert result.returncode == 2
    reason = 'destructive: raised by the action\'s risk = "destructive" (inferred read: only reading commands)'
    assert result.stderr == (
        f"incident-console: look: {reason}: pass --confirm staging as well as --yes; nothing was run\n"
    )
    assert journal(scratch) == []
    confirmed = run(scratch, "look", "--yes", "--confirm", "staging")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "  | b" in confirmed.stdout.splitlines()
    assert journal(scratch)[0]["data"]["risk"] == "destructive"


async def test_the_journal_keeps_the_script_and_its_values_with_secrets_masked(scratch: Path) -> None:
    runner = runner_for(scratch)
    plan = await runner.plan("login", {"token": SECRET})
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.status is OutcomeStatus.COMPLETED
    assert outcome.output_tail == ["got ***", str(len(SECRET))]
    requested = journal(scratch)[0]["data"]
    assert requested["params"] == {
        "script": "printf 'got %s\\n' ***\nprintf '%s' *** | wc -c",  # the JSON form, quotes and all, is masked
        "values": {"token": "***", "environment": "staging"},
    }
    text = (scratch / "journal.jsonl").read_text() + Path(outcome.output_file or "").read_text()
    assert SECRET not in text


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (
            'command = ["ls"]\nscript = "ls"',
            "give command (an argv, run without a shell) or script (a bash script), not both",
        ),
        ('script = "vim notes.txt"', "script runs `vim notes.txt`, which needs the terminal"),
        ('script = "tail -f app.log | grep error"', "script runs `tail -f app.log`, which never ends (it follows)"),
        (
            'script = "timeout 60 tail -f app.log"',
            "script runs `timeout 60 tail -f app.log`, which follows its output until `timeout` ends it",
        ),
        ('script = "echo {version}"', "script line 1 uses {version}, which is not declared in params"),
        ('script = "echo {x|json}"\nparams = { x = "x" }', "script line 1 uses {x|json}: filters are for command"),
        ('script = "echo ${HOME}"', "write $${HOME} for bash's own ${HOME}"),
        (
            'script = "curl -H \\"Authorization: Bearer {token}\\" https://example.com"\n'
            "params = { token = { secret = true } }",
            "script gives the secret param {token} to `curl` as an argument, where every local user can read it",
        ),
    ],
)
def test_a_script_that_cannot_run_as_an_action_is_a_config_error(tmp_path: Path, action: str, error: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[console]\nenvironment = "staging"\n\n[actions.a]\n{action}\n')
    with pytest.raises(ConfigError) as raised:
        cfg.load(path, environ={"HOME": "/root"})
    assert str(raised.value).startswith(f"{path}: line ")
    assert error in str(raised.value) and "\n" not in str(raised.value)


async def test_braces_that_are_no_placeholder_stay_as_written(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    script = "echo { x } {{x}} ${USER:-nobody} $${HOME} {1..3} {environment} # {not_a_param}"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n\n'
        f"[actions.a]\nscript = '''{script}'''\n"
    )
    runner = build_runner(cfg.load(path, environ={}))
    outcome = await runner.execute(await runner.plan("a", {}))
    user = os.environ.get("USER", "nobody")
    assert outcome.output_tail == [f"{{ x }} {{{{x}}}} {user} {Path.home()} 1 2 3 staging"]


async def test_the_palette_shows_the_judged_risk_and_a_read_script_runs_unasked(scratch: Path) -> None:
    from textual.command import CommandList, CommandPalette
    from textual.widgets import Input, Static

    from console.sources.base import Feeds
    from console.tui.app import ConsoleApp
    from console.tui.screens.action_run import ActionRunScreen

    config = cfg.load(scratch / "config.toml", environ={})
    app = ConsoleApp(config, build_runner(config), feeds=Feeds())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await until(lambda: palette.has_class("-ready"), what="the palette's commands")
        names = [str(option.prompt).split("\n")[0] for option in palette.query_one(CommandList).options]
        assert {"Run sort-in-place (write)", "Run count-lines (read)", "Run look (destructive)"} <= set(names)
        await choose_in_palette(pilot, "echo-back")
        assert isinstance(app.focused, Input) and app.focused.id == "param-x"
        await pilot.press(*"$(touch pwned)", "enter")
        await until(lambda: isinstance(app.screen, ActionRunScreen) and app.screen.outcome, what="the script's outcome")
        screen = app.screen
        assert "COMPLETED" in str(screen.query_one("#result", Static).render())
        assert "$(touch pwned)|in double $(touch pwned)|in single $(touch pwned)|" in screen.query_one("#output").lines
    assert not (scratch / "pwned").exists()
