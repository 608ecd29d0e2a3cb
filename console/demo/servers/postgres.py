"""A throwaway PostgreSQL with pg_stat_statements, run as the `postgres` user when root (initdb refuses root)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from console.demo.servers.base import ServerUnavailable, ThrowawayServer, log_tail, process_alive, wait_gone

_PG_BINARIES = ("initdb", "pg_ctl", "postgres")


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



class PostgresServer(ThrowawayServer):
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
        if not wait_gone(pid, 10):
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid, 5)
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
                f"{done.stderr.strip() or done.stdout.strip()}\n{log_tail(log) if log.exists() else ''}"
            )
