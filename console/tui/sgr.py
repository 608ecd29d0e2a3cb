"""A frame's SGR sequences cut to what changes: the bytes a slow link carries.

Textual writes every segment as `ESC[0m` then the segment's whole style (`ESC[38;5;188;48;5;16m`), so on the
demo's incident 71 % of the bytes sent to an 80x24 terminal were SGR sequences, most of them saying again what
the terminal already had. `shorten(frame)` keeps the style each character is drawn with and sends only the change
from the style the terminal holds: nothing between two segments of one style, `ESC[38;5;247m` where only the
foreground moves. Cursor moves (`ESC[row;colH`) draw nothing, so a style may wait across them; before any other
sequence (an erase paints with the background) and at the frame's end the terminal is brought to the style asked
for. A parameter it does not know is sent as written, and the next change starts from a reset.
`tests/test_sgr.py` draws real frames both ways on a terminal model (pyte) and compares every cell.
"""

from __future__ import annotations

import re
from typing import NamedTuple

TOKEN = re.compile(  # an SGR sequence (its parameters), a cursor move, any other escape
    r"\x1b\[([0-9;]*)m|(\x1b\[[0-9;]*H)|(\x1b(?:\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|.))"
)
CLEARS = {"22": {"1", "2"}, "23": {"3"}, "24": {"4", "21"}, "25": {"5", "6"}, "27": {"7"}, "28": {"8"}, "29": {"9"}}
CLEARS["55"] = {"53"}  # what each "off" parameter takes away
OFF = {attribute: off for off, attributes in CLEARS.items() for attribute in attributes}  # and what takes each away
COLOUR = {"38": "fg", "48": "bg", "58": "ul"}


class Style(NamedTuple):
    """What the terminal draws with: the attributes set and each colour's parameters ("" for the default)."""

    attributes: frozenset[str] = frozenset()
    fg: str = ""
    bg: str = ""
    ul: str = ""

    def params(self) -> list[str]:
        """The parameters that set this style from a reset."""
        return sorted(self.attributes, key=int) + [colour for colour in (self.fg, self.bg, self.ul) if colour]


PLAIN = Style()
UNKNOWN = Style(frozenset({"?"}))  # after a parameter we do not model: the next change starts from a reset


def apply(style: Style, params: str) -> Style:
    """The style after an SGR sequence with these parameters; UNKNOWN for one we do not model."""
    codes = params.split(";") if params else ["0"]
    if style == UNKNOWN and (codes[0].lstrip("0") or "0") != "0":
        return UNKNOWN
    attributes, colours = set(style.attributes), {"fg": style.fg, "bg": style.bg, "ul": style.ul}
    index = 0
    while index < len(codes):
        code = codes[index].lstrip("0") or "0"
        if code == "0":
            attributes, colours = set(), {"fg": "", "bg": "", "ul": ""}
        elif code in OFF:
            attributes.add(code)
        elif code in CLEARS:
            attributes -= CLEARS[code]
        elif code in COLOUR and index + 2 < len(codes) and codes[index + 1] == "5":
            colours[COLOUR[code]] = ";".join(codes[index : index + 3])
            index += 2
        elif code in COLOUR and index + 4 < len(codes) and codes[index + 1] == "2":
            colours[COLOUR[code]] = ";".join(codes[index : index + 5])
            index += 4
        elif code.isdigit() and (30 <= int(code) <= 37 or 90 <= int(code) <= 97):
            colours["fg"] = code
        elif code.isdigit() and (40 <= int(code) <= 47 or 100 <= int(code) <= 107):
            colours["bg"] = code
        elif code in ("39", "49", "59"):
            colours[{"39": "fg", "49": "bg", "59": "ul"}[code]] = ""
        else:
            return UNKNOWN
        index += 1
    return Style(frozenset(attributes), colours["fg"], colours["bg"], colours["ul"])


def change(held: Style, wanted: Style) -> str:
    """The shortest sequence we know that takes the terminal from `held` to `wanted`."""
    from_reset = "\x1b[" + ";".join(["0", *wanted.params()]) + "m" if wanted != PLAIN else "\x1b[0m"
    if held == UNKNOWN:
        return from_reset
    params: list[str] = []
    kept = set(held.attributes)
    for attribute in sorted(held.attributes - wanted.attributes, key=int):
        if OFF[attribute] not in params:
            params.append(OFF[attribute])
            kept -= CLEARS[OFF[attribute]]
    params += sorted(wanted.attributes - kept, key=int)
    for name, default in (("fg", "39"), ("bg", "49"), ("ul", "59")):
        if getattr(held, name) != getattr(wanted, name):
            params.append(getattr(wanted, name) or default)
    delta = "\x1b[" + ";".join(params) + "m"
    return delta if len(delta) < len(from_reset) else from_reset


def shorten(frame: str, held: Style = PLAIN) -> tuple[str, Style]:
    """The frame with each style change sent once, as the change from what the terminal holds (`held`, see the
    module); and what the terminal holds after it, for the next frame."""
    if "\x1b[" not in frame:
        return frame, held
    out: list[str] = []
    wanted = held
    position = 0
    for match in TOKEN.finditer(frame):
        text = frame[position : match.start()]
        position = match.end()
        if text:
            if held != wanted:
                out.append(change(held, wanted))
                held = wanted
            out.append(text)
        params, move, other = match.groups()
        if params is not None:
            asked = apply(wanted, params)
            if asked == UNKNOWN:  # sent as written, from the style asked for before it
                if held != wanted:
                    out.append(change(held, wanted))
                out.append(match.group(0))
                held = UNKNOWN
            wanted = asked
        elif move is not None:
            out.append(move)  # a cursor move draws nothing: the style may wait across it
        else:
            if held != wanted:  # an erase paints with the background, a mode may read the style: bring it
                out.append(change(held, wanted))
                held = wanted
            out.append(other)
    text = frame[position:]
    if held != wanted:
        out.append(change(held, wanted))
    out.append(text)
    return "".join(out), wanted
