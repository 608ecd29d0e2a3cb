"""What every throwaway server shares: free ports, liveness checks, temp dirs under /tmp, and the atexit sweep
that stops every server a crashed test run or a Ctrl+C left running."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Self

# Temp dirs go under /tmp, not $TMPDIR: the `postgres` user must be able to traverse the path and the
# unix socket path must stay short (macOS' $TMPDIR alone is ~50 characters of the 107 allowed).
TMP_ROOT = "/tmp"


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


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


_live: set[ThrowawayServer] = set()
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


class ThrowawayServer(ABC):
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
        self._tmpdir = Path(tempfile.mkdtemp(prefix=prefix, dir=TMP_ROOT))
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


class ForegroundServer(ThrowawayServer):
    """A server run in the foreground as our child (Redis, Prometheus, Alertmanager): launch, wait until it
    answers, kill, stop."""

    def __init__(self, port: int | None) -> None:
        super().__init__(port)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _launch(self, argv: list[str], tmpdir: Path, log: Path, ready: Callable[[], bool], timeout: float) -> None:
        """Start `argv` in its own session (output to `log`) and wait until `ready()`; stop it on any failure."""
        name = Path(argv[0]).name
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
            deadline = time.monotonic() + timeout
            while True:
                if self.pid is None:
                    raise RuntimeError(f"{name} exited at start:\n{log_tail(log)}")
                try:
                    if ready():
                        return
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} was not ready within {timeout}s:\n{log_tail(log)}")
                time.sleep(0.02)
        except BaseException:
            self.stop()
            raise

    def kill(self) -> None:
        """SIGKILL the server (its temp dir stays for start_again())."""
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
