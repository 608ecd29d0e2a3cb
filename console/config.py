"""The TOML config: pydantic models, durations, and load() with one-line errors.

One file is one environment (DESIGN §6). Every mistake becomes a `ConfigError` whose text is a single
line naming the file, the TOML line or the field path, what is wrong and what was expected; reading,
`${VAR}` expansion and the wording of errors live in `console.config_load`.
"""

from __future__ import annotations

import os
import string
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import SchemaError

from console.config_load import (
    ENV_VAR,
    expand,
    literal_secret_warning,
    parse_toml,
    read_config,
    validation_error,
)
from console.config_load import ConfigError as ConfigError  # re-exported: `from console.config import ConfigError`
from console.incident.state import SCHEMES
from console.models import Risk
from console.probe_config import MetricReading, RequestSpec
from console.timeparse import parse_duration

DAY = 86400.0
PG_MAX_MS = 2_147_483_647  # PostgreSQL's largest statement_timeout: an int of milliseconds


def _at_most(days: float, *, zero_ok: bool) -> AfterValidator:
    """Seconds in (0, days] -- or [0, days] when 0 has a meaning -- with the fix in the message."""

    def check(seconds: float) -> float:
        if seconds <= 0 and not zero_ok:
            raise ValueError('must be more than 0 (an interval or timeout of 0 spins or fails at once), e.g. "2s"')
        if seconds > days * DAY:
            raise ValueError(f"must be at most {days:g}d")
        return seconds

    return AfterValidator(check)


