"""Run a terminal program under a pseudo-terminal of a given size and watch what it draws (for benchmarks)."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Sequence

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>78]")


class PtyProcess:
    """A child on a pty (stdin, stdout and stderr: Textual draws on stderr); counts every byte it writes."""

    def __init__(self, argv: Sequence[str], *, columns: int = 120, rows: int = 40, env: dict | None = None) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        environment = {
            **os.environ,
            "TERM": "xterm-256color",
            "COLUMNS": str(columns),
            "LINES": str(rows),
            **(env or {}),
        }
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(argv), stdin=slave, stdout=slave, stderr=slave, env=environment, start_new_session=True, close_fds=True
        )
        os.close(slave)
        self.bytes = 0
        self.text = b""

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within `timeout` seconds (keeps a plain-text tail for `wait_for`)."""
        chunks = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                break
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            self.bytes += len(chunk)
        data = b"".join(chunks)
        self.text = (self.text + ANSI.sub(b"", data))[-200_000:]
        return data

    def wait_for(self, *needles: bytes, timeout: float = 10.0) -> float | None:
        """Seconds since start when every needle has appeared in the plain text, or None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(n in self.text for n in needles):
                return time.monotonic() - self.started
            self.read(0.01)
        return None

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def cpu_seconds(self) -> float:
        """utime + stime of the child so far."""
        with open(f"/proc/{self.proc.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.send(b"q")
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(5)
        os.close(self.master)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table."""
    cells = [list(map(str, header)), *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(title)
    for index, row in enumerate(cells):
        print("  ".join(c.rjust(w) if index else c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
