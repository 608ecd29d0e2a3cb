"""The journal and the redactor, on real files, real processes and real failing file systems."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from console.journal import Journal, JournalError, actor_info, default_journal_path
from console.redact import Redactor
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[1]
ACTOR = {"user": "tester", "host": "test-host", "ssh_from": None, "pid": 1}

APPENDER = """
import os, sys, time
from pathlib import Path
from console.journal import Journal
path, count, go = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
journal = Journal(path)
go.with_name(f"ready-{os.getpid()}").touch()
while not go.exists():  # a start barrier, so the appenders race: the parent starts them all at once
    time.sleep(0.001)
for i in range(count):
    journal.append("note", {"i": i})
"""

# Appends forever; every other entry is 64 KiB so a kill can land inside a multi-page write.
KILLED_WRITER = """
import sys
from pathlib import Path
from console.journal import Journal
journal = Journal(Path(sys.argv[1]))
i = 0
while True:
    entry = journal.append("note", {"i": i, "pad": "x" * 65536 if i % 2 else ""})
    print(entry["seq"], flush=True)
    i += 1
"""


def python(code: str, *args: object, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, **kwargs)


def make_journal(path: Path, **kwargs) -> Journal:
    return Journal(path, actor=ACTOR, environment="test", **kwargs)


def filled(path: Path, n: int) -> Journal:
    journal = make_journal(path)
    for i in range(n):
        journal.append("note", {"text": f"hello {i}"})
    return journal


def replace_line(path: Path, line_no: int, new: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[line_no - 1] = new
    path.write_bytes(b"\n".join(lines))


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "journal.jsonl"


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 16 KiB tmpfs (needs CAP_SYS_ADMIN); skipped where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


# -- writing and reading -------------------------------------------------------------------------


def test_entries_are_chained_and_canonical(journal_path: Path) -> None:
    clock = iter(
        [
            datetime(2026, 11, 23, 6, 14, 11, 123456, tzinfo=UTC),
            datetime(2026, 11, 23, 7, 0, 0, 999999, tzinfo=timezone(timedelta(hours=1))),
        ]
    )
    journal = make_journal(journal_path, clock=lambda: next(clock))
    first = journal.append("action.requested", {"action": "kill", "pids": (1, 2)}, incident="INC-1")
    second = journal.append("action.completed", {"exit_code": 0, "at": journal_path}, corr=first["seq"])

    assert first["seq"] == 1 and first["prev"] is None
    assert first["ts"] == "2026-11-23T06:14:11.123Z"
    assert second["ts"] == "2026-11-23T06:00:00.999Z"
    assert second["prev"] == first["hash"] and second["corr"] == 1
    assert first["hash"].startswith("sha256:")
    assert first["data"] == {"action": "kill", "pids": [1, 2]}
    assert second["data"]["at"] == str(journal_path)
    assert set(first) == {"v", "seq", "ts", "kind", "incident", "actor", "environment", "data", "corr", "prev", "hash"}

    lines = journal_path.read_bytes().splitlines()
    assert lines[0] == json.dumps(first, sort_keys=True, separators=(",", ":")).encode()
    assert list(journal.entries()) == [first, second]
    assert journal.tail(1) == [second] and journal.tail(5) == [first, second] and journal.tail(0) == []
    result = journal.verify()
    assert (result.ok, result.count, result.head) == (True, 2, second["hash"])


def test_missing_journal_reads_empty_and_is_not_created(tmp_path: Path) -> None:
    journal = make_journal(tmp_path / "absent" / "journal.jsonl")
    assert journal.verify().ok and journal.verify().count == 0
    assert list(journal.entries()) == [] and journal.tail(3) == []
    assert not (tmp_path / "absent").exists()


def test_modes_are_0700_and_0600(journal_path: Path) -> None:
    make_journal(journal_path).open()
    assert journal_path.parent.stat().st_mode & 0o777 == 0o700
    assert journal_path.stat().st_mode & 0o777 == 0o600


def test_defaults() -> None:
    assert default_journal_path().name == "journal.jsonl"
    assert "incident-console" in default_journal_path().parts
    actor = actor_info()
    assert set(actor) == {"user", "host", "ssh_from", "pid"} and actor["pid"] == os.getpid()


def test_threads_share_one_journal(journal_path: Path) -> None:
    journal = make_journal(journal_path)
    threads = [threading.Thread(target=lambda: [journal.append("note") for _ in range(50)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [e["seq"] for e in journal.entries()] == list(range(1, 201))
    assert journal.verify().ok


def test_two_processes_append_concurrently(tmp_path: Path) -> None:
    path, go = tmp_path / "journal.jsonl", tmp_path / "go"
    procs = [python(APPENDER, path, 1000, go) for _ in range(2)]
    wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == 2, what="both appenders imported and waiting")
    go.touch()
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0]

    journal = Journal(path)
    entries = list(journal.entries())
    assert [e["seq"] for e in entries] == list(range(1, 2001))
    by_pid: dict[int, list[int]] = {}
    for e in entries:
        by_pid.setdefault(e["actor"]["pid"], []).append(e["data"]["i"])
    assert sorted(by_pid) == sorted(proc.pid for proc in procs)
    assert all(order == list(range(1000)) for order in by_pid.values())
    result = journal.verify()
    assert result.ok and result.count == 2000


# -- crashes and torn tails ----------------------------------------------------------------------


def test_sigkilled_writer_loses_nothing_it_reported(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    rng = random.Random(20261123)
    reported: set[int] = set()
    for _ in range(50):
        proc = python(KILLED_WRITER, path, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        out = proc.stdout.readline()  # it is appending now
        time.sleep(rng.uniform(0, 0.03))  # a sleep by design: the kill lands at a random point of the writes
        proc.kill()
        out += proc.stdout.read()
        proc.stdout.close()
        proc.wait()
        reported.update(int(line) for line in out.decode().splitlines(keepends=True) if line.endswith("\n"))

        journal = Journal(path)
        journal.open()
        result = journal.verify()
        assert result.ok, result
        assert reported <= {e["seq"] for e in journal.entries()}
    assert path.read_bytes().endswith(b"\n")


def test_torn_tail_is_moved_aside_and_journaled(journal_path: Path) -> None:
    filled(journal_path, 3)
    torn = b'{"v":1,"seq":4,"ts":"2026-11-23T06:1'
    with open(journal_path, "ab") as f:
        f.write(torn)

    journal = make_journal(journal_path)
    journal.open()
    journal.open()  # idempotent: nothing more to recover
    broken = journal_path.with_name("journal.jsonl.broken")
    assert broken.read_bytes() == torn
    assert broken.stat().st_mode & 0o777 == 0o600
    entries = list(journal.entries())
    assert [e["kind"] for e in entries] == ["note"] * 3 + ["journal.recovered"]
    assert entries[-1]["seq"] == 4
    assert entries[-1]["data"] == {"bytes": len(torn), "broken_file": str(broken)}
    assert journal.verify().ok and journal.verify().count == 4


def test_append_recovers_a_tail_torn_after_open(journal_path: Path) -> None:
    journal = filled(journal_path, 2)
    with open(journal_path, "ab") as f:
        f.write(b'{"v":1,"se')
    entry = journal.append("note", {"text": "after"})
    assert entry["seq"] == 4
    assert [e["kind"] for e in journal.entries()][-2:] == ["journal.recovered", "note"]
    assert journal.verify().ok


def test_corrupt_last_line_stops_appends(journal_path: Path) -> None:
    journal = filled(journal_path, 3)
    replace_line(journal_path, 3, b"garbage")
    before = journal_path.read_bytes()
    with pytest.raises(JournalError, match=r"corrupt at line 3.*journal verify"):
        journal.append("note")
    assert journal_path.read_bytes() == before


# -- tampering -------------------------------------------------------------------------------------


def test_flipped_byte_is_a_hash_mismatch(journal_path: Path) -> None:
    journal = filled(journal_path, 5)
    lines = journal_path.read_bytes().split(b"\n")
    assert b"hello 2" in lines[2]
    replace_line(journal_path, 3, lines[2].replace(b"hello 2", b"jello 2"))
    result = journal.verify()
    assert (result.ok, result.bad_seq, result.reason, result.count) == (False, 3, "hash mismatch", 2)


def test_garbage_line_is_not_json(journal_path: Path) -> None:
    journal = filled(journal_path, 5)
    replace_line(journal_path, 2, b"this is not json")
    result = journal.verify()
    assert (result.ok, result.bad_seq, result.reason) == (False, 2, "not JSON")
    with pytest.raises(JournalError, match="line 2 is not JSON"):
        list(journal.entries())


def test_removed_and_relinked_entries_are_named(journal_path: Path) -> None:
    journal = filled(journal_path, 5)
    original = journal_path.read_bytes()
    lines = original.split(b"\n")

    replace_line(journal_path, 3, lines[3])  # seq 4 where 3 should be
    result = journal.verify()
    assert (result.bad_seq, result.reason) == (4, "seq 4 follows 2")

    entry = json.loads(lines[3])
    entry["seq"] = 3  # renumbered, but still chained to seq 3's hash
    journal_path.write_bytes(original)
    replace_line(journal_path, 3, json.dumps(entry).encode())
    result = journal.verify()
    assert (result.bad_seq, result.reason) == (3, "prev does not match hash of seq 2")


# -- secrets -------------------------------------------------------------------------------------


def test_secrets_never_reach_the_file(journal_path: Path) -> None:
    journal = make_journal(journal_path, redactor=Redactor(["tok-9f8e7d6c"]))
    journal.append(
        "action.requested",
        {
            "argv": ["curl", "-H", "Authorization: Bearer tok-9f8e7d6c"],
            "dsn": "postgresql://app:hunter22@db:5432/app",
            "conninfo": "host=db password=hunter33 user=app",
            "pattern": "session:*",
        },
    )
    raw = journal_path.read_bytes()
    for secret in (b"tok-9f8e7d6c", b"hunter22", b"hunter33"):
        assert secret not in raw
    assert b"postgresql://app:***@db:5432/app" in raw and b"session:*" in raw


def test_redactor_masks_url_passwords() -> None:
    r = Redactor()
    assert r.text("postgresql://app:s3cret@db:5432/app") == "postgresql://app:***@db:5432/app"
    assert r.text("redis://:p@ss@cache:6379/0") == "redis://:***@cache:6379/0"
    assert r.text("http://host:8080/path?mail=a@b.example") == "http://host:8080/path?mail=a@b.example"
    assert r.text("https://user@host/x") == "https://user@host/x"


def test_redactor_masks_key_value_passwords() -> None:
    r = Redactor()
    assert r.text("host=db password=s3cret user=app") == "host=db password=*** user=app"
    assert r.text("password='two words' dbname=x") == "password=*** dbname=x"
    assert r.text("PGPASSWORD=s3cret psql") == "PGPASSWORD=*** psql"
    assert r.text("pg://h/db?sslmode=require&password=s3cret&x=1") == "pg://h/db?sslmode=require&password=***&x=1"


def test_redactor_masks_secrets_in_nested_data() -> None:
    r = Redactor(["abcd", "abcdef", "xyz", ""])
    r.add("token-1234")
    data = {"abcd": [1, ("abcdef abcd", None)], "deep": {"argv": ["--token", "token-1234"]}, "n": 3.5}
    assert r.value(data) == {
        "abcd": [1, ("*** ***", None)],  # keys stay; longest secret first; tuples stay tuples
        "deep": {"argv": ["--token", "***"]},
        "n": 3.5,
    }
    assert r.text("xyz is short, and a secret all the same") == "*** is short, and a secret all the same"


def test_redactor_masks_query_string_and_token_secrets() -> None:
    r = Redactor()
    assert r.text("https://h/x?key=AIza123&q=1") == "https://h/x?key=***&q=1"
    assert r.text("https://h/x?a=1&api_key=k456") == "https://h/x?a=1&api_key=***"
    assert r.text("GET /cb?access_token=t0k3n#frag") == "GET /cb?access_token=***"
    assert r.text("token=abc123 user=x") == "token=*** user=x"
    assert r.text("client_secret = 's e c' next") == "client_secret = *** next"
    assert r.text("APIKEY=zz9") == "APIKEY=***"
    # a key that is not in a query string is not a secret
    assert r.text("scan key=session:* in db 0") == "scan key=session:* in db 0"


# -- what the journal refuses to touch -------------------------------------------------------------


def folder(path: Path, mode: int) -> Path:
    path.mkdir()
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o1777, 0o700])
def test_symlink_journal_is_refused_and_its_target_untouched(tmp_path: Path, mode: int) -> None:
    shared = folder(tmp_path / "shared", mode)
    target = tmp_path / "notes.txt"
    target.write_bytes(b"line one\nno newline at the end")
    (shared / "journal.jsonl").symlink_to(target)
    journal = make_journal(shared / "journal.jsonl")
    for attempt in (journal.open, lambda: journal.append("note")):
        with pytest.raises(JournalError) as caught:
            attempt()
        message = str(caught.value)
        assert message.startswith(f"journal {shared / 'journal.jsonl'}") and "\n" not in message
        assert "symbolic link" in message or "writable by group or others" in message
    assert target.read_bytes() == b"line one\nno newline at the end"
    assert not (shared / "journal.jsonl.broken").exists() and not target.with_name("notes.txt.broken").exists()


def test_dangling_symlink_journal_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    state = folder(tmp_path / "state", 0o700)
    (state / "journal.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    with pytest.raises(JournalError, match=r"journal .*journal.jsonl is a symbolic link; refusing to follow it"):
        make_journal(state / "journal.jsonl").append("note")
    assert not (tmp_path / "elsewhere.jsonl").exists()


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777, 0o720, 0o702])
def test_journal_folder_writable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    shared = folder(tmp_path / "shared", mode)
    with pytest.raises(JournalError) as caught:
        make_journal(shared / "journal.jsonl").open()
    sticky = " and not sticky; " if not mode & 0o1000 else "; "
    fix = "point [console].journal at a private folder (chmod 700)"
    assert str(caught.value) == (
        f"journal {shared / 'journal.jsonl'}: its folder {shared} is writable by group or others (mode {mode:04o})"
        f"{sticky}anyone who can write it can rewrite the incident record by replacing the journal: "
        + (fix if sticky == "; " else f"chmod go-w {shared}, or {fix}")
    )
    assert list(shared.iterdir()) == []


@pytest.mark.parametrize("content", [b"hello\nworld\n", b"just text, no newline", b'{"v":1}\n'])
def test_a_file_that_is_not_a_journal_is_never_modified(journal_path: Path, content: bytes) -> None:
    journal_path.parent.mkdir(mode=0o700)
    journal_path.write_bytes(content)
    journal = make_journal(journal_path)
    for attempt in (journal.open, lambda: journal.append("note")):
        with pytest.raises(JournalError, match="line 1 is not a journal entry; refusing to write to it"):
            attempt()
    assert journal_path.read_bytes() == content
    assert not journal.broken_path.exists()


def test_a_torn_first_entry_is_still_recovered(journal_path: Path) -> None:
    journal_path.parent.mkdir(mode=0o700)
    journal_path.write_bytes(b'{"actor":{"host":"h')
    journal = make_journal(journal_path)
    journal.open()
    assert journal.broken_path.read_bytes() == b'{"actor":{"host":"h'
    assert [e["kind"] for e in journal.entries()] == ["journal.recovered"]


# -- failing file systems --------------------------------------------------------------------------


def test_parent_that_is_a_file_raises(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a directory")
    journal = make_journal(tmp_path / "plain" / "journal.jsonl")
    for attempt in (journal.open, lambda: journal.append("note")):
        with pytest.raises(JournalError) as caught:
            attempt()
        message = str(caught.value)
        assert str(tmp_path / "plain" / "journal.jsonl") in message and "\n" not in message


def test_unwritable_journal_raises_and_keeps_entries(journal_path: Path) -> None:
    journal = filled(journal_path, 3)
    before = journal_path.read_bytes()
    if os.geteuid() != 0:
        journal_path.chmod(0o400)
        undo = ["chmod", "600", str(journal_path)]
    elif subprocess.run(["chattr", "+i", str(journal_path)], capture_output=True).returncode == 0:
        undo = ["chattr", "-i", str(journal_path)]  # root ignores modes, not the immutable flag
    else:
        pytest.skip("root, and this file system has no immutable flag")
    try:
        with pytest.raises(JournalError, match="cannot append"):
            journal.append("note", {"text": "lost"})
        assert journal.verify().count == 3
    finally:
        subprocess.run(undo, check=True)
    assert journal_path.read_bytes() == before


def test_full_disk_truncates_back_and_keeps_entries(tiny_tmpfs: Path) -> None:
    path = tiny_tmpfs / "journal.jsonl"
    journal = make_journal(path)
    written = 0
    with pytest.raises(JournalError, match="ENOSPC"):
        while True:
            journal.append("note", {"pad": "y" * 1500})  # lines straddle pages: the last write is short
            written += 1
    assert written > 0
    before = path.read_bytes()
    assert before.endswith(b"\n")
    with pytest.raises(JournalError, match="ENOSPC"):
        journal.append("note", {"pad": "z" * 1500})
    assert path.read_bytes() == before
    result = journal.verify()
    assert result.ok and result.count == written


def test_a_device_is_no_journal(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with pytest.raises(JournalError, match=r"^journal /dev/full: a character device, not a regular file; refused"):
        make_journal(Path("/dev/full")).append("note")
