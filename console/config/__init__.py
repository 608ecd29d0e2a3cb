"""The TOML config: pydantic models, durations, and load() with one-line errors.

One file is one environment (docs/config.md). Every mistake becomes a `ConfigError` whose text is a single
line naming the file, the TOML line or the field path, what is wrong and what was expected; reading,
`${VAR}` expansion and the wording of errors live in `console.config.reading`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from console.config.actions import CommandAction as CommandAction  # re-exported, as are the next two
from console.config.actions import ParamSpec as ParamSpec
from console.config.changes import ChangeSettings
from console.config.channels import ChannelSettings, is_paging
from console.config.incident import IncidentSettings as IncidentSettings
from console.config.keys import BindingId, KeyList, ThemeName
from console.config.probes import CertExpiry, HttpRoute, MetricReading, RequestSpec
from console.config.reading import (
    ENV_VAR,
    expand,
    literal_secret_warning,
    parse_toml,
    read_config,
    validation_error,
)
from console.config.reading import ConfigError as ConfigError  # re-exported: `from console.config import ConfigError`
from console.config.record import RecordSettings
from console.config.types import Duration, Model, Period, at_most
from console.models import format_duration
from console.output import out
from console.sustain import Hold

PG_MAX_MS = 2_147_483_647  # PostgreSQL's largest statement_timeout: an int of milliseconds


def _pg_statement_timeout(seconds: float) -> float:
    if not 1 <= round(seconds * 1000, 6) <= PG_MAX_MS:  # rounded: "2147483647ms" is 2147483.647 s in a float
        raise ValueError(f'must be from 1ms to {PG_MAX_MS}ms, the range PostgreSQL accepts (about 24d 20h), e.g. "2s"')
    return seconds


# An age threshold (`long_running`, `idle_older_than`; the latter goes to PostgreSQL as an interval): 0 counts all.
Age = Annotated[Duration, at_most(365, zero_ok=True)]
StatementTimeout = Annotated[Duration, AfterValidator(_pg_statement_timeout)]


class _Sustained(Model):
    """`for` / `clear_for`: how long a new state must hold before it shows, and to clear (`console.sustain`)."""

    for_: Period | None = Field(default=None, alias="for")
    clear_for: Period | None = None

    @property
    def hold(self) -> Hold | None:
        if self.for_ is None and self.clear_for is None:
            return None
        return Hold(self.for_ or 0.0, self.clear_for if self.clear_for is not None else self.for_ or 0.0)


def _beyond(section: str, warn_name: str, warn: float, crit_name: str, crit: float | None, *, below: bool) -> None:
    """Crit must be past warn (below it when low values are bad): a config error otherwise."""
    if crit is not None and (crit >= warn if below else crit <= warn):
        side = "below" if below else "above"
        raise ValueError(f"{section}: {crit_name} {crit:g} must be {side} {warn_name} {warn:g} (crit is the worse one)")


class ConsoleSettings(HttpRoute, Model):
    """`[console]`: the environment's name and how the console behaves (`ca_file` and `proxy`: every HTTP call's,
    unless its section gives its own)."""

    environment: str = "default"
    refresh: Period = 2.0
    theme: ThemeName = "incident-dark"
    read_only: bool = False
    journal: Path | None = None
    playbooks: list[str] = []
    # how the console says it needs you when its window is not in front (the wall never does)
    notify: list[Literal["bell", "osc9", "osc777"]] = ["bell"]

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


class HealthTarget(RequestSpec, CertExpiry, _Sustained):
    """`[[health]]`: an HTTP health endpoint (method, headers and body in `RequestSpec`, its certificate's expiry
    thresholds in `CertExpiry`)."""

    name: str = Field(min_length=1)
    url: str
    service: str | None = Field(default=None, min_length=1)  # what it checks, for the change ledger's suspects
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


class MetricTarget(MetricReading, _Sustained):
    """`[[metric]]`: a number (or a `top` list) read from a URL, a command or a PromQL query (`MetricReading`)."""

    name: str = Field(min_length=1)
    service: str | None = Field(default=None, min_length=1)  # what it measures, for the change ledger's suspects
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

    @model_validator(mode="after")
    def _no_threshold_on_a_list(self) -> MetricTarget:
        given = [name for name in ("unit", "warn", "crit", "below") if name in self.model_fields_set]
        if self.kind == "top" and given:
            raise ValueError(
                f'{", ".join(given)}: a kind = "top" list has no single value to judge; remove it or use kind = "value"'
            )
        return self


class PrometheusSettings(HttpRoute, Model):
    """`[prometheus]`: the server that `[[metric]] promql` queries are sent to."""

    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return _check_url(url, ("http", "https"))


class AlertmanagerSettings(PrometheusSettings):
    """`[alertmanager]`: the Alertmanager whose firing alerts the console lists and silences."""

    timeout: Period = 3.0
    interval: Period | None = None


class PostgresSettings(_Sustained):
    """`[postgres]`: the database the console watches and acts on."""

    dsn: str
    slow_query_ms: float = 100
    long_running: Age = 300.0
    idle_older_than: Age = 3600.0
    pool_warn_pct: float = 80
    pool_crit_pct: float = 95
    statement_timeout: StatementTimeout = 2.0

    @field_validator("dsn")
    @classmethod
    def _pg_url(cls, dsn: str) -> str:
        return _check_url(dsn, ("postgres", "postgresql"))

    @model_validator(mode="after")
    def _crit_beyond_warn(self) -> PostgresSettings:
        _beyond("postgres", "pool_warn_pct", self.pool_warn_pct, "pool_crit_pct", self.pool_crit_pct, below=False)
        return self


class RedisSettings(_Sustained):
    """`[redis]`: the cache the console watches and flushes."""

    url: str
    hit_rate_warn_pct: float = 90
    hit_rate_crit_pct: float | None = None
    memory_warn_pct: float = 85
    memory_crit_pct: float = 95
    timeout: Period = 2.0
    flush_confirm_share: float = Field(default=0.5, gt=0, le=1)

    @field_validator("url")
    @classmethod
    def _redis_url(cls, url: str) -> str:
        return _check_url(url, ("redis", "rediss", "unix"))

    @model_validator(mode="after")
    def _crit_beyond_warn(self) -> RedisSettings:
        _beyond(
            "redis",
            "hit_rate_warn_pct",
            self.hit_rate_warn_pct,
            "hit_rate_crit_pct",
            self.hit_rate_crit_pct,
            below=True,
        )
        _beyond("redis", "memory_warn_pct", self.memory_warn_pct, "memory_crit_pct", self.memory_crit_pct, below=False)
        return self


class LogSettings(Model):
    """`[[logs]]`: a log file to tail or a command whose output to follow."""

    name: str = Field(min_length=1)
    path: Path | None = None
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)  # the command's environment: where `${VAR}` secrets go
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
        if self.env and self.command is None:
            raise ValueError("env applies to a command, not to a path")
        return self


class RunbookSource(Model):
    """`[[runbooks]]`: a markdown runbook file, or a folder of them, relative to the config file."""

    path: str = Field(min_length=1)


class ShareSettings(Model):
    """`[share]`: mirror the journal to a Redis stream and follow every host's entries on it (console.share)."""

    redis_url: str
    stream: str = Field(default="incident-console:journal", min_length=1)
    key: str | None = Field(default=None, min_length=16)
    maxlen: int = Field(default=100_000, ge=100)
    host: str | None = Field(default=None, min_length=1)  # this console's writer id on the stream (the hostname)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str) -> str:
        return _check_url(url, ("redis", "rediss", "unix"))


