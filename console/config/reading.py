"""From a config file to raw values, and from any mistake to one line (used by `console.config.load`).

Reading refuses a file that someone else could change (`console.file_trust`); `${VAR}` expansion records the
secrets it inserts; every error names the file, the TOML line where findable and the field, says what is wrong and
what was expected in the console's words (never pydantic's), with the expanded secrets masked.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.file_trust import CONFIG, UntrustedFile, os_reason, read_trusted
from console.redact import MIN_SECRET_LENGTH, Redactor, passwords

if TYPE_CHECKING:
    from pydantic import ValidationError

ENV_VAR = "INCIDENT_CONSOLE_CONFIG"
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CREDENTIAL = re.compile(r"auth|token|key|secret|cookie|session|password", re.IGNORECASE)  # header names


class ConfigError(Exception):
    """A config mistake; str() is one line naming the file, where, what is wrong and the fix. `every` holds one such
    line per mistake found (`check` prints them all; everything else the first, which says how many more)."""

    def __init__(self, message: str, every: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.every = every or (message,)


def read_config(file: Path) -> tuple[str, int | None]:
    """The file's text, and its mode when group or others may read it (None when they cannot).

    Refuses a config someone else could change (it chooses the commands the console runs): the rule of
    `console.file_trust`, which also refuses a FIFO, a device or a folder before reading it.
    """
    try:
        data, readable_mode = read_trusted(file, CONFIG)
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no config file here (pass --config PATH, set ${ENV_VAR}, or try `incident-console demo`)"
        ) from None
    except UntrustedFile as exc:
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the config: {os_reason(exc)}") from None
    return decode_text(data, str(file)), readable_mode


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text, or a ConfigError naming the line and column of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{name}: line {line}, column {column}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """The TOML document; a syntax error becomes a ConfigError naming the line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message).rstrip(".")
        place = f"line {found.group(1)}, column {found.group(2)}: " if found else ""
        raise ConfigError(f"{name}: {place}TOML syntax error: {reason}") from None


def literal_secret_warning(raw: dict[str, Any], text: str, name: str, mode: int) -> str | None:
    """One line when a string holds a password or token written in the file (not `${VAR}`), else None."""
    loc = _literal_secret(raw, ())
    if loc is None:
        return None
    return (
        f"{where(name, text, loc)}: holds a literal password or token and the file is readable by group or others "
        f"(mode {mode:04o}): chmod 600 {name}, or move the secret to an environment variable (${{VAR}})"
    )


def _literal_secret(value: Any, loc: tuple) -> tuple | None:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        literal = isinstance(value, str) and any(_VAR.sub("", pw).strip("'\"") for pw in passwords(value))
        header = len(loc) == 4 and loc[2] == "headers" and _CREDENTIAL.search(str(loc[3])) and "${" not in str(value)
        return loc if literal or header else None
    return next((found for key, item in items if (found := _literal_secret(item, (*loc, key)))), None)


