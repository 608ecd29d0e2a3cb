"""A journal's lines on a descriptor, by byte offset: backwards from the end, forwards from a line start, and the line
holding a seq found by bisection (lines are in seq order). What reads the journal's past (`horizon`) and what cuts it
(`archive`) read through these, so neither scans the whole file to find one place in it. Lines end at `\\n` only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

CHUNK = 1 << 16  # what a walk over many lines reads at a time
STEP = 1 << 13  # what a look at one line reads at a time (the last line before an append, a bisection probe)


def line_start(fd: int, end: int) -> int:
    """Offset just after the last newline before `end` (0 if none), reading backwards in chunks."""
    pos = end
    while pos > 0:
        step = min(STEP, pos)
        pos -= step
        newline = os.pread(fd, step, pos).rfind(b"\n")
        if newline != -1:
            return pos + newline + 1
    return 0


def line_end(fd: int, size: int) -> int | None:
    """Offset of the first newline, reading forwards in chunks; None when there is none."""
    pos = 0
    while pos < size:
        chunk = os.pread(fd, min(CHUNK, size - pos), pos)
        newline = chunk.find(b"\n")
        if newline != -1:
            return pos + newline
        pos += len(chunk)
    return None


def backwards(fd: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of every line before `end` (just after a newline), the last first, read in chunks from the end."""
    if end <= 0:
        return
    pos, carry = end - 1, b""  # the last newline ends the last line; it is no part of it
    while True:
        step = min(CHUNK, pos)
        pos -= step
        buf = os.pread(fd, step, pos) + carry
        if pos > 0:
            cut = buf.find(b"\n")
            if cut == -1:  # one line longer than the chunk: read further back
                carry = buf
                continue
            carry, body, base = buf[:cut], buf[cut + 1 :], pos + cut + 1
        else:
            carry, body, base = b"", buf, 0
        lines = body.split(b"\n")
        offsets = [base]
        for line in lines[:-1]:
            offsets.append(offsets[-1] + len(line) + 1)
        yield from zip(reversed(offsets), reversed(lines), strict=True)
        if pos == 0:
            return


def forwards(fd: int, start: int, end: int, chunk_size: int = CHUNK) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of every complete line from `start` (a line start) up to `end`, read in chunks."""
    pos, carry = start, b""
    while pos < end:
        chunk = os.pread(fd, min(chunk_size, end - pos), pos)
        if not chunk:
            return
        buf, base = carry + chunk, pos - len(carry)
        pos += len(chunk)
        lines = buf.split(b"\n")
        carry = lines.pop()
        for line in lines:
            yield base, line
            base += len(line) + 1


def count_lines(fd: int, end: int) -> int:
    """How many newlines there are before `end`."""
    return sum(os.pread(fd, min(CHUNK, end - pos), pos).count(b"\n") for pos in range(0, end, CHUNK))


def read_range(fd: int, start: int, end: int) -> bytes:
    """The bytes from `start` to `end` (fewer if the file is shorter)."""
    parts, pos = [], start
    while pos < end:
        chunk = os.pread(fd, end - pos, pos)
        if not chunk:
            break
        parts.append(chunk)
        pos += len(chunk)
    return b"".join(parts)


def boundary(fd: int, size: int) -> int:
    """Where the complete lines end: `size` when the file ends with a newline, else the start of its torn tail."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    return line_start(fd, size)


def seq_of(line: bytes) -> int | None:
    """The line's `seq`, or None when the line is no JSON object with an integer seq."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    seq = entry.get("seq") if isinstance(entry, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def find_seq(fd: int, seq: int, end: int, lo: int = 0) -> int:
    """Offset of the first line from `lo` on whose seq is `seq` or more (`end` when there is none): bisection over
    the bytes, then a short walk. Lines that are no entry are stepped over."""
    hi = end
    while hi - lo > STEP:
        probe = None  # the first entry at or after the middle: (offset, offset after it, seq)
        for at, line in forwards(fd, line_start(fd, (lo + hi) // 2), hi, STEP):
            if (n := seq_of(line)) is not None:
                probe = (at, at + len(line) + 1, n)
                break
        if probe is None:
            break
        if probe[2] < seq:
            lo = probe[1]
        else:
            hi = probe[0]
    return next((at for at, line in forwards(fd, lo, end, STEP) if (seq_of(line) or 0) >= seq), end)
