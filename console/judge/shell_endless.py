"""What never ends on its own, beyond a command's row (`follows`, `endless`): a loop with no way out, and what
`timeout` bounds.

A loop never ends when its condition cannot change (`while true`, `while :`, `while ((1))`, `until false`,
`until ((0))`, a `for ((...))` with no condition or a constant one) and nothing in its body can leave it. Judged
conservatively, as a way out: a `break` that leaves this loop (`break` in it, `break N` in a loop N-1 levels
inside it, or a `break` whose N is only known when it runs), any `exit` or `return`, and a call to a function of
the script (which may hold one), wherever they stand in the body, whether or not the branch they are on can run.
Not a way out: what runs in a shell of its own (`( )`, `$( )`, `<( )`, a part of a pipeline) or is only defined
there (a function), and errexit (a failing command stops the step, which is a failure, not an end). The loop is
then judged like `tail -f`: mode follow (its output followed until the operator stops it), and the commands after
it are cut off (`Found.endless`).

`timeout DURATION CMD` ends what it runs: a command or loop that would never end is bounded (not endless), and
the mode's reason says for how long. A duration that cannot be read (known only when it runs, or not GNU's
`N[smhd]`), `0` (no timeout) or a signal that does not end a process (`-s CONT`...) without `-k` keep it endless.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from typing import Any

from console.judge.shell_values import node_text
from console.judge.shell_words import MODE_WHY, Context, Found, Mode, Word, parse, shown, split
from console.models import Risk, format_duration

FOREVER = {"while": frozenset({"true", ":"}), "until": frozenset({"false"})}
# Where an `exit` or `break` runs in a shell of its own, or is only defined: it does not leave the loop
APART = frozenset({"subshell", "command_substitution", "process_substitution", "pipeline", "function_definition"})
LOOPS = frozenset({"while_statement", "for_statement", "c_style_for_statement"})  # `select` is a for_statement
NO_WAY_OUT = "loops with nothing in it that leaves the loop (`break`, `exit`, `return`): it never ends"
TIMEOUT_VALUES = split("-s -k --signal --kill-after")
DURATION = re.compile(r"(?P<number>[0-9]*\.?[0-9]+)(?P<unit>[smhd]?)")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
BOUNDED: dict[Mode, str] = {**MODE_WHY, "follow": "follows its output"}  # what a bounded endless command does
# Signals whose default action does not end a process: sent alone, `timeout` bounds nothing
HARMLESS = split("0 CHLD CLD CONT URG WINCH STOP TSTP TTIN TTOU 17 18 19 20 21 22 23 28")


def endless_loop(node: Any, functions: set[str]) -> Found | None:
    """A finding for a loop that never ends (mode follow, `endless`), or None for a loop that may."""
    body = node.child_by_field_name("body")
    if body is None or not _forever(node) or _way_out(body, 1, functions):
        return None
    head = " ".join(node_text(node)[: body.start_byte - node.start_byte].split()).rstrip(";").strip()
    command = shown([Word.of(head)])
    return Found(Risk.READ, f"read: `{command}` {NO_WAY_OUT}", "follow", command, endless=True, why=NO_WAY_OUT)


def _forever(node: Any) -> bool:
    """Whether the loop's condition is one that never changes: true for `while`, false for `until`."""
    if node.type == "c_style_for_statement":
        conditions = [c for c in node.children_by_field_name("condition") if c.is_named]
        return not conditions or (len(conditions) == 1 and _constant(conditions[0]) not in (None, 0))
    if node.type != "while_statement" or not node.children:
        return False
    keyword = node.children[0].type
    conditions = [c for c in node.children_by_field_name("condition") if c.is_named]  # not the `;` after it
    if keyword not in FOREVER or len(conditions) != 1:
        return False
    condition = conditions[0]
    if condition.type == "command":
        name = condition.child_by_field_name("name")
        return name is not None and node_text(name) in FOREVER[keyword]
    if condition.type == "compound_statement" and condition.children and condition.children[0].type == "((":
        inner = condition.named_children
        value = _constant(inner[0]) if len(inner) == 1 else None
        return value is not None and (value != 0) == (keyword == "while")
    return False


def _constant(node: Any) -> int | None:
    """The value of an arithmetic condition written as a plain whole number, else None."""
    text = node_text(node).strip()
    return int(text) if node.type == "number" and text.isdigit() else None


def _way_out(node: Any, depth: int, functions: set[str]) -> bool:
    """Whether something under `node` (`depth` loops inside the judged one, itself 1) may leave the judged loop."""
    if node.type in APART:
        return False
    if node.type == "command":
        name = node.child_by_field_name("name")
        text = node_text(name) if name is not None else ""
        if text in functions or text in ("exit", "return"):
            return True
        if text == "break":
            levels = node.children_by_field_name("argument")
            level = node_text(levels[0]) if levels else "1"
            return not level.isdigit() or int(level) >= depth
    inner = depth + 1 if node.type in LOOPS else depth
    return any(_way_out(child, inner, functions) for child in node.named_children)


def timeout(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    """`timeout [-s SIG] [-k KILL] DURATION CMD`: CMD judged, and bounded when the duration can be read."""
    args = parse(words[at:], TIMEOUT_VALUES, stop_at_positional=True)
    rest = list(words[at + args.rest :])
    if len(rest) < 2:
        return []
    results = ctx.command(rest[1:])
    seconds = seconds_of(rest[0])
    signal = (args.value({"-s", "--signal"}) or Word.of("TERM")).text or "0"
    kill = args.value({"-k", "--kill-after"})
    ends = signal.upper().removeprefix("SIG") not in HARMLESS or bool(kill and seconds_of(kill))
    if not seconds or not ends:
        return results
    bound = f"; `timeout` ends it after {format_duration(seconds)}"
    command = shown(words)
    return [
        dataclasses.replace(f, endless=False, command=command, why=BOUNDED[f.mode] + bound) if f.endless else f
        for f in results
    ]


def seconds_of(word: Word) -> float | None:
    """A GNU `timeout` duration in seconds (`60`, `1.5m`, `5m`, `2h`, `1d`); None when it cannot be read or is 0
    (no timeout)."""
    match = DURATION.fullmatch(word.text or "")
    if match is None:
        return None
    seconds = float(match["number"]) * UNITS[match["unit"]]
    return seconds if seconds > 0 and math.isfinite(seconds) else None
