"""The flight recorder (console/record/): `incident-console record` against real servers, `record show --at` and its
exit codes, one writer per file (the others wait as a standby), a `kill -9` mid-write, pruning by `keep` and
`max_size`, the file rules, and secrets masked before anything reaches the file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zstandard

from console.config import loads
from console.config.record import RecordSettings
from console.models import Check, State
from console.models.health import MetricSnapshot
from console.record.codec import Sample
from console.record.reader import Reader
from console.record.store import RecordError
from console.record.writer import Writer
from console.redact import Redactor
from console.timeparse import iso
from tests.helpers import CLI, ROOT, cli, config_file, wait_for

SECRET = "hunter2-s3cret-value"


def _recording_config(tmp_path: Path, body: str = "", record: str = "") -> tuple[Path, Path]:
    state = tmp_path / "rec"
    state.mkdir(mode=0o700, exist_ok=True)
    path = state / "staging.db"
    config = config_file(
        tmp_path / "cfg",
        f'{body}\n[record]\npath = "{path}"\n{record}',
    )
    return config, path


def _start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "record", "--config", str(config)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _show(config: Path, at: str = "0s") -> subprocess.CompletedProcess[str]:
    return cli("record", "show", "--at", at, "--json", "--config", config)


def _sources(config: Path) -> set[str]:
    shown = _show(config)
    if shown.returncode != 0:
        return set()
    return {check["source"] for check in json.loads(shown.stdout)["checks"]}


def test_record_polls_real_servers_and_show_prints_the_moment(
    tmp_path: Path, http_server, pg_server, redis_server
) -> None:
    http_server.route("/health", body={"ok": True})
    log = tmp_path / "app.log"
    log.write_text("ERROR boom\n")
    config, path = _recording_config(
        tmp_path,
        f"""refresh = "500ms"
