"""Placeholders in commands become typed parameters; values reach a shell only as environment variables.

Placeholders: `<my-namespace>`, `<ENV>`, `{{var}}`, `YOUR_X_HERE`, and in shell steps `$VAR` / `${VAR}` that the
environment does not set and the block does not assign. Names are normalised (lowercase, `-` to `_`). In a shell
script each placeholder is rewritten to a quoted `${RB_NAME}` fitting where it stands (plain, double or single
quotes), so a value is never read as shell text. Placeholders in comments are not parameters.
"""

from __future__ import annotations

import bisect
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from console.redact import make_safe


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PLACEHOLDER = re.compile(
    r"<(?P<angle>[A-Za-z][\w-]*)>|\{\{\s*(?P<mustache>[A-Za-z_][\w.-]*)\s*\}\}|\bYOUR_(?P<your>[A-Z0-9_]+?)_HERE\b"
    r"|\$\{(?P<brace>[A-Za-z_]\w*)\}|\$(?P<dollar>[A-Za-z_]\w*)"
)
ASSIGNED = re.compile(
    r"(?:^|[\s;&|(])(?:(?:export|local|readonly|declare)\s+)?([A-Za-z_]\w*)=|\b(?:for|read)\s+([A-Za-z_]\w*)"
)
SHELL_VARIABLES = _words(
    """RANDOM SECONDS LINENO PWD OLDPWD HOSTNAME UID EUID PPID BASHPID REPLY IFS BASH_SOURCE OPTARG OPTIND"""
)
ENV_PREFIX = "RB_"
_PLAIN = re.compile(r"\\.|\$\(|\$'|[`'\"()#\n]|<<(-?)[ \t]*(['\"]?)([A-Za-z_]\w*)\2", re.S)
_DOUBLE = re.compile(r'\\.|\$\(|[`"]', re.S)
_SINGLE = re.compile(r"'")
_ANSI = re.compile(r"\\.|'", re.S)
_SQL = re.compile(r"\b[eE]'|'|\"|--|/\*|\$\w*\$")
_ESTRING_END = re.compile(r"\\.|'", re.S)
_SIMPLE = re.compile(r"[\w@%+=:,./-]+")


@dataclass(frozen=True)
class Param:
    """A parameter: its normalised name and the placeholder texts it stands for."""

    name: str
    placeholders: tuple[str, ...]

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def normalise(name: str) -> str:
    name = name.lower().replace("-", "_").replace(".", "_")
    return name if name[0].isalpha() else "p_" + name


def _name(match: re.Match[str]) -> str:
    return normalise(next(g for g in match.groups() if g))


class Regions:
    """Where each part of a text stands: plain, double, single, comment or literal (a quoted heredoc)."""

    def __init__(self, starts: list[int], kinds: list[str]) -> None:
        self.starts, self.kinds = starts, kinds

    def at(self, pos: int) -> str:
        return self.kinds[bisect.bisect_right(self.starts, pos) - 1]


def shell_regions(text: str) -> Regions:
    """A shell lexer just deep enough for quoting: quotes, `$(...)`, backticks, comments and heredoc bodies."""
    starts, kinds = [0], ["plain"]
    stack = ["plain"]
    pending: list[tuple[bool, bool, str]] = []
    pos = 0

    def mark(at: int, kind: str) -> None:
        starts.append(at)
        kinds.append(kind)

    while pos < len(text):
        top = stack[-1]
        pattern = {"double": _DOUBLE, "single": _SINGLE, "ansi": _ANSI}.get(top, _PLAIN)
        m = pattern.search(text, pos)
        if m is None:
            break
        token, pos = m.group(), m.end()
        if token.startswith("\\"):
            continue
        closing = {"single": "'", "ansi": "'", "double": '"', "backtick": "`"}.get(top)
        if token == closing:
            stack.pop()
        elif token in ("'", '"', "$'"):
            stack.append({"'": "single", '"': "double", "$'": "ansi"}[token])
        elif token in ("$(", "(", "`"):
            stack.append("backtick" if token == "`" else "plain")
        elif token == ")":
            if len(stack) > 1:
                stack.pop()
        elif token == "#":
            if m.start() == 0 or text[m.start() - 1] in " \t\n;&|(":
                mark(m.start(), "comment")
                pos = text.find("\n", pos)
                pos = len(text) if pos < 0 else pos
        elif token.startswith("<<"):
            pending.append((bool(m.group(1)), bool(m.group(2)), m.group(3)))
            continue
        elif token == "\n" and pending:
            for dash, quoted, delimiter in pending:
                mark(pos, "literal" if quoted else "double")
                end = re.compile(r"^" + ("\t*" if dash else "") + re.escape(delimiter) + r"$", re.M).search(text, pos)
                pos = end.end() if end else len(text)
            pending = []
        else:
            continue
        mark(pos, stack[-1] if stack[-1] != "backtick" else "plain")
    return Regions(starts, kinds)


