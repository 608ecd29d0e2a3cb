"""The TOML config: pydantic models, `${VAR}` expansion, durations, and load() with one-line errors.

One file is one environment (DESIGN §6). Every mistake becomes a `ConfigError` whose text is a single
line naming the file, the TOML line or the field path, what is wrong and what was expected.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from console.incident.state import SCHEMES
from console.models import Risk
from console.timeparse import parse_duration

ENV_VAR = "INCIDENT_CONSOLE_CONFIG"
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """A config mistake; str() is one line naming the file, where, what is wrong and the fix."""


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsoleSettings(_Model):
    """`[console]`: the environment's name and how the console behaves."""

    environment: str = "default"
    refresh: Duration = 2.0
    theme: str = "incident-dark"
    read_only: bool = False
    journal: Path | None = None
    playbooks: list[str] = []

    @property
    def is_production(self) -> bool:
        return self.environment.lower().startswith("prod")


class HealthTarget(_Model):
    """`[[health]]`: an HTTP health endpoint."""

    name: str = Field(min_length=1)
    url: str
    timeout: Duration = 3.0
    interval: Duration | None = None
    warn_ms: float = 500
    crit_ms: float = 1000
    expect_status: int = 200
    expect_json: dict[str, Any] | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return _check_url(url, ("http", "https"))


class MetricTarget(_Model):
    """`[[metric]]`: a number read at a dotted path of a JSON endpoint."""

    name: str = Field(min_length=1)
    url: str
    path: str = Field(min_length=1)
    unit: str = ""
    warn: float | None = None
    crit: float | None = None
    below: bool = False
    timeout: Duration = 3.0
    interval: Duration | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return _check_url(url, ("http", "https"))


class PostgresSettings(_Model):
    """`[postgres]`: the database the console watches and acts on."""

    dsn: str
    slow_query_ms: float = 100
    long_running: Duration = 300.0
    idle_older_than: Duration = 3600.0
    pool_warn_pct: float = 80
    statement_timeout: Duration = 2.0

    @field_validator("dsn")
    @classmethod
    def _pg_url(cls, dsn: str) -> str:
        return _check_url(dsn, ("postgres", "postgresql"))


class RedisSettings(_Model):
    """`[redis]`: the cache the console watches and flushes."""

    url: str
    hit_rate_warn_pct: float = 90
    timeout: Duration = 2.0
    flush_confirm_share: float = Field(default=0.5, gt=0, le=1)

    @field_validator("url")
    @classmethod
    def _redis_url(cls, url: str) -> str:
        return _check_url(url, ("redis", "rediss", "unix"))


class LogSettings(_Model):
    """`[[logs]]`: a log file to tail or a command whose output to follow."""

    name: str = Field(min_length=1)
    path: Path | None = None
    command: list[str] | None = None
    format: Literal["text", "json"] = "text"
    time_field: str = "time"
    level_field: str = "level"
    message_field: str = "message"
    trace_field: str = "trace_id"
    error_spike_per_min: float = 30
    max_lines: int = Field(default=100_000, ge=100)

    @model_validator(mode="after")
    def _one_origin(self) -> LogSettings:
        if (self.path is None) == (self.command is None):
            raise ValueError("give exactly one of path or command")
        if self.command is not None and not self.command:
            raise ValueError('command must name a program, e.g. ["docker", "compose", "logs", "-f"]')
        return self


class ParamSpec(_Model):
    """A typed parameter of a command action."""

    description: str = ""
    type: Literal["str", "int", "float"] = "str"
    pattern: str | None = None
    choices: list[str] | None = None
    default: str | None = None


class CommandAction(_Model):
    """`[actions.NAME]`: an argv template run without a shell (rollback, scale, maintenance mode...)."""

    command: list[str] = Field(min_length=1)
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    risk: Risk = Risk.WRITE
    timeout: Duration = 600.0
    description: str = ""

    @field_validator("params", mode="before")
    @classmethod
    def _short_params(cls, params: Any) -> Any:
        if isinstance(params, dict):
            return {k: {"description": v} if isinstance(v, str) else v for k, v in params.items()}
        return params

    @model_validator(mode="after")
    def _declared_placeholders(self) -> CommandAction:
        allowed = {"environment", *self.params}
        for index, arg in enumerate(self.command):
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
            except ValueError as exc:
                raise ValueError(f"command[{index}] {arg!r}: {exc} (write {{{{ and }}}} for literal braces)") from None
            for field in fields:
                if field not in allowed:
                    declared = ", ".join(sorted(self.params)) or "none"
                    raise ValueError(
                        f"command[{index}] uses {{{field}}}, which is not declared in params "
                        f"(declared: {declared}; {{environment}} is always available)"
                    )
        return self