def _pg_statement_timeout(seconds: float) -> float:
    if not 1 <= round(seconds * 1000, 6) <= PG_MAX_MS:  # rounded: "2147483647ms" is 2147483.647 s in a float
        raise ValueError(f'must be from 1ms to {PG_MAX_MS}ms, the range PostgreSQL accepts (about 24d 20h), e.g. "2s"')
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
# An interval or timeout: more than 0, at most a week (sockets and timers overflow on absurd values).
Period = Annotated[Duration, _at_most(7, zero_ok=False)]
# An age threshold (`long_running`, `idle_older_than`; the latter goes to PostgreSQL as an interval): 0 counts all.
Age = Annotated[Duration, _at_most(365, zero_ok=True)]
StatementTimeout = Annotated[Duration, AfterValidator(_pg_statement_timeout)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsoleSettings(_Model):
    """`[console]`: the environment's name and how the console behaves."""

    environment: str = "default"
    refresh: Period = 2.0
    theme: str = "incident-dark"
    read_only: bool = False
    journal: Path | None = None
    playbooks: list[str] = []

    @property
    def is_production(self) -> bool:
        return self.environment.lower().startswith("prod")

    @field_validator("environment")
    @classmethod
    def _a_name(cls, name: str) -> str:
        if not name.strip() or name != name.strip():
            raise ValueError(
                f'expected the environment\'s name, e.g. "production", got {name!r} (it is what typed '
                "confirmation asks for, so it cannot be blank or start or end with spaces)"
            )
        return name


class HealthTarget(RequestSpec):
    """`[[health]]`: an HTTP health endpoint (method, headers and body in `RequestSpec`)."""

    name: str = Field(min_length=1)
    url: str
    timeout: Period = 3.0
    interval: Period | None = None
    warn_ms: float = 500
    crit_ms: float = 1000
    expect_status: int = 200
    expect_json: dict[str, Any] | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return _check_url(url, ("http", "https"))


class MetricTarget(MetricReading):
    """`[[metric]]`: a number (or a `top` list) read from a URL or a command, as `MetricReading` says."""

    name: str = Field(min_length=1)
    unit: str = ""
    warn: float | None = None
    crit: float | None = None
    below: bool = False
    timeout: Period = 3.0
    interval: Period | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        return url if url is None else _check_url(url, ("http", "https"))


class PostgresSettings(_Model):
    """`[postgres]`: the database the console watches and acts on."""

    dsn: str
    slow_query_ms: float = 100
    long_running: Age = 300.0
    idle_older_than: Age = 3600.0
    pool_warn_pct: float = 80
    statement_timeout: StatementTimeout = 2.0

    @field_validator("dsn")
    @classmethod
    def _pg_url(cls, dsn: str) -> str:
        return _check_url(dsn, ("postgres", "postgresql"))


class RedisSettings(_Model):
    """`[redis]`: the cache the console watches and flushes."""

    url: str
    hit_rate_warn_pct: float = 90
    timeout: Period = 2.0
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


_TYPES: dict[str, type] = {"str": str, "int": int, "float": float}


class ParamSpec(_Model):
    """A typed parameter of a command action: one of `choices`, or a `type` (a str matching `pattern` whole)."""

    description: str = ""
    type: Literal["str", "int", "float"] = "str"
    pattern: str | None = None
    choices: list[str] | None = Field(default=None, min_length=1)
    default: str | None = None

    @property
    def annotation(self) -> Any:
        """The type a value is validated against (the pattern is matched by pydantic's regex engine)."""
        if self.choices:
            return Literal[tuple(self.choices)]
        if self.pattern is not None:
            return Annotated[str, StringConstraints(pattern=f"^(?:{self.pattern})$")]
        return _TYPES[self.type]

    def typed_default(self) -> Any:
        """The default converted to the param's type, or `...` (required) when there is none."""
        return ... if self.default is None else TypeAdapter(self.annotation).validate_python(self.default)

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        if self.pattern is not None and self.choices:
            raise ValueError("give choices or pattern, not both")
        if self.pattern is not None and self.type != "str":
            raise ValueError(f'pattern applies to type "str" only (a {self.type} is checked as a number)')
        try:
            adapter = TypeAdapter(self.annotation)
        except SchemaError as exc:
            reason = str(exc).rsplit("error: ", 1)[-1].strip()
            raise ValueError(
                f"pattern {self.pattern!r} is not a regular expression: {reason} (fix it: Rust regex syntax, "
                "no look-around or back-references, braces are not doubled here)"
            ) from None
        if self.default is not None:
            try:
                adapter.validate_python(self.default)
            except ValidationError as exc:
                reason = exc.errors()[0]["msg"]
                raise ValueError(f"default {self.default!r}: {reason} (fix the default or the param)") from None
        return self


class CommandAction(_Model):
    """`[actions.NAME]`: an argv template run without a shell (rollback, scale, maintenance mode...)."""

    command: list[str] = Field(min_length=1)
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    risk: Risk = Risk.WRITE
    timeout: Period = 600.0
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


class RunbookSource(_Model):
    """`[[runbooks]]`: a markdown runbook file, or a folder of them, relative to the config file."""

    path: str = Field(min_length=1)


class IncidentSettings(_Model):
    """`[incident]`: the severity scheme (SEV-1..4 or P0..P3) and optional update cadence per level."""

    scheme: Literal["sev", "p"] = "sev"
    update_every: dict[str, Period] = Field(default_factory=dict)

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


class ShareSettings(_Model):
    """`[share]`: mirror the journal to a Redis stream and follow every host's entries on it (console.share)."""

    redis_url: str
    stream: str = Field(default="incident-console:journal", min_length=1)
    key: str | None = Field(default=None, min_length=16)
    maxlen: int = Field(default=100_000, ge=100)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str) -> str:
        return _check_url(url, ("redis", "rediss", "unix"))


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
    share: ShareSettings | None = None
    runbooks: list[RunbookSource] = Field(default_factory=list)

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
    """Read, expand and validate a config file; raises ConfigError with one clear line.

    Refuses a file others could change; warns on stderr (one line) when others can read a literal secret in it.
    """
    file = resolve_config_path(path)
    text, readable_mode = read_config(file)
    raw = parse_toml(text, str(file))
    if readable_mode is not None and (warning := literal_secret_warning(raw, text, str(file), readable_mode)):
        print(f"incident-console: warning: {warning}", file=sys.stderr)
    return _validate(raw, text, file, environ)


def loads(text: str, *, source: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Validate config text; `source` names the file in errors and anchors relative paths."""
    return _validate(parse_toml(text, str(source) if source else "<config>"), text, source, environ)


def _validate(raw: dict[str, Any], text: str, source: Path | None, environ: dict[str, str] | None) -> Config:
    name = str(source) if source else "<config>"
    raw, secrets = expand(raw, environ if environ is not None else dict(os.environ), name, text)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, name, text, secrets) from None
    config._source = source.resolve() if source else None
    config._secrets = frozenset(secrets)
    return config


def _check_url(url: str, schemes: tuple[str, ...]) -> str:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in schemes:
        raise ValueError(f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}, got {url!r}")
    return url