def sql_regions(text: str) -> Regions:
    """Single-quoted literals, double-quoted identifiers, comments and dollar quotes of an SQL text."""
    starts, kinds = [0], ["plain"]
    pos = 0
    while (m := _SQL.search(text, pos)) is not None:
        token = m.group()
        close = {"'": "'", '"': '"', "--": "\n", "/*": "*/"}.get(token, token)
        kind = {"'": "single", '"': "double", "--": "comment", "/*": "comment"}.get(token, "literal")
        if token.lower() == "e'":
            kind, end = "estring", _estring_end(text, m.end())
        else:
            end = text.find(close, m.end())
            while end >= 0 and close in "'\"" and text.startswith(close * 2, end):
                end = text.find(close, end + 2)
            end = len(text) if end < 0 else end + len(close)
        starts += [m.start(), end]
        kinds += [kind, "plain"]
        pos = end
    return Regions(starts, kinds)


def _estring_end(text: str, pos: int) -> int:
    while (m := _ESTRING_END.search(text, pos)) is not None:
        pos = m.end()
        if m.group() == "'" and not text.startswith("'", pos):
            return pos
        pos += m.group() == "'"
    return len(text)


def find_params(text: str, env: Mapping[str, str], *, shell: bool) -> list[Param]:
    """The parameters of a command, in order of first appearance."""
    matches = list(PLACEHOLDER.finditer(text))
    if not matches:
        return []
    regions = shell_regions(text) if shell else sql_regions(text)
    assigned = {a or b for a, b in ASSIGNED.findall(text)} if shell else set()
    found: dict[str, list[str]] = {}
    for m in matches:
        where = regions.at(m.start())
        variable = m.group("brace") or m.group("dollar")
        if where in ("comment", "literal") or (variable and not _is_param(variable, where, env, assigned, shell)):
            continue
        placeholders = found.setdefault(_name(m), [])
        if m.group() not in placeholders:
            placeholders.append(m.group())
    return [Param(name, tuple(texts)) for name, texts in found.items()]


def _is_param(variable: str, where: str, env: Mapping[str, str], assigned: set[str], shell: bool) -> bool:
    return shell and where != "single" and variable not in env and variable not in assigned | SHELL_VARIABLES


def _replace(text: str, params: list[Param], regions: Regions, value: Callable[[Param, str], str]) -> str:
    by_text = {t: p for p in params for t in p.placeholders}
    pieces, last = [], 0
    for m in PLACEHOLDER.finditer(text):
        param = by_text.get(m.group())
        where = regions.at(m.start())
        if param is None or where in ("comment", "literal"):
            continue
        if (m.group("brace") or m.group("dollar")) and where == "single":
            continue
        pieces += [text[last : m.start()], value(param, where)]
        last = m.end()
    return "".join([*pieces, text[last:]])


def shell_script(text: str, params: list[Param]) -> str:
    """The script with every placeholder turned into a reference to its environment variable, quoted to fit."""
    forms = {"plain": '"${%s}"', "double": "${%s}", "single": "'\"${%s}\"'"}
    return _replace(text, params, shell_regions(text), lambda p, where: forms[where] % p.env)


def shown_shell(text: str, params: list[Param], values: Mapping[str, str]) -> str:
    """The command as the operator will see it run: each value in place, shell-quoted when it is not plain."""

    def show(param: Param, where: str) -> str:
        value = make_safe(values[param.name])  # a newline in a value shows as one, not as a second command
        return value if where != "plain" or _SIMPLE.fullmatch(value) else shlex.quote(value)

    return _replace(text, params, shell_regions(text), show)


def sql_text(text: str, params: list[Param], values: Mapping[str, str]) -> str:
    """The statement with each value as a quoted SQL literal (or inside the literal or identifier it stands in)."""

    def quote(param: Param, where: str) -> str:
        value = values[param.name]
        if where == "double":
            return value.replace('"', '""')
        escaped = value.replace("'", "''")
        if where == "estring":
            return escaped.replace("\\", "\\\\")
        return escaped if where == "single" else f"'{escaped}'"

    return _replace(text, params, sql_regions(text), quote)


def filled(text: str, params: list[Param], values: Mapping[str, str]) -> str:
    """Plain substitution, for texts that are values themselves (a Redis pattern)."""
    return _replace(text, params, Regions([0], ["plain"]), lambda p, _: values[p.name])