class IncidentSettings(_Model):
    """`[incident]`: the severity scheme (SEV-1..4 or P0..P3) and optional update cadence per level."""

    scheme: Literal["sev", "p"] = "sev"
    update_every: dict[str, Duration] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_levels(self) -> IncidentSettings:
        names = SCHEMES[self.scheme].names
        for level, seconds in self.update_every.items():
            if level not in names:
                known = ", ".join(names)
                raise ValueError(f"update_every: {level!r} is not a level of the {self.scheme!r} scheme ({known})")
            if seconds < 60:
                raise ValueError(f"update_every.{level}: a cadence under a minute is not a cadence")
        return self


class Config(_Model):
    """One environment: everything the console watches and every action it offers."""

    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    health: list[HealthTarget] = Field(default_factory=list)
    metric: list[MetricTarget] = Field(default_factory=list)
    postgres: PostgresSettings | None = None
    redis: RedisSettings | None = None
    logs: list[LogSettings] = Field(default_factory=list)
    actions: dict[str, CommandAction] = Field(default_factory=dict)
    keys: dict[str, str] = Field(default_factory=dict)
    incident: IncidentSettings = Field(default_factory=IncidentSettings)
    playbook: list[dict[str, Any]] = Field(default_factory=list)

    _source: Path | None = PrivateAttr(default=None)
    _secrets: frozenset[str] = PrivateAttr(default=frozenset())

    @property
    def source(self) -> Path | None:
        """The file this config was read from (None when built in code)."""
        return self._source

    @property
    def secrets(self) -> frozenset[str]:
        """Every value that came from a `${VAR}` expansion: never journaled or shown in clear."""
        return self._secrets

    @property
    def base_dir(self) -> Path:
        """Relative paths in the config (commands, log files) are relative to the file's folder."""
        return self._source.parent if self._source else Path.cwd()

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        for section in ("health", "metric", "logs"):
            seen: set[str] = set()
            for index, item in enumerate(getattr(self, section)):
                if item.name in seen:
                    raise ValueError(f"{section}[{index}].name {item.name!r} is used twice; names must be unique")
                seen.add(item.name)
        return self


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("incident-console")) / "config.toml"


def resolve_config_path(explicit: str | Path | None) -> Path:
    """--config, else $INCIDENT_CONSOLE_CONFIG, else the platform config dir."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return default_config_path()


def load(path: str | Path | None = None, *, environ: dict[str, str] | None = None) -> Config:
    """Read, expand and validate a config file; raises ConfigError with one clear line."""
    file = resolve_config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no config file here (pass --config PATH, set ${ENV_VAR}, or try `incident-console demo`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the config: {exc}") from None
    return loads(text, source=file, environ=environ)


def loads(text: str, *, source: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Validate config text; `source` names the file in errors and anchors relative paths."""
    name = str(source) if source else "<config>"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: {_toml_message(exc)}") from None
    secrets: set[str] = set()
    raw = _expand(raw, (), environ if environ is not None else dict(os.environ), secrets, name, text)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, name, text)) from None
    config._source = source.resolve() if source else None
    config._secrets = frozenset(secrets)
    return config


def _check_url(url: str, schemes: tuple[str, ...]) -> str:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in schemes:
        raise ValueError(f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}, got {url!r}")
    return url


def _expand(value: Any, where: tuple, environ: dict[str, str], secrets: set[str], name: str, text: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, (*where, k), environ, secrets, name, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*where, i), environ, secrets, name, text) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        var = match.group(1)
        if var not in environ:
            raise ConfigError(
                f"{_where(name, text, where)}: environment variable {var} is not set "
                f"(export {var}=..., or write $${{{var}}} for a literal)"
            )
        if environ[var]:
            secrets.add(environ[var])
        return environ[var]

    return _VAR.sub(substitute, value)


def _toml_message(exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message).rstrip(".")
    if found:
        return f"line {found.group(1)}, column {found.group(2)}: TOML syntax error: {reason}"
    return f"TOML syntax error: {reason}"


def _validation_message(exc: ValidationError, name: str, text: str) -> str:
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
    return f"{_where(name, text, loc)}: {message}{more}"


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _where(name: str, text: str, loc: tuple) -> str:
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
    for number, line in enumerate(text.splitlines(), start=1):
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
