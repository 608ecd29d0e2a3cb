"""A throwaway Prometheus on a loopback port, storage in a temp dir, scraping given targets every second."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path

from console.demo.servers.base import ServerUnavailable, ThrowawayServer, log_tail

SCRAPE_INTERVAL = "1s"


class ReadyServer(ThrowawayServer):
    """A Prometheus-family binary run in the foreground, ready when `/-/ready` answers 200."""

    binaries: tuple[str, ...] = ()
    package = ""

    def __init__(self, *, port: int | None = None) -> None:
        super().__init__(port)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @abstractmethod
    def _argv(self, binary: str, tmpdir: Path) -> list[str]:
        """The command line, after writing its config into `tmpdir`."""

    def start(self, timeout: float = 30) -> None:
        """Launch the server and wait until it is ready. Raises ServerUnavailable if the binary is missing."""
        if self.pid is not None:
            return
        binary = next((found for name in self.binaries if (found := shutil.which(name))), None)
        if binary is None:
            raise ServerUnavailable(f"{self.binaries[0]} is not on PATH: apt-get install {self.package}")
        tmpdir = self._tmpdir or self._make_tmpdir(f"incident-console-{self.package}-")
        log = tmpdir / "server.log"
        try:
            with log.open("ab") as out:
                self._proc = subprocess.Popen(
                    self._argv(binary, tmpdir),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=tmpdir,
                    start_new_session=True,
                )
            self._wait_ready(timeout, log)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float, log: Path) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.pid is None:
                raise RuntimeError(f"{self.package} exited at start:\n{log_tail(log)}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=0.5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.package} was not ready within {timeout}s:\n{log_tail(log)}")
            time.sleep(0.05)

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


class PrometheusServer(ReadyServer):
    """A throwaway Prometheus scraping `targets` ("host:port" serving `/metrics`) every second."""

    binaries = ("prometheus",)
    package = "prometheus"

    def __init__(self, targets: Sequence[str] = (), *, port: int | None = None) -> None:
        super().__init__(port=port)
        self.targets = list(targets)

    def _argv(self, binary: str, tmpdir: Path) -> list[str]:
        config = {  # JSON is YAML
            "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
            "scrape_configs": [{"job_name": "test", "static_configs": [{"targets": self.targets}]}],
        }
        (tmpdir / "prometheus.yml").write_text(json.dumps(config))
        return [
            binary,
            f"--config.file={tmpdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmpdir / 'data'}",
            f"--web.listen-address={self.host}:{self.port}",
        ]