class Config(Model):
    """One environment: everything the console watches and every action it offers."""

    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    health: list[HealthTarget] = Field(default_factory=list)
    metric: list[MetricTarget] = Field(default_factory=list)
    prometheus: PrometheusSettings | None = None
    alertmanager: AlertmanagerSettings | None = None
    postgres: PostgresSettings | None = None
    redis: RedisSettings | None = None
    logs: list[LogSettings] = Field(default_factory=list)
    actions: dict[str, CommandAction] = Field(default_factory=dict)
    keys: dict[BindingId, KeyList] = Field(default_factory=dict)
    incident: IncidentSettings = Field(default_factory=IncidentSettings)
    playbook: list[dict[str, Any]] = Field(default_factory=list)
    share: ShareSettings | None = None
    runbooks: list[RunbookSource] = Field(default_factory=list)
    channel: list[ChannelSettings] = Field(default_factory=list)
    changes: list[ChangeSettings] = Field(default_factory=list)
    record: RecordSettings | None = None  # without it the TUI does not record; `incident-console record` does

    _source: Path | None = PrivateAttr(default=None)
    _secrets: frozenset[str] = PrivateAttr(default=frozenset())
    _warnings: tuple[str, ...] = PrivateAttr(default=())

    @property
    def source(self) -> Path | None:
        """The file this config was read from (None when built in code)."""
        return self._source

    @property
    def secrets(self) -> frozenset[str]:
        """Every value that came from a `${VAR}` expansion: never journaled or shown in clear."""
        return self._secrets

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line each: what loads but deserves a fix (a literal secret others can read, a secret too short to
        mask cleanly). The CLI prints them on stderr; the TUI shows them."""
        return self._warnings

    @property
    def base_dir(self) -> Path:
        """Relative paths in the config (commands, log files) are relative to the file's folder."""
        return self._source.parent if self._source else Path.cwd()

    def _sections(self) -> list[tuple[str, Any]]:
        """Every item of a list section as (`health[0]`, item) and every other section as (`postgres`, settings)."""
        found: list[tuple[str, Any]] = []
        for section in type(self).model_fields:
            value = getattr(self, section)
            if isinstance(value, list):
                found += [(f"{section}[{index}]", item) for index, item in enumerate(value)]
            elif value is not None:
                found.append((section, value))
        return found

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        seen: set[tuple[str, str]] = set()
        for where, item in self._sections():
            name = getattr(item, "name", None) if isinstance(item, Model) else None
            if not isinstance(name, str):
                continue
            section = where.partition("[")[0]
            if (section, name) in seen:
                raise ValueError(f"{where}.name {name!r} is used twice; names must be unique")
            seen.add((section, name))
        for index, metric in enumerate(self.metric):
            if metric.promql is not None and self.prometheus is None:
                raise ValueError(f"metric[{index}].promql needs a [prometheus] section with the server's url")
            if metric.redis_keys is not None and self.redis is None:
                raise ValueError(f"metric[{index}].redis_keys needs a [redis] section with the server's url")
        pagers = [channel.name for channel in self.channel if is_paging(channel)]
        for index, rule in enumerate(self.incident.escalate):
            for name in rule.page:
                if name not in pagers:
                    known = ", ".join(pagers) or 'none: add a [[channel]] of kind "pagerduty" or "opsgenie"'
                    raise ValueError(f"incident.escalate[{index}].page: {name!r} is not a paging channel ({known})")
        return self

    @model_validator(mode="after")
    def _holds_outlast_polls(self) -> Config:
        refresh = self.console.refresh
        for where, item in self._sections():
            if not isinstance(item, _Sustained):
                continue
            interval = getattr(item, "interval", None) or refresh
            for name, seconds in (("for", item.for_), ("clear_for", item.clear_for)):
                if seconds is not None and seconds < interval:
                    raise ValueError(
                        f"{where}.{name} {format_duration(seconds)} is shorter than the {format_duration(interval)} "
                        "it is polled at; a state must be seen at least twice to have held"
                    )
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