def expand(
    raw: dict[str, Any], environ: dict[str, str], name: str, text: str
) -> tuple[dict[str, Any], set[str], list[str]]:
    """Replace `${VAR}` (and `$$`) in every string; return the result, the non-empty values inserted, and a warning
    for each value too short to mask without hiding ordinary text (it is masked all the same).

    Command-action arguments are templates (`{version}`), so values inserted there get their braces doubled:
    an expanded value is always literal.
    """
    secrets: set[str] = set()
    warnings: dict[str, str] = {}

    def walk(value: Any, loc: tuple) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*loc, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*loc, i)) for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value
        template = len(loc) == 4 and loc[0] == "actions" and loc[2] in ("command", "env")
        argv = len(loc) == 4 and loc[2] == "command"  # a command action's, a metric's or a log's program and arguments
        script = len(loc) == 3 and loc[0] == "actions" and loc[2] == "script"

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            var = match.group(1)
            if script:  # it would be shell text in bash's argv; bash's own ${x} needs writing apart from ours
                raise ConfigError(
                    f"{where(name, text, loc)}: ${{{var}}} is read from the console's environment when the config "
                    f"loads, and would be spliced into the script, as shell text on bash's command line: write "
                    f'$${{{var}}} for bash\'s own ${{{var}}}; to pass a secret, env = {{ {var} = "${{{var}}}" }} '
                    f'and "${var}" in the script'
                )
            if var not in environ:
                raise ConfigError(
                    f"{where(name, text, loc)}: environment variable {var} is not set "
                    f"(export {var}=..., or write $${{{var}}} for a literal)"
                )
            if argv:
                raise ConfigError(
                    f"{where(name, text, loc)}: ${{{var}}} would put a secret on the command line, where every local "
                    "user can read it (ps, /proc/PID/cmdline): pass it in the environment instead "
                    f'(env = {{ {var} = "${{{var}}}" }}, read by the command as ${var})'
                    + (', or on standard input (stdin = "...")' if loc[0] == "actions" else "")
                )
            if environ[var]:
                secrets.add(environ[var])
            if 0 < len(environ[var]) < MIN_SECRET_LENGTH:
                warnings[var] = (
                    f"{name}: ${{{var}}} is {len(environ[var])} character{'s' if len(environ[var]) > 1 else ''} "
                    "long: it is masked as *** wherever those characters appear, which hides ordinary text too; "
                    "use a longer secret"
                )
            return _literal_braces(environ[var]) if template else environ[var]

        return _VAR.sub(substitute, value)

    return walk(raw, ()), secrets, list(warnings.values())


def _literal_braces(value: str) -> str:
    return value.replace("{", "{{").replace("}", "}}")


def validation_error(
    exc: ValidationError, name: str, text: str, secrets: set[str], raw: dict[str, Any] | None = None
) -> ConfigError:
    """The first pydantic error as one line (and every one, one line each, in `every`); the expanded `secrets` they
    quote (as inserted) are masked."""
    redactor = Redactor([*secrets, *map(_literal_braces, secrets)])

    def line(error: Any) -> str:
        loc = _untagged(tuple(error["loc"]), raw)
        loc = loc[:-1] if loc[-1:] == ("[key]",) else loc  # a table's key that is wrong: named like its value
        message = plain_message(error)
        if error["type"] == "extra_forbidden":
            message += f" in {_dotted(loc[:-1]) or 'the top level'} (check the spelling against the docs)"
        return f"{where(name, text, loc)}: {redactor.text(message)}"

    every = tuple(line(error) for error in exc.errors())
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return ConfigError(f"{every[0]}{more}", every)


def _untagged(loc: tuple, raw: Any) -> tuple:
    """The path as the file has it: a table chosen by its `kind` (a `[[channel]]`) has the kind in pydantic's path,
    `channel[0].slack.url`, which is `channel[0].url` in the file."""
    kept: list[Any] = []
    node = raw
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue
        kept.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(kept)


_EXPECTED = {
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type", "dataclass_type"), "a table"),
    **dict.fromkeys(("list_type", "tuple_type", "set_type", "iterable_type"), "an array"),
    **dict.fromkeys(("string_type", "string_unicode"), "a string"),
    "path_type": "a path (a string)",
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "a whole number"),
    **dict.fromkeys(("float_type", "float_parsing"), "a number"),
    "finite_number": "a finite number",
    **dict.fromkeys(("bool_type", "bool_parsing"), "true or false"),
}
_BOUNDS = {
    "greater_than": "more than {gt}",
    "greater_than_equal": "{ge} or more",
    "less_than": "less than {lt}",
    "less_than_equal": "{le} or less",
    "multiple_of": "a multiple of {multiple_of}",
}


