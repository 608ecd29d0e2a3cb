"""A throwaway Redis without persistence."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from console.demo.servers.base import ServerUnavailable, ThrowawayServer, log_tail


class RedisServer(ThrowawayServer):
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
                raise RuntimeError(f"redis-server exited at start:\n{log_tail(log)}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer PING within {timeout}s:\n{log_tail(log)}")
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
