"""Throwaway PostgreSQL and Redis servers on free loopback ports, in temp dirs.

Used by the test suite, the embedded demo and the benchmarks, so it imports neither Textual nor
pytest. Every server that was started and not stopped is stopped at interpreter exit (atexit), so
a crashed test run or a Ctrl+C in the demo leaves no process behind. Servers run in their own
session: a terminal Ctrl+C reaches only their owner, which stops them.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Self

_PG_BINARIES = ("initdb", "pg_ctl", "postgres")
# Temp dirs go under /tmp, not $TMPDIR: the `postgres` user must be able to traverse the path and the
# unix socket path must stay short (macOS' $TMPDIR alone is ~50 characters of the 107 allowed).
_TMP_ROOT = "/tmp"


class ServerUnavailable(Exception):
    """Server binaries are missing; ``str()`` says what to install."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accepts_connections(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (read from /proc where there is one)."""
    if Path("/proc/self/stat").exists():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_pg_bindir() -> Path | None:
    """The directory of PATH's pg_ctl (symlinks resolved), else the newest /usr/lib/postgresql/*/bin.

    A directory counts only if it holds initdb, pg_ctl and postgres.
    """
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda p: _version_key(p.parent.name), reverse=True)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in _PG_BINARIES):
            return bindir
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


_live: set[_ThrowawayServer] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for server in servers:
        try:
            server.stop()
        except Exception:  # best effort at interpreter exit: stop the others anyway
            pass


