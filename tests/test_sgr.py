"""console/tui/sgr.py: a frame with its style changes cut to the differences draws exactly the same cells.

Each case is drawn twice on a terminal model (pyte): as Textual wrote it and as the driver sends it.
"""

from __future__ import annotations

from pathlib import Path

import pyte
import pytest

from console.tui.sgr import PLAIN, UNKNOWN, Style, apply, shorten
from tests.helpers import terminal_output
from tests.test_dashboard_snapshots import feed_every_pane, make_full_app

ESC = "\x1b["


def drawn(*frames: str, columns: int = 80, rows: int = 24) -> list[list[tuple]]:
    """Every cell of the screen after the frames: its character and everything it is drawn with."""
    screen = pyte.Screen(columns, rows)
    stream = pyte.Stream(screen)
    for frame in frames:
        stream.feed(frame)
    return [[tuple(screen.buffer[y][x]) for x in range(columns)] for y in range(rows)]


def sent(*frames: str) -> list[str]:
    """The frames as the driver writes them, the style the terminal holds carried from one to the next."""
    held, out = PLAIN, []
    for frame in frames:
        shortened, held = shorten(frame, held)
        out.append(shortened)
    return out


async def test_a_full_dashboard_frame_draws_the_same_cells_in_fewer_bytes(tmp_path: Path) -> None:
    app = make_full_app(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await feed_every_pane(pilot)
        frame = terminal_output(app)
    (short,) = sent(frame)
    assert drawn(short, columns=160, rows=50) == drawn(frame, columns=160, rows=50)
    assert len(short) < 0.75 * len(frame), (len(short), len(frame))  # 16 colours under Pilot: 0.72


@pytest.mark.parametrize(
    "frames",
    [
        # one style over several segments and a cursor move: said once
        [f"{ESC}0m{ESC}1;38;5;203;48;5;16mab{ESC}0m{ESC}1;38;5;203;48;5;16mcd{ESC}0m{ESC}3;1H{ESC}1;38;5;203;48;5;16mx{ESC}0m"],
        # attributes taken away one by one (bold and dim share their off code), colours back to the default
        [f"{ESC}1;2;3;4;7;9;38;5;1;48;2;1;2;3mA{ESC}0m{ESC}2;3mB{ESC}0m{ESC}7;31mC{ESC}0m{ESC}41mD{ESC}0mE"],
        # an erase paints with the background: the style asked for before it is on the terminal when it comes
        [f"{ESC}48;5;21m{ESC}2J{ESC}0m{ESC}5;5Hx{ESC}44m{ESC}K{ESC}0m"],
        # a parameter we do not model (73, superscript) goes as written, and the next change from a reset
        [f"{ESC}1mA{ESC}0m{ESC}6;73mB{ESC}1mC{ESC}0m{ESC}1mD{ESC}0m", f"{ESC}38;5;9mE{ESC}0m"],
        # a frame that ends in a style: the next one starts from it
        [f"{ESC}1;38;5;2mA", f"B{ESC}0mC{ESC}38;5;2mD"],
        # no escape at all, and escapes with no text after them
        ["plain text", f"{ESC}1;31m{ESC}0m{ESC}2;2H", "more"],
    ],
)
def test_the_shortened_frames_draw_what_textual_asked_for(frames: list[str]) -> None:
    assert drawn(*sent(*frames)) == drawn(*frames)


def test_a_repeated_style_costs_nothing_and_a_new_colour_only_its_own_parameters() -> None:
    segment = f"{ESC}0m{ESC}38;5;247;48;5;16m"
    (short,) = sent(f"{segment}a{segment}b{ESC}0m{ESC}38;5;188;48;5;16mc{ESC}0m")
    assert short == f"{ESC}38;5;247;48;5;16mab{ESC}38;5;188mc{ESC}0m"


def test_styles_are_read_as_the_terminal_reads_them() -> None:
    assert apply(PLAIN, "1;38;5;203;48;5;16") == Style(frozenset({"1"}), "38;5;203", "48;5;16")
    assert apply(apply(PLAIN, "1;2;7"), "22") == Style(frozenset({"7"}))
    assert apply(PLAIN, "") == PLAIN
    assert apply(PLAIN, "38;5") == UNKNOWN  # cut short: not modelled, sent as written
    assert apply(UNKNOWN, "1") == UNKNOWN
    assert apply(UNKNOWN, "0;1") == Style(frozenset({"1"}))
