"""Files others could change are refused, as OpenSSH's StrictModes does (`console.file_trust`): the config, the
playbook files, the runbooks and the journal, on real files and folders owned by another uid (65534, `nobody`)
with real modes, through the real command line. Every folder is made here with its mode set: pytest's tmp_path
sits under /tmp/pytest-of-root (0700, root's), under /tmp (sticky, root's), so the walk up passes above them.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from actions.registry import build_runner
from console import config as cfg
from console.demo.run import demo_config
from console.journal import Journal
from console.sources.base import Feeds
from console.triage.builtins import all_playbooks
from console.tui.app import ConsoleApp
from tests.helpers import ANSI, cli, cli_on_pty, read_until, toasts, until

NOBODY = 65534
RECORD_ARGV = Path(__file__).parent / "fixtures" / "record-argv"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="files of another uid need root (CI runs as root)")


def folder(path: Path, mode: int = 0o755, owner: int | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner, -1)
    return path


def config_in(place: Path, body: str = "", *, console: str = "", mode: int = 0o600, owner: int | None = None) -> Path:
    """`place/config.toml` naming a journal in a private folder beside `place`, and a command action `say`."""
    state = folder(place.parent / "state", 0o700)
    path = place / "config.toml"
    path.write_text(
        f'[console]\nenvironment = "staging"\njournal = "{state / "journal.jsonl"}"\n{console}'
        f'[actions.say]\ncommand = ["{RECORD_ARGV}", "hello"]\nrisk = "read"\n{body}'
    )
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner, -1)
    return path


def one_line(result, prefix: str, *parts: str) -> str:
    """The refusal: exit 2, one line on stderr starting with `prefix`, no traceback."""
    err = result.stderr
    assert result.returncode == 2, (result.stdout, err)
    assert err.count("\n") == 1 and "Traceback" not in err and err.startswith(f"incident-console: {prefix}"), err
    for part in parts:
        assert part in err, err
    return err


# -- the config ---------------------------------------------------------------------------------------------------


@as_root
def test_a_config_owned_by_another_user_is_refused_by_every_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECORD_TO", str(tmp_path / "argv.json"))
    path = config_in(folder(tmp_path / "etc"), owner=NOBODY)
    for argv in (["check"], ["status"], ["run", "say"], ["triage", "check"], ["incident", "show"]):
        one_line(
            cli(*argv, "--config", path),
            f"{path}: the config file is owned by nobody (uid 65534), not by you or root; anyone who can write it "
            f"chooses the commands the console runs: chown root {path}",
        )
    assert not (tmp_path / "argv.json").exists()  # the read-only action did not run either


@as_root
def test_a_config_in_a_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    etc = folder(tmp_path / "etc", owner=NOBODY)
    path = config_in(etc)
    one_line(
        cli("check", "--config", path),
        f"{path}: its folder {etc} is owned by nobody (uid 65534), not by you or root;",
        "by replacing the config file: chown root",
    )


@as_root
def test_a_world_writable_folder_above_the_config_is_refused(tmp_path: Path) -> None:
    shared = folder(tmp_path / "shared", 0o777)
    path = config_in(folder(shared / "ic", 0o700))  # a private folder of root's, in a folder anyone may rename
    one_line(
        cli("check", "--config", path),
        f"{path}: the folder {shared} above it is writable by group or others (mode 0777) and not sticky;",
        f"chmod go-w {shared}",
    )


@as_root
def test_the_tui_refuses_it_after_its_first_frame_with_the_same_line(tmp_path: Path) -> None:
    path = config_in(folder(tmp_path / "etc"), owner=NOBODY)
    process, master = cli_on_pty("--config", path)
    try:
        written = read_until(master, None)
        assert process.wait(timeout=10) == 2
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    after = ANSI.sub(b"", written[written.rindex(b"\x1b[?1049l") :]).decode()
    assert after.strip().startswith(f"incident-console: {path}: the config file is owned by nobody (uid 65534)")


@as_root
def test_sticky_folders_like_tmp_are_accepted_unless_another_user_owns_them(tmp_path: Path) -> None:
    sticky = folder(tmp_path / "tmp", 0o1777)
    assert cli("check", "--config", config_in(sticky, mode=0o644)).returncode == 0  # its own folder
    assert cli("check", "--config", config_in(folder(sticky / "mine"))).returncode == 0  # a folder above
    theirs = folder(tmp_path / "their-tmp", 0o1777, owner=NOBODY)
    path = config_in(theirs)
    one_line(cli("check", "--config", path), f"{path}: its folder {theirs} is owned by nobody (uid 65534)")


def test_a_fifo_or_a_folder_given_as_the_config_is_refused_at_once(tmp_path: Path) -> None:
    etc = folder(tmp_path / "etc")
    fifo = etc / "config.toml"
    os.mkfifo(fifo, 0o600)
    started = time.monotonic()
    one_line(cli("check", "--config", fifo, timeout=20), f"{fifo}: a FIFO (named pipe), not a regular file; refused")
    assert time.monotonic() - started < 10
    one_line(cli("status", "--config", etc), f"{etc}: a folder, not a regular file; refused as a config file")


@as_root
def test_symbolic_links_are_judged_as_given_and_as_resolved(tmp_path: Path) -> None:
    theirs = folder(tmp_path / "theirs", owner=NOBODY)
    target = config_in(theirs)
    link = folder(tmp_path / "etc") / "config.toml"
    link.symlink_to(target)
    one_line(cli("check", "--config", link), f"{link}: its folder {theirs} is owned by nobody")  # resolved

    good = config_in(folder(tmp_path / "good"))
    shared = folder(tmp_path / "shared", 0o777)
    (shared / "config.toml").symlink_to(good)
    one_line(cli("check", "--config", shared / "config.toml"), f"{shared / 'config.toml'}: its folder {shared} is")

    sticky = folder(tmp_path / "tmp", 0o1777)
    (sticky / "config.toml").symlink_to(good)
    assert cli("check", "--config", sticky / "config.toml").returncode == 0  # a link of root's to a good file
    os.lchown(sticky / "config.toml", NOBODY, -1)  # its owner may replace it in a sticky folder
    one_line(
        cli("check", "--config", sticky / "config.toml"),
        f"{sticky / 'config.toml'}: the symbolic link {sticky / 'config.toml'} on its path is owned by nobody",
        f"chown -h root {sticky / 'config.toml'}",
    )


def test_what_the_demo_writes_is_accepted() -> None:
    """The demo's folder comes from mkdtemp under /tmp (sticky), like `incident-console demo`'s."""
    directory = Path(tempfile.mkdtemp(prefix="incident-console-demo-"))
    try:
        os.chmod(directory, 0o700)
        path = directory / "config.toml"
        path.write_text(demo_config("http://127.0.0.1:1", directory))
        config = cfg.load(path, environ={})
        assert all_playbooks(config)[1] == []
        build_runner(config).journal.append("note", {"text": "the demo's journal"})
    finally:
        for child in directory.iterdir():
            child.unlink()
        directory.rmdir()


# -- runbooks and playbooks: left out with a notice -----------------------------------------------------------------

RUNBOOK = "# Restart\n\n```bash {name=restart}\necho restarted\n```\n"


def runbooks_config(tmp_path: Path, mode: int) -> tuple[Path, Path]:
    etc = folder(tmp_path / "etc")
    books = folder(etc / "runbooks", mode)
    (books / "api.md").write_text(RUNBOOK)
    (books / "api.md").chmod(0o644)
    return config_in(etc, '[[runbooks]]\npath = "runbooks"\n'), books


def test_a_world_writable_runbooks_folder_is_left_out_with_a_notice(tmp_path: Path) -> None:
    path, books = runbooks_config(tmp_path, 0o777)
    notice = (
        f"{books}: the folder is writable by group or others (mode 0777) and not sticky; anyone who can write it "
        f"chooses the commands a runbook step runs by adding or replacing a runbook: chmod go-w {books}"
    )
    checked = cli("check", "--config", path)
    assert checked.returncode == 2 and checked.stderr.startswith(f"incident-console: {notice}"), checked.stderr
    assert "(left out until fixed)" in checked.stderr
    assert "1 problem, listed above" in checked.stdout
    run = cli("run", "runbook:api:restart", "--config", path, "--yes")
    assert run.returncode == 2 and run.stderr.startswith(f"incident-console: warning: {notice}"), run.stderr
    assert "unknown action 'runbook:api:restart'" in run.stderr
    one_line(cli("runbook", "show", books / "api.md"), f"{books / 'api.md'}: its folder {books} is writable")
    books.chmod(0o755)
    assert cli("check", "--config", path).returncode == 0


async def test_the_console_says_which_runbooks_it_left_out(tmp_path: Path) -> None:
    path, books = runbooks_config(tmp_path, 0o777)
    config = cfg.load(path, environ={})
    runner = build_runner(config)
    assert not [name for name in runner.actions if name.startswith("runbook:")]
    app = ConsoleApp(config, runner, feeds=Feeds())
    async with app.run_test(size=(100, 30), notifications=True):
        await until(lambda: toasts(app), what="a notice on screen")
        messages = toasts(app)
    assert any(m.startswith(f"{books}: the folder is writable by group or others") for m in messages), messages


def test_a_playbook_file_others_can_write_is_left_out(tmp_path: Path) -> None:
    etc = folder(tmp_path / "etc")
    books = folder(etc / "playbooks")
    playbook = books / "api.toml"
    playbook.write_text('[[playbook]]\nname = "p"\ntitle = "P"\nwhen = "any health is down"\n')
    playbook.write_text(playbook.read_text() + '[[playbook.steps]]\nkind = "done"\n')
    playbook.chmod(0o666)
    path = config_in(etc, console='playbooks = ["playbooks"]\n')
    line = f"{playbook}: the playbook file is writable by group or others (mode 0666);"
    checked = cli("triage", "check", "--config", path)
    assert checked.returncode == 2 and checked.stdout.startswith(line), checked.stdout
    assert cli("check", "--config", path).returncode == 2
    playbook.chmod(0o644)
    assert cli("triage", "check", "--config", path).stdout == "1 playbook valid\n"


# -- the journal: refused for reading and writing -------------------------------------------------------------------


def test_a_journal_others_can_write_is_refused(tmp_path: Path) -> None:
    journal = Journal(folder(tmp_path / "state", 0o700) / "journal.jsonl")
    journal.append("note", {"text": "first"})
    journal.path.chmod(0o666)  # even in a private folder: the journal is judged by its own mode too
    before = journal.path.read_bytes()
    prefix = f"journal {journal.path}: the journal is writable by group or others (mode 0666);"
    one_line(cli("incident", "note", "second", "--journal", journal.path), prefix, f"chmod go-w {journal.path}")
    one_line(cli("journal", "show", "--journal", journal.path), prefix)
    assert journal.path.read_bytes() == before


@as_root
def test_a_journal_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    state = folder(tmp_path / "state", 0o755, owner=NOBODY)
    one_line(
        cli("incident", "declare", "--title", "x", "--journal", state / "journal.jsonl"),
        f"journal {state / 'journal.jsonl'}: its folder {state} is owned by nobody (uid 65534)",
    )
    assert list(state.iterdir()) == []


def test_a_fifo_journal_is_refused_at_once(tmp_path: Path) -> None:
    fifo = folder(tmp_path / "state", 0o700) / "journal.jsonl"
    os.mkfifo(fifo, 0o600)
    refusal = f"incident-console: journal {fifo}: a FIFO (named pipe), not a regular file; refused as a journal"
    for argv in (["journal", "show"], ["journal", "verify"], ["journal", "export"], ["incident", "show"]):
        started = time.monotonic()
        result = cli(*argv, "--journal", fifo, timeout=20)
        assert time.monotonic() - started < 10, argv
        assert result.stderr.startswith(refusal) and result.stderr.count("\n") == 1, (argv, result.stderr)
        assert result.returncode == 2, argv
