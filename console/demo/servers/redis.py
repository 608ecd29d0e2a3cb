"""A throwaway Redis without persistence."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Sequence
from pathlib import Path

from console.demo.servers.base import ForegroundServer, ServerUnavailable


class RedisServer(ForegroundServer):
    """A throwaway Redis on a free loopback port, no persistence."""

    def __init__(self, *, port: int | None = None, extra_args: Sequence[str] = (), binary: Path | None = None) -> None:
        super().__init__(port)
        self.extra_args = tuple(extra_args)
        self._binary = binary

    @property
    def url(self) -> str:
        """redis-py URL of database 0."""
        return f"redis://{self.host}:{self.port}/0"

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
        self._launch(argv, tmpdir, log, self._pong, timeout)

    def _pong(self) -> bool:
        with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
