"""What a followed log costs a slow link: the console on a real 80x24 pty, a log appended line by line, and the bytes
it writes read on a terminal model (pyte), row by row. benchmarks/bytes.py measures the demo's incident the same way."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pyte

from tests.helpers import cli_on_pty, config_file, read_until

MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")
SGR = re.compile(rb"\x1b\[[0-9;]*m")
PARTIAL_BLOCKS = "▏▎▍▌▋▊▉▁▂▃▄▅▆▇"  # a scrollbar's thumb, cut to the cell


def screen_of(written: bytes) -> list[str]:
    screen = pyte.Screen(80, 24)
    pyte.ByteStream(screen).feed(written)
    return screen.display


def test_a_followed_log_repaints_its_lines_not_its_border_nor_an_empty_row(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    config = config_file(tmp_path, f'[[logs]]\nname = "app"\npath = "{log}"\n')
    process, master = cli_on_pty("--config", config)
    try:
        first = read_until(master, b"FOLLOW")
        wide = "x" * 70  # wider than the view: Textual would give it a horizontal scrollbar
        with log.open("a") as out:  # more lines than the view has rows
            out.writelines(f"2026-12-07T10:00:{n:02d}Z INFO line {n} {wide}\n" for n in range(30))
        first += read_until(master, b"line 29 ")
        frames = b""
        for n in range(30, 42):
            with log.open("a") as out:
                out.write(f"2026-12-07T10:00:{n:02d}Z INFO line {n} {wide}\n")
            frames += read_until(master, f"line {n} ".encode())
        shown = screen_of(first + frames)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
        os.close(master)

    bottom = next(y for y, row in enumerate(shown) if "FOLLOW" in row)
    left = shown[bottom].index("╰")
    top = max(y for y in range(bottom) if shown[y][left] == "╭")
    box = [row[left : shown[bottom].rindex("╯") + 1] for row in shown[top : bottom + 1]]
    assert "line 41 " in box[-2], box  # the last line sits on the box's last row: no empty row under it
    assert not any(glyph in row for row in box[1:-1] for glyph in PARTIAL_BLOCKS[:7]), box
    rows_written = {int(m.group(1)) - 1 for m in MOVE.finditer(frames)}
    assert top not in rows_written  # the border's top never changes: never sent again
    sgr = sum(len(m.group()) for m in SGR.finditer(frames))
    assert sgr < 0.45 * len(frames), (sgr, len(frames))  # the changes of style: 0.36; 0.7 when each segment had one


def test_f_pauses_a_followed_log_by_redrawing_the_end_of_its_bottom_border_alone(tmp_path: Path) -> None:
    """The lines on screen stay as they are: the key's frame carries the state word, not the view's rows again."""
    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-12-07T10:00:{n:02d}Z INFO line {n}\n" for n in range(30)))
    config = config_file(tmp_path, f'[[logs]]\nname = "app"\npath = "{log}"\n')
    process, master = cli_on_pty("--config", config)
    try:
        first = read_until(master, b"line 29 ")
        os.write(master, b"f")
        frame = read_until(master, b"PAUSED")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
        os.close(master)

    shown = screen_of(first)
    bottom = next(y for y, row in enumerate(shown) if "FOLLOW" in row)
    top = max(y for y in range(bottom) if shown[y][shown[bottom].index("╰")] == "╭")
    assert "PAUSED" in screen_of(first + frame)[bottom]
    text = SGR.sub(b"", frame)
    drawn = {int(m.group(1)) - 1 for m in MOVE.finditer(text) if text[m.end() : m.end() + 1] not in (b"", b"\x1b")}
    assert bottom in drawn and not drawn & set(range(top, bottom)), (top, bottom, frame)  # (a move to park draws none)