def plain_message(error: Any) -> str:
    """One pydantic error (an item of `ValidationError.errors()`) in the console's words: what is wrong, what was
    expected and what was found, as TOML calls it (a table, an array, the number 3), never pydantic's phrases."""
    from console.models import count  # pydantic's models: on the error path only, never on the TUI's first paint

    kind, ctx, loc = error["type"], error.get("ctx") or {}, error["loc"]
    got = f"got {_found(error.get('input'))}"
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing"
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}"
    if kind in ("value_error", "assertion_error"):
        return error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, {got}"
    if kind in _BOUNDS:
        return f"must be {_BOUNDS[kind].format(**ctx)}, {got}"
    if kind in ("too_short", "string_too_short"):
        unit = "item" if kind == "too_short" else "character"
        return f"expected at least {count(ctx['min_length'], unit)}, {got}"
    if kind in ("too_long", "string_too_long"):
        unit = "item" if kind == "too_long" else "character"
        return f"expected at most {count(ctx['max_length'], unit)}, {got}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching the pattern {ctx['pattern']}, {got}"
    if kind in ("literal_error", "enum"):
        return f"expected {ctx['expected']}, {got}"
    if kind == "union_tag_invalid":
        return f"{ctx['discriminator']} must be {ctx['expected_tags']}, got {ctx['tag']!r}"
    if kind == "union_tag_not_found":
        return f"required key {ctx['discriminator']} is missing"
    message = error["msg"]  # a type this table does not know yet: pydantic's phrase, turned the console's way
    if message.startswith("Input should be "):
        message = "expected " + message.removeprefix("Input should be ")
    return f"{message}, {got}"


def _found(value: Any) -> str:
    """A TOML value in words: `true`, `the number 3`, `'fast'`, `an empty string`, `the array [1, 2]`, `a table`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = repr(value) if len(value) <= 60 else repr(value[:57]) + "…"
        return shown if value else "an empty string"
    if isinstance(value, list):
        shown = json.dumps(value, default=str, ensure_ascii=False)
        return f"the array {shown if len(shown) <= 60 else shown[:57] + '…'}" if value else "an empty array"
    if isinstance(value, dict):
        return f"a table (keys: {', '.join(map(str, value))})" if value else "an empty table"
    return f"the {type(value).__name__} {value}"  # TOML dates and times


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = f'"{part}"' if "." in str(part) else str(part)  # TOML's quoted key: keys."app.palette"
            out += ("." if out else "") + name
    return out


def where(name: str, text: str, loc: tuple) -> str:
    """`FILE: line N: field.path`, leaving out what cannot be found."""
    line = _find_line(text, loc)
    path = _dotted(loc)
    place = f"line {line}: {path}" if line else path
    return f"{name}: {place}" if place else name


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-\"'.]+)\s*=")


def _find_line(text: str, loc: tuple) -> int | None:
    """Best effort: the line of the key (or else the table) a field path points at."""
    tables: dict[str, tuple[int, dict[str, int]]] = {"": (0, {})}
    counters: dict[str, int] = {}
    current = ""
    for number, line in enumerate(text.split("\n"), start=1):  # TOML lines end at \n only
        header = _HEADER.match(line)
        if header:
            current = header.group(2).replace('"', "").replace("'", "").replace(" ", "")
            if header.group(1) == "[[":
                counters[current] = counters.get(current, -1) + 1
                current = f"{current}[{counters[current]}]"
            tables.setdefault(current, (number, {}))
        elif found := _KEY.match(line):
            key = found.group(1)
            quoted = key[0] in "\"'" and key.count(key[0]) == 2 and key.endswith(key[0])  # "app.palette" is whole
            key = key[1:-1] if quoted else key.replace('"', "").replace("'", "").split(".")[0]
            tables[current][1].setdefault(key, number)
    for cut in range(len(loc), -1, -1):
        table = _dotted(loc[:cut]).replace('"', "")  # as the headers were read, quotes left out
        if table in tables:
            table_line, keys = tables[table]
            key = loc[cut] if cut < len(loc) else None
            return keys.get(str(key)) or table_line or None
    return None
