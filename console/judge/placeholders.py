"""Placeholders in commands become typed parameters; values reach a shell only as environment variables.

Placeholders: `<my-namespace>`, `<ENV>`, `{{var}}`, `[worker-name]`, `YOUR_X_HERE` / `YOUR_X`, `your-domain.com`,
`backup_TIMESTAMP.sql` / `YYYYMMDD` in a file name, a lone `xxx`, and in shell steps `$VAR` / `${VAR}` that the
environment does not set, where the block has not assigned it yet. Names are normalised (lowercase, `-` to `_`);
one that reads as a secret (`*TOKEN*`, `*_KEY`, `*PASSWORD*`...) makes a secret parameter. In a shell script each
placeholder is rewritten to a quoted `${RB_NAME}` fitting where it stands (plain, double or single quotes), so a
value is never read as shell text. Placeholders in comments are not parameters.

`[NAME]` is a placeholder only where it is not shell syntax: two or more word characters standing apart (not a
`[[ ]]` or `[ -f x ]` test, not a glob class such as `[0-9]`, `[a-z]` or `file[12]`, not a subscript `arr[i]`).
Upper-case `XXXXXX` is left alone: it is a `mktemp` template.
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


_STAMP = r"TIMESTAMP|YYYYMMDD(?:[_-]?HHMM(?:SS)?)?|YYYY-MM-DD"
PLACEHOLDER = re.compile(  # the lookahead of first characters lets the engine skip ahead (5x faster)
    r"(?=[<{YyTx\[$])(?:<(?P<angle>[A-Za-z][\w-]*)>|\{\{\s*(?P<mustache>[A-Za-z_][\w.-]*)\s*\}\}"
    r"|\bYOUR_(?P<your>[A-Z0-9]+(?:_[A-Z0-9]+)*?)(?:_HERE)?\b"
    r"|\byour-(?P<yours>[a-z0-9]+(?:-[a-z0-9]+)*?)(?:\.(?:com|net|org|io|dev|app|cloud))?(?![\w-])"
    # a stamp in a file name: backup_TIMESTAMP.sql, /backups/YYYYMMDD/, TIMESTAMP.tar (never an SQL type)
    rf"|(?<![A-Za-z0-9])(?:(?<=[a-z0-9][_-])|(?<=/)|(?=(?:{_STAMP})\.[A-Za-z]))(?P<stamp>{_STAMP})(?![A-Za-z0-9])"
    r"|(?<![\w.*?$\[\]\\])\[(?=[\w-]{2,}\])(?![A-Za-z0-9]-[A-Za-z0-9]\])"
    r"(?P<bracket>[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)*)\](?![\w\[(*?])"
    r"|(?<![\w.-])(?P<xxx>xxx+)(?![\w.-])"
    r"|\$\{(?P<brace>[A-Za-z_]\w*)\}|\$(?P<dollar>[A-Za-z_]\w*))"
)
ASSIGNED = re.compile(
    r"(?:^|[\s;&|(])(?:(?:export|local|readonly|declare)\s+)?([A-Za-z_]\w*)=|\b(?:for|read)\s+([A-Za-z_]\w*)"
)
_ASSIGNED_VALUE = re.compile(r"(?:\"(?:\\.|[^\"\\])*\"|'[^']*'|\$\([^)]*\)|\\.|[^\s;&|)])*")
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|_KEY(?![A-Z0-9_])", re.I)
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
    secret: bool = False  # its name reads as a secret: asked without echo, masked wherever the run is shown
    assigned_at: int | None = None  # where the block assigns the variable: later uses are the block's own

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def normalise(name: str) -> str:
    name = name.lower().replace("-", "_").replace(".", "_")
    return name if name[0].isalpha() else "p_" + name


def _name(match: re.Match[str]) -> str:
    return normalise(next(g for g in match.groups() if g))


class Regions:
    """Where each part of a text stands: plain, double, single, comment or literal (a quoted heredoc); `breaks` are
    the newlines at the top level (outside quotes, `$(...)`, subshells, heredocs and `\\` continuations)."""

    def __init__(self, starts: list[int], kinds: list[str], breaks: frozenset[int] = frozenset()) -> None:
        self.starts, self.kinds, self.breaks = starts, kinds, breaks

    def at(self, pos: int) -> str:
        return self.kinds[bisect.bisect_right(self.starts, pos) - 1]


def shell_regions(text: str) -> Regions:
    """A shell lexer just deep enough for quoting: quotes, `$(...)`, backticks, comments and heredoc bodies."""
    starts, kinds = [0], ["plain"]
    stack = ["plain"]
    pending: list[tuple[bool, bool, str]] = []
    breaks: set[int] = set()
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
            if token == "\n" and len(stack) == 1:
                breaks.add(m.start())
            continue
        mark(pos, stack[-1] if stack[-1] != "backtick" else "plain")
    return Regions(starts, kinds, frozenset(breaks))


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
    return scan(text, env, shell=shell)[0]


def scan(text: str, env: Mapping[str, str], *, shell: bool) -> tuple[list[Param], list[str]]:
    """(the parameters of a command, the variables it reads from the console's environment), in order of first use."""
    matches = list(PLACEHOLDER.finditer(text))
    if not matches:
        return [], []
    regions = shell_regions(text) if shell else sql_regions(text)
    assigned = _assignments(text, regions) if shell else {}
    found: dict[str, list[str]] = {}
    variables: dict[str, set[str]] = {}
    from_env: dict[str, None] = {}
    for m in matches:
        where = regions.at(m.start())
        variable = m.group("brace") or m.group("dollar")
        if where in ("comment", "literal") or (variable and not shell):
            continue
        if variable and (
            where == "single" or variable in SHELL_VARIABLES or m.start() >= assigned.get(variable, m.end())
        ):
            continue
        if variable and variable in env:
            from_env[variable] = None
            continue
        placeholders = found.setdefault(_name(m), [])
        if m.group() not in placeholders:
            placeholders.append(m.group())
        if variable:
            variables.setdefault(_name(m), set()).add(variable)
    params = [
        Param(
            name,
            tuple(texts),
            secret=any(SECRET_NAME.search(t.replace("-", "_")) for t in (name, *texts)),
            assigned_at=min((assigned[v] for v in variables.get(name, ()) if v in assigned), default=None),
        )
        for name, texts in found.items()
    ]
    return params, list(from_env)


def _assignments(text: str, regions: Regions) -> dict[str, int]:
    """Each variable the script assigns (`X=`, `export X=`, `for X`, `read X`) and where its first assignment ends."""
    found: dict[str, int] = {}
    for m in ASSIGNED.finditer(text):
        name, start = (m.group(1), m.start(1)) if m.group(1) else (m.group(2), m.start(2))
        if regions.at(start) != "plain" or name in found:
            continue
        end = m.end()
        if m.group(1):
            value = _ASSIGNED_VALUE.match(text, end)
            end = value.end() if value else end
        found[name] = end
    return found



def _replace(
    text: str,
    params: list[Param],
    regions: Regions,
    value: Callable[[Param, str], str],
    pattern: re.Pattern[str] = PLACEHOLDER,
) -> str:
    by_text = {t: p for p in params for t in p.placeholders}
    pieces, last = [], 0
    for m in pattern.finditer(text):
        param = by_text.get(m.group())
        where = regions.at(m.start())
        if param is None or where in ("comment", "literal"):
            continue
        variable = m.groupdict().get("brace") or m.groupdict().get("dollar")
        if variable and (where == "single" or (param.assigned_at is not None and m.start() >= param.assigned_at)):
            continue
        pieces += [text[last : m.start()], value(param, where)]
        last = m.end()
    return "".join([*pieces, text[last:]])


def shell_script(text: str, params: list[Param], pattern: re.Pattern[str] = PLACEHOLDER) -> str:
    """The script with every placeholder turned into a reference to its environment variable, quoted to fit;
    `pattern` finds the placeholders (a runbook's by default, `{name}` in a config action's script)."""
    forms = {"plain": '"${%s}"', "double": "${%s}", "single": "'\"${%s}\"'"}
    return _replace(text, params, shell_regions(text), lambda p, where: forms[where] % p.env, pattern)


def shown_shell(
    text: str, params: list[Param], values: Mapping[str, str], pattern: re.Pattern[str] = PLACEHOLDER
) -> str:
    """The command as the operator will see it run: each value in place, shell-quoted when it is not plain."""

    def show(param: Param, where: str) -> str:
        value = make_safe(values[param.name])  # a newline in a value shows as one, not as a second command
        return value if where != "plain" or _SIMPLE.fullmatch(value) else shlex.quote(value)

    return _replace(text, params, shell_regions(text), show, pattern)


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
