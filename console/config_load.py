"""From a config file to raw values, and from any mistake to one line (used by `console.config.load`).

Reading refuses a file that someone else could change; `${VAR}` expansion records the secrets it inserts;
every error names the file, the TOML line where findable and the field, with the expanded secrets masked.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.redact import MIN_SECRET_LENGTH, Redactor, passwords

if TYPE_CHECKING:
    from pydantic import ValidationError

ENV_VAR = "INCIDENT_CONSOLE_CONFIG"
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
_CREDENTIAL = re.compile(r"auth|token|key|secret|cookie|session|password", re.IGNORECASE)  # header names


class ConfigError(Exception):
    """A config mistake; str() is one line naming the file, where, what is wrong and the fix."""


def read_config(file: Path) -> tuple[str, int | None]:
    """The file's text, and its mode when group or others may read it (None when they cannot).

    Refuses a config someone else could change (it chooses the commands the console runs): a file writable
    by group or others, or in a folder they may write to without the sticky bit. A private folder (yours,
    no access for group or others) keeps whatever is in it private, whatever the umask made of the file.
    """
    try:
        with open(file, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            text = f.read().decode("utf-8")
        folder = Path(os.path.realpath(file)).parent
        folder_stat = folder.stat()
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no config file here (pass --config PATH, set ${ENV_VAR}, or try `incident-console demo`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the config: {exc}") from None
    if folder_stat.st_uid == os.geteuid() and not folder_stat.st_mode & 0o077:
        return text, None
    changers = "anyone who can write it chooses the commands the console runs"
    if mode & _BY_OTHERS:
        raise ConfigError(
            f"{file}: the config file is writable by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"{changers}: chmod go-w {file}"
        )
    if folder_stat.st_mode & _BY_OTHERS and not folder_stat.st_mode & stat.S_ISVTX:
        raise ConfigError(
            f"{file}: its folder {folder} is writable by group or others (mode {stat.S_IMODE(folder_stat.st_mode):04o})"
            f" and not sticky; {changers} by replacing the file: chmod go-w {folder}, or use a private folder"
        )
    return text, stat.S_IMODE(mode) if mode & (stat.S_IRGRP | stat.S_IROTH) else None


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
        argv = len(loc) == 4 and loc[2] == "command" and loc[0] in ("actions", "metric", "logs")

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            var = match.group(1)
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


def validation_error(exc: ValidationError, name: str, text: str, secrets: set[str]) -> ConfigError:
    """The first pydantic error as one line; the expanded `secrets` it quotes (as inserted) are masked."""
    redactor = Redactor([*secrets, *map(_literal_braces, secrets)])
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        parent = _dotted(loc[:-1]) or "the top level"
        message = f"unknown key {loc[-1]!r} in {parent} (check the spelling against the docs)"
    elif error["type"] == "missing":
        message = f"required key {loc[-1]!r} is missing"
    elif error["type"].endswith("_type") or error["type"].endswith("_parsing"):
        message = f"{message}, got {error.get('input')!r}"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return ConfigError(f"{where(name, text, loc)}: {redactor.text(message)}{more}")


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def where(name: str, text: str, loc: tuple) -> str:
    """`FILE: line N: field.path`, leaving out what cannot be found."""
    line = _find_line(text, loc)
    path = _dotted(loc)
    place = f"line {line}: {path}" if line else path
    return f"{name}: {place}" if place else name


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


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
            tables[current][1].setdefault(found.group(1).strip("\"'").split(".")[0], number)
    for cut in range(len(loc), -1, -1):
        table = _dotted(loc[:cut])
        if table in tables:
            line, keys = tables[table]
            key = loc[cut] if cut < len(loc) else None
            return keys.get(str(key)) or line or None
    return None
