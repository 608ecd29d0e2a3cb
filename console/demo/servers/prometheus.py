"""A throwaway Prometheus on a loopback port, storage in a temp dir, scraping given targets every second."""

from __future__ import annotations

import json
import shutil
import urllib.request
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path

from console.demo.servers.base import ForegroundServer, ServerUnavailable

SCRAPE_INTERVAL = "1s"


class ReadyServer(ForegroundServer):
    """A Prometheus-family binary run in the foreground, ready when `/-/ready` answers 200."""

    binaries: tuple[str, ...] = ()
    package = ""

    def __init__(self, *, port: int | None = None) -> None:
        super().__init__(port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

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
        self._launch(self._argv(binary, tmpdir), tmpdir, log, self._ready, timeout)

    def _ready(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/-/ready", timeout=0.5) as answer:
            return answer.status == 200


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

