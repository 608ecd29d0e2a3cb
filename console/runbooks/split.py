"""A shell script that lists separate things becomes separate parts: alternatives, numbered phases, a list of checks.

A script (a block without prompts) is cut before a comment line that stands at the top level: outside quotes,
heredocs, `$(...)`, subshells, `if`/`case`/loops/functions and `{ }` groups, and not after a line continued with
`\\`, `|`, `&&` or `||`. It is cut there when

- the comment offers an alternative (`# Or …`, `# Option B: …`, `# Alternatively …`), or
- at least two such comments number phases (`# 1. …`, `# 2) …`, `# Step 1: …`), or
- the script is a list of separate checks: it starts with a comment, and at least two comments that follow a
  blank line (or open the script) each head a part.

It stays whole when a part before the last changes what the later parts would run with (`cd`, `export`, `source`,
`set`, `alias`, `trap`, a function, or a variable a later part reads), when its nesting does not balance, and when
it starts with `#!`. Each part is titled by its first comment line, which is left out of its text.
"""

from __future__ import annotations

import re

from console.judge.placeholders import ASSIGNED, Regions, shell_regions
from console.runbooks.session import Command

ALTERNATIVE = re.compile(r"#+\s*(?:or|alternatively|option\s+\w+)\b", re.I)
NUMBERED = re.compile(r"#+\s*(?:(?:step|phase)\s+)?\d+\s*[.):-](?:\s|$)", re.I)
_KEYWORD = re.compile(r"(?<![^\s;&|()])(if|fi|case|esac|do|done|\{|\})(?![^\s;&|()])")
_OPENERS = ("if", "case", "do", "{")
_AFTER = ("then", "do", "else", "elif", "!")
_STATEFUL = re.compile(
    r"(?:^\s*|[;&|({]\s*)(?:cd|pushd|popd|source|\.|set|shopt|alias|trap|umask|ulimit|exec|export|declare|typeset)"
    r"(?=\s|;|$)|^\s*(?:function\s+[\w-]+|[\w-]+\s*\(\s*\))",
    re.M,
)
_CONTINUED = ("|", "&&", "||")


def split_script(text: str) -> list[Command]:
    """The parts of a script, each with its title and 0-based line; the whole script when it does not split."""
    whole = [Command(text)]
    lines = text.split("\n")
    comment = [line.lstrip().startswith("#") for line in lines]
    if not any(comment) or text.lstrip().startswith("#!"):
        return whole
    regions = shell_regions(text)
    starts = _starts(text, lines, regions)
    if starts is None:
        return whole
    heads = [i for i in starts if comment[i] and (i == 0 or not comment[i - 1])]
    cuts = _cuts(lines, heads)
    parts = [p for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True) if (p := _part(lines, a, b))]
    if len(parts) < 2 or not stand_alone(parts):
        return whole
    return parts


def _cuts(lines: list[str], heads: list[int]) -> list[int]:
    """Where the script is cut: before alternatives and numbered phases, else before each item of a list."""
    alternatives = [i for i in heads if ALTERNATIVE.match(lines[i].lstrip())]
    numbered = [i for i in heads if NUMBERED.match(lines[i].lstrip())]
    cuts = sorted({*alternatives, *(numbered if len(numbered) >= 2 else ())})
    if not cuts:
        first = next(i for i, line in enumerate(lines) if line.strip())
        listed = [i for i in heads if i == first or (i > first and not lines[i - 1].strip())]
        cuts = listed if len(listed) >= 2 and listed[0] == first else []
    return [c for c in cuts if c > 0]


def _part(lines: list[str], start: int, end: int) -> Command | None:
    """Lines start..end as a part: titled by its first line when that is a comment; None when it holds no code."""
    chunk = [(i, line) for i, line in enumerate(lines[start:end], start) if line.strip()]
    title = ""
    if chunk and chunk[0][1].lstrip().startswith("#"):
        title = chunk.pop(0)[1].lstrip().lstrip("#").strip()
    if not any(not line.lstrip().startswith("#") for _, line in chunk):
        return None
    first, last = chunk[0][0], chunk[-1][0]
    return Command("\n".join(lines[first : last + 1]), first, title=title)


def _starts(text: str, lines: list[str], regions: Regions) -> list[int] | None:
    """The lines a part may start at (the first, and each after a top-level line end); None when nesting is off."""
    starts, depth, pos = [0], 0, 0
    for index, line in enumerate(lines[:-1]):
        for m in _KEYWORD.finditer(line):
            word, before = m.group(1), line[: m.start()].split()
            if regions.at(pos + m.start()) != "plain":
                continue
            if word != "{" and before and before[-1] not in _AFTER and before[-1][-1] not in ";&|(){}":
                continue  # not in command position: `echo done`
            depth += 1 if word in _OPENERS else -1
            if depth < 0:
                return None
        pos += len(line) + 1
        code = "" if line.lstrip().startswith("#") else line.rstrip()
        if depth == 0 and pos - 1 in regions.breaks and not code.endswith(_CONTINUED):
            starts.append(index + 1)
    return starts


def stand_alone(parts: list[Command]) -> bool:
    """Whether no part changes the shell for the parts after it (directory, options, functions, variables)."""
    for index, part in enumerate(parts[:-1]):
        code = "\n".join(line for line in part.text.split("\n") if not line.lstrip().startswith("#"))
        if _STATEFUL.search(code):
            return False
        later = "\n".join(p.text for p in parts[index + 1 :])
        for m in ASSIGNED.finditer(code):
            name = m.group(1) or m.group(2)
            if re.search(r"\$\{?" + name + r"\b", later):
                return False
    return True


def split_sql(text: str) -> list[Command]:
    """The parts of an SQL block (without psql prompts) that lists separate statements, each under its own `--`
    comment: cut before a comment that starts a line after a statement has ended (its `;`), when at least two such
    comments head statements; each part is titled by its comment. A statement is never cut; the whole block when it
    does not split."""
    from console.judge.placeholders import sql_regions

    whole = [Command(text)]
    lines = text.split("\n")
    regions = sql_regions(text)
    heads: list[int] = []
    ended, pos = True, 0  # whether the code so far ends a statement
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("--") and ended and regions.at(pos + line.index("--")) == "comment":
            if not heads or heads[-1] != index - 1:  # a run of comment lines heads one part
                heads.append(index)
        elif stripped and not stripped.startswith("--"):
            code_end = pos + len(line.rstrip())
            ended = stripped.endswith(";") and regions.at(code_end - 1) == "plain"
        pos += len(line) + 1
    if len(heads) < 2:
        return whole
    cuts = [i for i in heads if i > 0]
    parts = [p for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True) if (p := _sql_part(lines, a, b))]
    return parts if len(parts) >= 2 else whole


def _sql_part(lines: list[str], start: int, end: int) -> Command | None:
    chunk = [(i, line) for i, line in enumerate(lines[start:end], start) if line.strip()]
    title = ""
    if chunk and chunk[0][1].lstrip().startswith("--"):
        title = chunk.pop(0)[1].lstrip().lstrip("-").strip()
    if not any(not line.lstrip().startswith("--") for _, line in chunk):
        return None
    first, last = chunk[0][0], chunk[-1][0]
    return Command("\n".join(lines[first : last + 1]), first, title=title)
