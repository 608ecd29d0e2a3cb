"""Shell steps judged with their values in place, proven on real effects: a scratch folder as the console's
folder, a runbook written by the test, real bash, the real CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from actions.base import ParamError
from actions.registry import build_runner
from actions.runbook import RunbookStep
from actions.runner import ActionRefused, Runner
from console import config as cfg
from console.journal import Journal
from console.models import ConfirmLevel, OutcomeStatus, Risk
from console.runbooks.model import load_runbook
from tests.helpers import cli

ROOT = Path(__file__).parent.parent
RUNBOOK = """# Scratch

## List temporary files

```bash {name=list-tmp}
find <dir> -name '*.tmp' -print
```

## Reads that write

```bash {name=set-clock}
date -s "2000-01-01 not-a-date"
```

```bash {name=sort-out}
sort -o sorted.txt in.txt
```

```bash {name=cat-process}
cat <(touch made-by-cat)
```

## Values bash evaluates

```bash {name=offset}
echo ${x:<off>}
```

```bash {name=quoted-offset}
x=abcdef; echo "${x:<off>}"
```

```bash {name=old-arithmetic}
echo $[<n>]
```

```bash {name=eval}
eval echo <x>
```

```bash {name=reparse}
bash -c "echo <x>"
```

```bash {name=when}
date <when>
```

## Hand-overs

```bash {name=edit}
vim notes.txt
```
"""


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A folder holding the config, the runbook and files to lose: the folder steps run in."""
    (tmp_path / "config.toml").write_text(
        f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n'
    )
    (tmp_path / "runbook.md").write_text(RUNBOOK)
    (tmp_path / "in.txt").write_text("b\na\n")
    (tmp_path / "keep.txt").write_text("keep")
    (tmp_path / "old.tmp").write_text("tmp")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "older.tmp").write_text("tmp")
    return tmp_path


def files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.name != "journal.jsonl" and "outputs" not in p.parts
    }