def load(path: str | Path | None = None, *, environ: dict[str, str] | None = None, warn: bool = True) -> Config:
    """Read, expand and validate a config file; raises ConfigError with one clear line.

    Refuses a file others could change. `config.warnings` says what deserves a fix (others can read a literal secret
    in it; a secret too short to mask cleanly); with `warn`, each is also printed on stderr, one line each.
    """
    file = resolve_config_path(path)
    text, readable_mode = read_config(file)
    raw = parse_toml(text, str(file))
    literal = literal_secret_warning(raw, text, str(file), readable_mode) if readable_mode is not None else None
    config = _validate(raw, text, file, environ)
    config._warnings = (*([literal] if literal else []), *config._warnings)
    if warn:
        for warning in config.warnings:
            out(f"incident-console: warning: {warning}", err=True)
    return config


def loads(text: str, *, source: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Validate config text; `source` names the file in errors and anchors relative paths."""
    return _validate(parse_toml(text, str(source) if source else "<config>"), text, source, environ)


def _validate(raw: dict[str, Any], text: str, source: Path | None, environ: dict[str, str] | None) -> Config:
    name = str(source) if source else "<config>"
    raw, secrets, warnings = expand(raw, environ if environ is not None else dict(os.environ), name, text)
    try:
        base_dir = source.resolve().parent if source else Path.cwd()  # relative paths (ca_file) start here
        config = Config.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise validation_error(exc, name, text, secrets, raw) from None
    config._source = source.resolve() if source else None
    # a channel's webhook URL, token or key is masked even when written in the file rather than as ${VAR}
    config._secrets = frozenset(secrets | {value for channel in config.channel for value in channel.secret_values()})
    config._warnings = tuple(warnings)
    return config


def _check_url(url: str, schemes: tuple[str, ...]) -> str:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in schemes:
        raise ValueError(f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}, got {url!r}")
    return url
