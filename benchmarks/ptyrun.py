"""Run a terminal program under a pseudo-terminal of a given size and watch what it draws (for benchmarks)."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Sequence

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>78]")
CURSOR_QUERY, CURSOR_REPLY = b"\x1b[6n", b"\x1b[1;1R"
OVERLAP = 4096


class PtyProcess:
    """A child on a pty (stdin, stdout and stderr: Textual draws on stderr).

    A thread drains its output so it never blocks, counts the bytes, keeps them with their arrival times
    (unless `keep=False`), and answers cursor position requests as a terminal would.
    """

    def __init__(
        self, argv: Sequence[str], *, columns: int = 120, rows: int = 40, env: dict | None = None, keep: bool = True
    ) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        environment = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**environment, **(env or {})},
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.keep = keep
        self.bytes = 0
        self.output = bytearray()
        self.arrivals: list[tuple[int, float]] = []  # (output length after a read, monotonic time)
        self.lock = threading.Lock()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.monotonic()
            if CURSOR_QUERY in data:
                os.write(self.master, CURSOR_REPLY)
            with self.lock:
                self.bytes += len(data)
                if self.keep:
                    self.output += data
                    self.arrivals.append((len(self.output), now))

    def mark(self) -> int:
        """An offset into the output: `arrived` looks only at what comes after it."""
        with self.lock:
            return len(self.output)

    def arrived(self, needle: bytes, since: int = 0, timeout: float = 10.0) -> float | None:
        """Monotonic time at which `needle` had fully arrived after offset `since`, or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = self.output.find(needle, max(0, since - len(needle)))
                if found >= 0:
                    end = found + len(needle)
                    return next(t for length, t in self.arrivals if length >= end)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.001)

    def wait_for(self, *needles: bytes, timeout: float = 10.0) -> float | None:
        """Seconds since start when every needle has appeared in the drawn text (escapes removed), or None.

        Only output that arrived since the last look is scanned (with an overlap for split sequences), so
        waiting costs little CPU beside the program being measured.
        """
        deadline = time.monotonic() + timeout
        missing, scanned = set(needles), 0
        while time.monotonic() < deadline:
            with self.lock:
                window = bytes(self.output[max(0, scanned - OVERLAP):])
                scanned = len(self.output)
            text = ANSI.sub(b"", window)
            missing = {n for n in missing if n not in text}
            if not missing:
                return time.monotonic() - self.started
            time.sleep(0.02)
        return None

    def send(self, keys: bytes) -> float:
        now = time.monotonic()
        os.write(self.master, keys)
        return now

    def cpu_seconds(self) -> float:
        """utime + stime of the child so far."""
        with open(f"/proc/{self.proc.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> tuple[float, float]:
        """(current, peak) resident memory in MB."""
        with open(f"/proc/{self.proc.pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def stop(self, quit_keys: bytes = b"q") -> None:
        """Ask it to quit with `quit_keys`, then SIGTERM and SIGKILL its process group if it does not."""
        if self.proc.poll() is None and quit_keys:
            self.send(quit_keys)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                continue
        os.close(self.master)


PACKAGES = ("console", "actions", "widgets", "themes")


def compile_tree(tree: os.PathLike | str) -> None:
    """Write the bytecode of a checkout's packages, as `pip install` does: a start timed on a tree without it
    compiles every module from source (PYTHONDONTWRITEBYTECODE=1, as in this project's sessions, keeps it so),
    about 0.2 s a start that an installed console never pays and a bare Textual app, whose bytecode pip wrote,
    does not either."""
    folders = [os.path.join(tree, package) for package in PACKAGES]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True, stdout=subprocess.DEVNULL)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table."""
    cells = [list(map(str, header)), *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(title)
    for index, row in enumerate(cells):
        print("  ".join(c.rjust(w) if index else c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print()  # a table ends at a blank line (benchmarks/all.py reads them back)