def runbook_run(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`incident-console runbook run` as a real process started in the scratch folder."""
    return cli(
        "runbook",
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


def runner_for(folder: Path, step_id: str, *, read_only: bool = False) -> tuple[Runner, str]:
    runner = build_runner(cfg.load(folder / "config.toml", environ={}), read_only=read_only)
    book = load_runbook(folder / "runbook.md", {})
    action = RunbookStep(book, book.step(step_id))
    runner.actions[action.name] = action
    return runner, action.name


def test_a_value_find_would_read_as_an_option_is_refused_and_nothing_is_deleted(scratch: Path) -> None:
    before = files(scratch)
    refused = runbook_run(scratch, str(scratch / "runbook.md"), "list-tmp", "--dir=-delete", "--yes")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert (
        "`--dir` is `-delete`: a value that starts with `-` would be read as an option by find; put the placeholder "
        "after `--` in the script, or give another value"
    ) in refused.stderr
    assert files(scratch) == before and journal(scratch) == []
    listed = runbook_run(scratch, str(scratch / "runbook.md"), "list-tmp", "--dir", ".")  # a read: no --yes needed
    assert listed.returncode == 0, listed.stderr
    assert "./old.tmp" in listed.stdout and "./sub/older.tmp" in listed.stdout
    assert files(scratch) == before


@pytest.mark.parametrize(
    ("step", "made"), [("set-clock", None), ("sort-out", "sorted.txt"), ("cat-process", "made-by-cat")]
)
def test_a_step_that_only_looked_like_a_read_is_refused_when_read_only(scratch: Path, step: str, made: str) -> None:
    result = runbook_run(scratch, str(scratch / "runbook.md"), step, "--read-only", "--yes")
    assert result.returncode == 2
    assert f"runbook:runbook:{step}: refused, the console is read-only (write action)" in result.stderr
    assert made is None or not (scratch / made).exists()
    assert journal(scratch) == []


@pytest.mark.parametrize(
    ("step", "name", "value"),
    [
        ("offset", "off", "$(touch pwned)"),
        ("offset", "off", "a[$(touch pwned)]"),
        ("quoted-offset", "off", "a[$(touch pwned)]"),
        ("old-arithmetic", "n", "a[$(touch pwned)]"),
        ("old-arithmetic", "n", "$(touch pwned)"),
        ("eval", "x", "$(touch pwned)"),
        ("reparse", "x", "`touch pwned`"),
    ],
)
async def test_a_value_bash_would_run_as_code_is_refused_and_runs_nothing(
    scratch: Path, step: str, name: str, value: str
) -> None:
    runner, action = runner_for(scratch, step)
    with pytest.raises(ParamError, match=rf"`--{name}`"):
        plan = await runner.plan(action, {name: value})
        await runner.execute(plan, confirmed=True)
    assert not (scratch / "pwned").exists() and journal(scratch) == []


async def test_whole_numbers_and_plain_words_run_with_the_re_parse_named(scratch: Path) -> None:
    runner, action = runner_for(scratch, "quoted-offset")
    outcome = await runner.execute(await runner.plan(action, {"off": "2"}))
    assert outcome.status is OutcomeStatus.COMPLETED and outcome.output_tail == ["cdef"]
    runner, action = runner_for(scratch, "reparse")
    plan = await runner.plan(action, {"x": "hello"})
    assert plan.risk is Risk.READ and plan.confirm is ConfirmLevel.NONE
    assert plan.notes[0].endswith("values passed as RB_X (re-parsed by `bash`)")
    assert "never spliced" not in plan.notes[0]
    outcome = await runner.execute(plan)
    assert outcome.status is OutcomeStatus.COMPLETED and outcome.output_tail == ["hello"]
    runner, action = runner_for(scratch, "list-tmp")
    assert (await runner.plan(action, {"dir": "."})).notes[0].endswith("values passed as RB_DIR (never spliced)")


async def test_a_value_that_makes_a_read_write_is_refused_by_a_read_only_console(scratch: Path) -> None:
    runner, action = runner_for(scratch, "when", read_only=True)
    assert runner.actions[action].risk is Risk.READ  # `date <when>` reads while <when> is a +FORMAT
    outcome = await runner.execute(await runner.plan(action, {"when": "+%Y"}))
    assert outcome.status is OutcomeStatus.COMPLETED and outcome.output_tail[0].isdigit()
    with pytest.raises(ActionRefused, match=r"refused, the console is read-only \(write action\)"):
        await runner.plan(action, {"when": "not-a-date"})
    runner, action = runner_for(scratch, "when")
    plan = await runner.plan(action, {"when": "not-a-date"})
    assert plan.risk is Risk.WRITE and plan.confirm is ConfirmLevel.YES
    assert plan.summary.endswith("write: `date not-a-date` sets the clock (with the values given)")


def test_a_step_that_needs_the_terminal_is_refused_in_one_line_without_one(scratch: Path) -> None:
    result = runbook_run(scratch, str(scratch / "runbook.md"), "edit", "--yes")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "`vim notes.txt` is interactive: it needs the terminal, and the console has none here" in result.stderr
    assert journal(scratch) == []


async def test_a_refusal_never_shows_a_secret_of_the_config(scratch: Path) -> None:
    config = scratch / "config.toml"
    config.write_text(config.read_text() + '[redis]\nurl = "redis://:${CACHE_PASSWORD}@127.0.0.1:1/0"\n')
    runner = build_runner(cfg.load(config, environ={"CACHE_PASSWORD": "hunter2-secret"}))
    book = load_runbook(scratch / "runbook.md", {})
    action = RunbookStep(book, book.step("list-tmp"))
    runner.actions[action.name] = action
    with pytest.raises(ParamError, match="would be read as an option by find") as refused:
        await runner.plan(action.name, {"dir": "-hunter2-secret"})
    assert "hunter2-secret" not in str(refused.value)
