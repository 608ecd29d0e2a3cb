"""An action's full output, kept in a 0600 file beside the journal (`<journal dir>/outputs/<seq>.log`).

The runner writes every (redacted) output line here and journals the file's sha256 with the outcome, so the tail in
the journal can be checked against the whole.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


class OutputFile:
    """Made on the first line; `close()` says where it is and its sha256 (None when there was no output)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._hash = hashlib.sha256()
        self._bytes = 0
        self.error: str | None = None

    def write(self, line: str) -> None:
        if self.error is not None:
            return
        data = (line + "\n").encode()
        try:
            if self._fd is None:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                os.fchmod(self._fd, 0o600)
            os.write(self._fd, data)
        except OSError as exc:  # the output still streams and its tail is still journaled
            self.error = f"output file {self.path}: {exc.strerror or exc}"
            return
        self._hash.update(data)
        self._bytes += len(data)

    def close(self) -> dict | None:
        """`{file, sha256, bytes}` for the outcome's journal entry, or `{error}`, or None when nothing was written."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.error is not None:
            return {"error": self.error}
        if not self._bytes:
            return None
        name = f"{self.path.parent.name}/{self.path.name}"
        return {"file": name, "sha256": self._hash.hexdigest(), "bytes": self._bytes}