class _ThrowawayServer(ABC):
    """What PostgresServer and RedisServer share: port, temp dir, atexit registration, `with`."""

    host = "127.0.0.1"

    def __init__(self, port: int | None) -> None:
        self.port = port if port is not None else free_port()
        self._tmpdir: Path | None = None

    @property
    def tmpdir(self) -> Path:
        """The server's temp dir (exists from start() until stop())."""
        if self._tmpdir is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._tmpdir

    def _make_tmpdir(self, prefix: str) -> Path:
        self._tmpdir = Path(tempfile.mkdtemp(prefix=prefix, dir=_TMP_ROOT))
        with _live_lock:
            _live.add(self)
        return self._tmpdir

    def _remove_tmpdir(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        with _live_lock:
            _live.discard(self)

    @abstractmethod
    def start(self, timeout: float = 30) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def start_again(self) -> None:
        """Start the server again after kill(), on the same port (and, for PostgreSQL, the same data)."""
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class PostgresServer(_ThrowawayServer):
    """A throwaway PostgreSQL in a temp dir on a free loopback port (pg_stat_statements preloaded).

    Trust authentication, superuser ``postgres``, durability off (fsync, synchronous_commit,
    full_page_writes). As root, initdb and pg_ctl run as the ``postgres`` user, who owns the temp dir.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        max_connections: int = 400,
        extra_conf: dict[str, str] | None = None,
        bindir: Path | None = None,
    ) -> None:
        super().__init__(port)
        self.max_connections = max_connections
        self.extra_conf = dict(extra_conf or {})
        self._bindir = bindir
        self._pid: int | None = None

    @property
    def dsn(self) -> str:
        """libpq/asyncpg DSN of the ``postgres`` database as superuser ``postgres``."""
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    @property
    def datadir(self) -> Path:
        """The cluster's data directory."""
        return self.tmpdir / "data"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while it runs."""
        return self._pid if self._pid is not None and process_alive(self._pid) else None

    def start(self, timeout: float = 30) -> None:
        """initdb (first time only), configure, ``pg_ctl start -w``, create pg_stat_statements.

        Raises ServerUnavailable when the binaries (or, as root, the ``postgres`` user) are missing.
        """
        if self.pid is not None:
            return
        bindir = self._bindir = self._resolve_bindir()
        owner = self._owner()
        first_start = self._tmpdir is None
        try:
            if first_start:
                tmpdir = self._make_tmpdir("incident-console-pg-")
                if owner is not None:
                    os.chown(tmpdir, owner.pw_uid, owner.pw_gid)
                self._run(
                    bindir / "initdb",
                    "-D",
                    str(self.datadir),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    timeout=timeout,
                )
                self._write_conf()
            self._run(
                bindir / "pg_ctl",
                "-D",
                str(self.datadir),
                "-l",
                str(self.tmpdir / "server.log"),
                "-w",
                "-t",
                str(max(1, int(timeout))),
                "-s",
                "start",
                timeout=timeout + 5,
            )
            self._pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
            if first_start:
                for database in ("template1", "postgres"):
                    self._psql(bindir, database, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        except BaseException:
            self.stop()
            raise

    def restart(self, timeout: float = 30) -> None:
        """Stop the server cleanly (data kept) and start it again on the same port."""
        self._stop_process("fast")
        self.start(timeout)

    def kill(self) -> None:
        """Stop the server abruptly (``-m immediate``, a crash as far as clients can tell); data is kept.

        With synchronous_commit=off, commits from the last ~0.6 s may be lost, as in a real crash.
        """
        self._stop_process("immediate")

    def stop(self) -> None:
        """Stop the server (``-m immediate``) and remove its temp dir. Idempotent."""
        self._stop_process("immediate")
        self._remove_tmpdir()

    def _stop_process(self, mode: str) -> None:
        pid = self.pid
        if pid is None:
            return
        assert self._bindir is not None  # set by start(), which gave us a pid
        try:
            self._run(self._bindir / "pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-s", "stop", timeout=30)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass  # fall through to signals below
        if not _wait_gone(pid, 10):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5)
        self._pid = None

    def _resolve_bindir(self) -> Path:
        bindir = self._bindir or find_pg_bindir()
        if bindir is None:
            raise ServerUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) are not on PATH nor in "
                "/usr/lib/postgresql/*/bin: apt-get install postgresql"
            )
        missing = [name for name in _PG_BINARIES if not (bindir / name).is_file()]
        if missing:
            raise ServerUnavailable(
                f"PostgreSQL server binaries missing from {bindir}: {', '.join(missing)}: apt-get install postgresql"
            )
        return bindir

    @staticmethod
    def _owner() -> pwd.struct_passwd | None:
        """The unprivileged user that must own the cluster when we are root (initdb refuses root)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError:
            raise ServerUnavailable(
                "running as root, and initdb refuses root: it needs a 'postgres' user "
                "(apt-get install postgresql creates one)"
            ) from None

    def _write_conf(self) -> None:
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.tmpdir),
            "shared_preload_libraries": "pg_stat_statements",
            "pg_stat_statements.track": "all",
            "max_connections": str(self.max_connections),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            **self.extra_conf,
        }
        lines = [f"{key} = '{value.replace(chr(39), chr(39) * 2)}'" for key, value in settings.items()]
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write("\n# incident-console throwaway server\n" + "\n".join(lines) + "\n")

    def _psql(self, bindir: Path, database: str, sql: str) -> None:
        psql = bindir / "psql" if (bindir / "psql").is_file() else shutil.which("psql")
        if psql is None:
            raise ServerUnavailable("psql is missing: apt-get install postgresql-client")
        dsn = f"postgresql://postgres@{self.host}:{self.port}/{database}"
        self._run(Path(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql, timeout=30)

    def _run(self, binary: Path, *args: str, timeout: float) -> None:
        argv = [str(binary), *args]
        if self._owner() is not None:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        done = subprocess.run(
            argv,
            cwd=self.tmpdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
            check=False,
        )
        if done.returncode != 0:
            log = self.tmpdir / "server.log"
            raise RuntimeError(
                f"{binary.name} {' '.join(args)} failed ({done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}\n{_tail(log) if log.exists() else ''}"
            )


class RedisServer(_ThrowawayServer):
    """A throwaway Redis on a free loopback port, no persistence."""

    def __init__(self, *, port: int | None = None, extra_args: Sequence[str] = (), binary: Path | None = None) -> None:
        super().__init__(port)
        self.extra_args = tuple(extra_args)
        self._binary = binary
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis-py URL of database 0."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The redis-server pid while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 10) -> None:
        """Launch redis-server and wait until it answers PING. Raises ServerUnavailable if it is missing."""
        if self.pid is not None:
            return
        binary = self._binary or (Path(found) if (found := shutil.which("redis-server")) else None)
        if binary is None or not binary.is_file():
            raise ServerUnavailable(
                f"redis-server is not {'at ' + str(binary) if binary else 'on PATH'}: apt-get install redis-server"
            )
        tmpdir = self._tmpdir or self._make_tmpdir("incident-console-redis-")
        log = tmpdir / "redis.log"
        argv = [
            str(binary),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmpdir),
            "--daemonize",
            "no",
            *self.extra_args,
        ]
        try:
            with log.open("ab") as out:
                self._proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=tmpdir,
                    start_new_session=True,
                )
            self._wait_for_ping(timeout, log)
        except BaseException:
            self.stop()
            raise

    def _wait_for_ping(self, timeout: float, log: Path) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.pid is None:
                raise RuntimeError(f"redis-server exited at start:\n{_tail(log)}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer PING within {timeout}s:\n{_tail(log)}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL the server; nothing survives (no persistence). start_again() restarts it empty."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()

    def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL after 5 s) and remove its temp dir. Idempotent."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self._remove_tmpdir()