[[health]]
name = "api"
url = "{http_server.url("/health")}"
interval = "500ms"
[postgres]
dsn = "{pg_server.dsn}"
[redis]
url = "{redis_server.url}"
[[logs]]
name = "app"
path = "{log}"
""",
    )
    process = _start(config)
    try:
        wait_for(lambda: {"health", "postgres", "redis", "logs"} <= _sources(config), timeout=30, what="every feed")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert f"recording to {path}" in err
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    shown = json.loads(_show(config).stdout)
    assert set(shown) == {"at", "taken_at", "age_s", "stale", "checks", "models"}
    assert {"health:api", "postgres", "redis", "logs:app"} <= set(shown["models"])
    assert shown["models"]["health:api"]["name"] == "api"
    assert shown["models"]["postgres"]["max_connections"] > 0 and shown["models"]["postgres"]["server_version"]
    assert shown["models"]["redis"]["ping_ms"] is not None and shown["models"]["redis"]["used_memory"] > 0
    assert shown["models"]["logs:app"]["lines"] >= 1  # the rate and counts, never the lines themselves
    assert "boom" not in json.dumps(shown)
    api = next(c for c in shown["checks"] if c["source"] == "health")
    assert set(api) == {"source", "name", "state", "value", "reason", "number", "unit"}  # as `status --json`
    text = cli("record", "show", "--at", "0s", "--config", config)
    assert text.returncode == 0, text.stderr
    assert any(line.split()[2:4] == ["health", "api"] for line in text.stdout.splitlines())
    assert "staging: " in text.stdout


def _write(path: Path, settings: RecordSettings, samples: list[Sample], redactor: Redactor | None = None) -> None:
    writer = Writer(path, settings, redactor or Redactor())
    try:
        writer.write(samples)
    finally:
        writer.close()


def _metric(name: str, value: float, at: float, reason: str = "") -> MetricSnapshot:
    return MetricSnapshot(
        name=name, state=State.OK, value=value, reason=reason, taken_at=datetime.fromtimestamp(at, UTC)
    )


def _sample(name: str, value: float, at: float, interval: float = 2.0, reason: str = "") -> Sample:
    model = _metric(name, value, at, reason)
    return Sample(f"metric:{name}", at, interval, model, model.checks())


def test_show_takes_each_feeds_sample_at_or_before_the_time_and_says_which_are_stale(tmp_path: Path) -> None:
    config, path = _recording_config(tmp_path)
    start = time.time() - 600
    samples = [_sample("fast", float(i), start + i * 2) for i in range(100)]
    samples += [_sample("slow", 7.0, start)]  # written once, 10 minutes ago: stale ever since
    _write(path, RecordSettings(), samples)
    at = datetime.fromtimestamp(start + 51, UTC)
    shown = _show(config, iso(at))
    assert shown.returncode == 0, shown.stderr
    frame = json.loads(shown.stdout)
    assert frame["at"] == iso(at)
    assert frame["models"]["metric:fast"]["value"] == 25.0  # taken at start + 50, just before start + 51
    assert frame["taken_at"]["metric:fast"] == iso(datetime.fromtimestamp(start + 50, UTC))
    assert frame["age_s"]["metric:fast"] == pytest.approx(1.0, abs=0.01)
    assert frame["stale"] == {"metric:fast": False, "metric:slow": True}
    text = cli("record", "show", "--at", iso(at), "--config", config)
    assert "stale: metric:slow" in text.stdout


def test_show_refuses_with_one_line_and_exit_2(tmp_path: Path) -> None:
    config, path = _recording_config(tmp_path)
    missing = _show(config)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no recording" in missing.stderr
    start = time.time() - 60
    _write(path, RecordSettings(), [_sample("m", 1.0, start)])
    future = _show(config, iso(datetime.now(UTC) + timedelta(hours=1)))
    assert future.returncode == 2 and "in the future" in future.stderr and future.stderr.count("\n") == 1
    early = _show(config, "1h ago")
    assert early.returncode == 2 and "does not reach back" in early.stderr and future.stderr.count("\n") == 1
    nonsense = _show(config, "yesterday-ish")
    assert nonsense.returncode == 2 and "--at: expected a time like" in nonsense.stderr
    assert "Traceback" not in missing.stderr + future.stderr + early.stderr + nonsense.stderr


def test_secrets_are_masked_before_they_reach_the_file(tmp_path: Path) -> None:
    _, path = _recording_config(tmp_path)
    reason = f"GET http://app:{SECRET}@db/x failed; token={SECRET}; raw {SECRET}"
    _write(path, RecordSettings(), [_sample("m", 1.0, time.time(), reason=reason)], Redactor([SECRET]))
    raw = b"".join(path.read_bytes() for path in path.parent.glob("staging.db*"))
    decompressor = zstandard.ZstdDecompressor()
    with sqlite3.connect(path) as db:
        blobs = [decompressor.decompress(row[0]) for row in db.execute("SELECT data FROM samples WHERE key IS NULL")]
    assert SECRET.encode() not in raw and all(SECRET.encode() not in blob for blob in blobs)
    reader = Reader(path)
    try:
        sample = next(iter(reader.frame(time.time() + 1).values())).sample
    finally:
        reader.close()
    assert SECRET not in sample.checks[0].reason and "***" in sample.checks[0].reason


def test_deltas_read_back_exactly_and_cost_less_than_keyframes(tmp_path: Path) -> None:
    _, path = _recording_config(tmp_path)
    start = time.time() - 1000
    _write(path, RecordSettings(), [_sample("m", float(i % 7), start + i) for i in range(400)])
    reader = Reader(path)
    try:
        for i in (0, 1, 149, 150, 151, 399):
            assert reader.frame(start + i)["metric:m"].sample.model.value == float(i % 7)
        assert reader.after(start + 10) == start + 11 and reader.before(start + 10) == start + 9
        keys, deltas = reader.db.execute(
            "SELECT sum(key IS NULL), avg(CASE WHEN key IS NULL THEN NULL ELSE length(data) END) FROM samples"
        ).fetchone()
        key_size = reader.db.execute("SELECT avg(length(data)) FROM samples WHERE key IS NULL").fetchone()[0]
    finally:
        reader.close()
    assert keys == 3  # a segment every 150 samples
    assert deltas * 3 < key_size


def test_keep_prunes_whole_segments_oldest_first(tmp_path: Path) -> None:
    _, path = _recording_config(tmp_path)
    now = time.time()
    settings = RecordSettings(keep="10m")
    writer = Writer(path, settings, Redactor())
    try:
        writer.write([_sample("m", float(i), now - 3600 + i * 10) for i in range(360)])  # an hour, every 10 s
        dropped = writer.prune(now)
        first = writer.db.execute("SELECT min(at) FROM samples").fetchone()[0]
        orphans = writer.db.execute(
            "SELECT count(*) FROM samples WHERE key IS NOT NULL AND key NOT IN (SELECT id FROM samples)"
        ).fetchone()[0]
    finally:
        writer.close()
    assert dropped > 0 and orphans == 0
    assert first <= now - 600  # everything `keep` promises is still there
    assert first > now - 600 - 150 * 10 - 1  # and at most one segment more
    reader = Reader(path)
    try:
        assert reader.frame(now - 600)["metric:m"].taken_at >= now - 610
    finally:
        reader.close()


def test_max_size_prunes_the_oldest_until_it_fits(tmp_path: Path) -> None:
    _, path = _recording_config(tmp_path)
    settings = RecordSettings(max_size="1MB")
    writer = Writer(path, settings, Redactor())
    now = time.time()
    try:
        for batch in range(10):  # incompressible reasons (hex: 2 characters a byte): about 1.6 MB written
            writer.write(
                [_sample(f"m{i}", 1.0, now - 1000 + batch * 10 + i, reason=os.urandom(20_000).hex()) for i in range(8)]
            )
        writer.prune(now)
        used = writer.used()
        first = writer.db.execute("SELECT min(at) FROM samples").fetchone()[0]
        last = writer.db.execute("SELECT max(at) FROM samples").fetchone()[0]
    finally:
        writer.close()
    assert used <= 1_000_000
    assert first > now - 1000 and last == now - 1000 + 90 + 7  # the oldest went, the newest stayed
    assert path.stat().st_size < 1_300_000  # the pages were given back


def _taken(config: Path) -> str:
    shown = _show(config)
    return json.loads(shown.stdout)["taken_at"].get("health:api", "") if shown.returncode == 0 else ""


def test_a_second_recorder_waits_as_a_standby_and_takes_over(tmp_path: Path, http_server) -> None:
    http_server.route("/health", body={"ok": True})
    health = f'[[health]]\nname = "api"\nurl = "{http_server.url("/health")}"\ninterval = "500ms"\n'
    config, path = _recording_config(tmp_path, f'refresh = "500ms"\n{health}')
    first = _start(config)
    wait_for(lambda: "health" in _sources(config), timeout=30, what="the first recorder's samples")
    second = _start(config)
    try:
        assert second.stderr is not None
        said = second.stderr.readline()
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0
        stopped = iso(datetime.now(UTC))
        wait_for(lambda: _taken(config) > stopped, timeout=30, what="the standby writing")
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=20)
    finally:
        first.kill()
        second.kill()
    assert second.returncode == 0
    assert said.strip() == f"incident-console: record: standby: another process (pid {first.pid}) records {path}"
    assert f"recording to {path}" in err


def test_kill_9_mid_write_leaves_a_file_that_opens(tmp_path: Path, http_server) -> None:
    http_server.route("/health", body={"ok": True})
    targets = "".join(
        f'[[health]]\nname = "api{i}"\nurl = "{http_server.url("/health")}"\ninterval = "200ms"\n' for i in range(10)
    )
    config, path = _recording_config(tmp_path, f'refresh = "200ms"\n{targets}')
    process = _start(config)
    try:
        wait_for(lambda: len(_sources(config)) > 0, timeout=30, what="samples")
        time.sleep(2.5)  # a sleep by design: past a flush, a transaction is likely under way or just done
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert Path(f"{path}-wal").exists()  # WAL: what was committed is in the log, to be checkpointed on open
    reader = Reader(path)
    try:
        assert reader.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert len(reader.frame(time.time())) == 10
    finally:
        reader.close()
    assert _show(config).returncode == 0


@pytest.mark.parametrize(
    ("what", "prepare", "said"),
    [
        ("file", lambda path: path.chmod(0o644) or path.chmod(0o664), "the recording is writable by group or others"),
        ("folder", lambda path: path.parent.chmod(0o770), "is writable by group or others"),
    ],
)
def test_a_recording_others_could_change_is_refused(tmp_path: Path, what: str, prepare, said: str) -> None:
    config, path = _recording_config(tmp_path)
    _write(path, RecordSettings(), [_sample("m", 1.0, time.time() - 5)])
    prepare(path)
    shown = _show(config)
    assert shown.returncode == 2 and said in shown.stderr and shown.stderr.count("\n") == 1
    recorded = cli("record", "--config", config, timeout=20)
    assert recorded.returncode == 2 and said in recorded.stderr
    checked = cli("check", "--config", config)
    assert checked.returncode == 2 and f"[record] {path}" in checked.stderr


def _open_folder(path: Path) -> Path:
    path.parent.chmod(0o770)
    return path


def _deeper_under_an_open_folder(path: Path) -> Path:
    path.parent.chmod(0o777)  # the writer would make the folders below it: the open one above is what is refused
    return path.parent / "not-yet" / "made" / path.name


def _a_file_for_a_folder(path: Path) -> Path:
    path.parent.rmdir()
    path.parent.write_text("")
    return path


def _a_lock_others_could_change(path: Path) -> Path:
    lock = Path(f"{path}.lock")
    lock.write_text("")
    lock.chmod(0o666)
    return path


def _a_wal_left_behind_others_could_change(path: Path) -> Path:
    wal = Path(f"{path}-wal")  # SQLite would replay it into the new file
    wal.write_text("")
    wal.chmod(0o664)
    return path


@pytest.mark.parametrize(
    ("prepare", "said"),
    [
        (_a_wal_left_behind_others_could_change, "-wal: the recording is writable by group or others (mode 0664)"),
        (_open_folder, "is writable by group or others (mode 0770) and not sticky"),
        (_deeper_under_an_open_folder, "rec: the folder is writable by group or others (mode 0777)"),
        (_a_file_for_a_folder, "rec is not a folder, so no recording can be made there"),
        (_a_lock_others_could_change, ".lock: the recording is writable by group or others (mode 0666)"),
    ],
)
def test_check_refuses_what_record_would_before_any_recording_exists(tmp_path: Path, prepare, said: str) -> None:
    state = tmp_path / "rec"
    state.mkdir(mode=0o700)
    path = prepare(state / "staging.db")
    config = config_file(tmp_path / "cfg", f'[record]\npath = "{path}"\n')
    recorded = cli("record", "--config", config, timeout=20)
    assert recorded.returncode == 2 and said in recorded.stderr and recorded.stderr.count("\n") == 1, recorded.stderr
    refusal = recorded.stderr.removeprefix("incident-console: ").strip()
    checked = cli("check", "--config", config)
    assert checked.returncode == 2, checked.stderr
    assert f"incident-console: [record] {refusal}\n" in checked.stderr  # the same words as record's
    assert not os.path.lexists(path) and not os.path.lexists(path.parent / "not-yet")  # check made nothing


def test_record_settings_are_checked_with_one_line(tmp_path: Path) -> None:
    assert RecordSettings(max_size="2GiB").max_size == 2 * 1024**3
    assert RecordSettings(max_size="1.5GB").max_size == 1_500_000_000
    for body, said in (
        ('max_size = "500 apples"', 'record.max_size: expected a size like "500MB"'),
        ('max_size = "10KB"', "record.max_size: must be at least 1MB"),
        ('keep = "400d"', "record.keep: must be at most 365d"),
        ('interval = "0s"', "record.interval: must be more than 0"),
        ("colour = 1", "record.colour"),
    ):
        config, _ = _recording_config(tmp_path, record=body)
        checked = cli("check", "--config", config)
        assert checked.returncode == 2 and said in checked.stderr, (body, checked.stderr)
        assert checked.stderr.count("\n") == 1


def test_the_default_path_is_per_environment_in_the_state_folder(tmp_path: Path) -> None:
    from console.record.recorder import recording_path

    config = loads('[console]\nenvironment = "prod eu/1"\n[record]\n')
    assert recording_path(config) == Path(os.environ["XDG_STATE_HOME"]) / "incident-console" / "record-prod_eu_1.db"
    with pytest.raises(RecordError, match="no recording"):
        Reader(recording_path(config))


def test_a_sample_naming_a_class_outside_the_models_is_refused(tmp_path: Path) -> None:
    from console.record.codec import decode

    raw = json.dumps({"checks": [], "type": "os:system", "model": {}}).encode()
    with pytest.raises(ValueError, match=r"not a model of console\.models"):
        decode(raw)
    check = Check(source="metric", name="m", state=State.OK)
    assert decode(json.dumps({"checks": [check.model_dump(mode="json")]}).encode()).checks == [check]


async def test_the_console_records_when_the_config_has_a_record_section(tmp_path: Path, http_server) -> None:
    from actions.registry import build_runner
    from console.config import load
    from console.tui.app import ConsoleApp
    from tests.helpers import until

    http_server.route("/health", body={"ok": True})
    path_config, path = _recording_config(
        # latency lines far off: the recorded state is what the probe answered, not how busy the machine was
        tmp_path,
        f'[[health]]\nname = "api"\nurl = "{http_server.url("/health")}"\ninterval = "500ms"\n'
        "warn_ms = 20000\ncrit_ms = 30000\n",
    )
    config = load(path_config)
    app = ConsoleApp(config, build_runner(config))
    async with app.run_test(size=(120, 40)):
        await until(lambda: app.recording.state.startswith("recording to"), what="the console recording")
        await until(lambda: "health" in _sources(path_config), timeout=20, what="a recorded sample")
        standby = _start(path_config)
        assert standby.stderr is not None
        said = standby.stderr.readline()
        standby.terminate()
        assert standby.wait(timeout=20) == 0
    assert f"standby: another process (pid {os.getpid()}) records {path}" in said
    frame = json.loads(_show(path_config).stdout)
    assert frame["models"]["health:api"]["state"] == "ok"


def test_check_takes_what_record_would_take_folders_it_makes_under_a_sticky_one(tmp_path: Path) -> None:
    from console.record.store import WriterLock

    sticky = tmp_path / "shared"
    sticky.mkdir()
    sticky.chmod(0o1777)  # as /tmp: a sticky folder is refused as the file's own, not above the folders record makes
    path = sticky / "mine" / "staging.db"
    config = config_file(tmp_path / "cfg", f'[record]\npath = "{path}"\n')
    checked = cli("check", "--config", config)
    assert checked.returncode == 0 and "[record]" not in checked.stderr, checked.stderr
    lock = WriterLock(path)
    assert lock.take()  # and record takes it
    lock.release()


def test_the_folders_the_recorder_makes_are_private_whatever_the_umask(tmp_path: Path) -> None:
    from console.record.store import WriterLock

    tmp_path.chmod(0o700)
    path = tmp_path / "state" / "deeper" / "staging.db"
    before = os.umask(0o002)  # a group-writable umask: folders made with its mode would be refused
    try:
        lock = WriterLock(path)
        assert lock.take()
        lock.release()
        _write(path, RecordSettings(), [_sample("m", 1.0, time.time() - 5)])
    finally:
        os.umask(before)
    assert oct((tmp_path / "state").stat().st_mode & 0o777) == "0o700"
    reader = Reader(path)
    try:
        assert len(reader.frame(time.time())) == 1
    finally:
        reader.close()
