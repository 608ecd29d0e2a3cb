"""A throwaway Alertmanager on a loopback port, storage in a temp dir, clustering off."""

from __future__ import annotations

import json
from pathlib import Path

from console.demo.servers.prometheus import ReadyServer


class AlertmanagerServer(ReadyServer):
    """A throwaway Alertmanager with one receiver that notifies nobody, and clustering off."""

    binaries = ("prometheus-alertmanager", "alertmanager")
    package = "prometheus-alertmanager"

    def _argv(self, binary: str, tmpdir: Path) -> list[str]:
        config = {"route": {"receiver": "nobody"}, "receivers": [{"name": "nobody"}]}
        (tmpdir / "alertmanager.yml").write_text(json.dumps(config))
        return [
            binary,
            f"--config.file={tmpdir / 'alertmanager.yml'}",
            f"--storage.path={tmpdir / 'data'}",
            f"--web.listen-address={self.host}:{self.port}",
            "--cluster.listen-address=",
        ]
