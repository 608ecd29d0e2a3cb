"""Config loading: defaults, durations, ${VAR} expansion, lookup order, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from console import config as cfg
from console.config import ConfigError
from console.models import Risk, format_duration
from console.timeparse import parse_duration

FULL = """
[console]
environment = "production"
refresh = "1s"
read_only = true

[[health]]
name = "api"
url = "http://127.0.0.1:9/api/health"
timeout = "500ms"
expect_json = { status = "ok" }

[[metric]]
name = "hit rate"
url = "http://127.0.0.1:9/metrics"
path = "cache.hitRate"
warn = 90
crit = 80
below = true

[postgres]
dsn = "postgresql://app:${PGPASS}@127.0.0.1:5432/app"
long_running = "5m"

[redis]
url = "redis://127.0.0.1:6379/0"

[[logs]]
name = "app"
command = ["docker", "compose", "logs", "-f"]
format = "json"

[actions.rollback]
command = ["./rollback.sh", "--environment", "{environment}", "--version", "{version}"]
params = { version = "release to roll back to" }
risk = "destructive"
timeout = "10m"

[actions.scale]
command = ["docker", "compose", "up", "-d", "--scale", "{service}={replicas}"]
params = { service = "compose service", replicas = { description = "instance count", type = "int" } }

[keys]
"pg.terminate" = "ctrl+k"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        cfg.load(write(tmp_path, text), environ=environ or {})
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / "config.toml") in message
    return message


def test_full_config_loads_with_types_and_secrets(tmp_path: Path) -> None:
    config = cfg.load(write(tmp_path, FULL), environ={"PGPASS": "s3cret-pass"})
    assert config.console.is_production
    assert config.console.refresh == 1.0
    assert config.health[0].timeout == 0.5
    assert config.health[0].expect_json == {"status": "ok"}
    assert config.metric[0].below is True
    assert config.postgres is not None and "s3cret-pass" in config.postgres.dsn
    assert config.postgres.long_running == 300
    assert config.actions["rollback"].risk is Risk.DESTRUCTIVE
    assert config.actions["rollback"].timeout == 600
    assert config.actions["scale"].params["replicas"].type == "int"
    assert config.secrets == {"s3cret-pass"}
    assert config.base_dir == tmp_path.resolve()
    assert config.keys == {"pg.terminate": "ctrl+k"}


def test_defaults_for_an_empty_file(tmp_path: Path) -> None:
    config = cfg.load(write(tmp_path, ""), environ={})
    assert config.console.environment == "default"
    assert config.console.refresh == 2.0
    assert config.console.theme == "incident-dark"
    assert config.postgres is None and config.health == []


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("2s", 2), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("1d", 86400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_format_duration() -> None:
    assert format_duration(0.25) == "250ms"
    assert format_duration(12) == "12s"
    assert format_duration(245) == "4m 05s"
    assert format_duration(7800) == "2h 10m"


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[console]\nenvironment = "x\n')
    assert "line 2" in message and "TOML syntax error" in message


def test_unknown_key_names_line_and_field(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[console]\nenvironment = "x"\nthem = "dark"\n')
    assert "line 3: console.them: unknown key 'them'" in message


def test_wrong_type_names_field_path(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        '[[health]]\nname = "a"\nurl = "http://x"\n[[health]]\nname = "b"\nurl = "http://y"\nwarn_ms = "slow"\n',
    )
    assert "line 7: health[1].warn_ms" in message and "'slow'" in message


def test_bad_duration(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[console]\nrefresh = "2 seconds"\n')
    assert 'console.refresh: expected a duration like "500ms"' in message


def test_missing_env_var_names_it(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[redis]\nurl = "${REDIS_URL}"\n')
    assert "redis.url: environment variable REDIS_URL is not set" in message


def test_literal_dollar_escape(tmp_path: Path) -> None:
    config = cfg.load(write(tmp_path, '[console]\nenvironment = "$${HOME}"\n'), environ={})
    assert config.console.environment == "${HOME}"


def test_undeclared_placeholder(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[actions.rollback]\ncommand = ["x", "{versoin}"]\nparams = { version = "v" }\n')
    assert "actions.rollback" in message and "{versoin}" in message and "declared: version" in message


def test_missing_required_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[[health]]\nname = "h"\n')
    assert "health[0].url: required key 'url' is missing" in message


def test_log_needs_exactly_one_origin(tmp_path: Path) -> None:
    assert "exactly one of path or command" in error_of(tmp_path, '[[logs]]\nname = "a"\n')


def test_duplicate_names(tmp_path: Path) -> None:
    text = '[[health]]\nname = "a"\nurl = "http://x"\n[[health]]\nname = "a"\nurl = "http://y"\n'
    assert "is used twice" in error_of(tmp_path, text)


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = tmp_path / "explicit.toml"
    from_env = tmp_path / "env.toml"
    monkeypatch.setenv("INCIDENT_CONSOLE_CONFIG", str(from_env))
    assert cfg.resolve_config_path(explicit) == explicit
    assert cfg.resolve_config_path(None) == from_env
    monkeypatch.delenv("INCIDENT_CONSOLE_CONFIG")
    assert cfg.resolve_config_path(None) == tmp_path / "xdg_config_home" / "incident-console" / "config.toml"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no config file here"):
        cfg.load(tmp_path / "absent.toml")


# -- intervals, timeouts and what servers accept ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[console]\nrefresh = "{d}"\n', "line 2: console.refresh"),
        ('[[health]]\nname = "a"\nurl = "http://x"\ntimeout = "{d}"\n', "line 4: health[0].timeout"),
        ('[[health]]\nname = "a"\nurl = "http://x"\ninterval = "{d}"\n', "line 4: health[0].interval"),
        ('[[metric]]\nname = "m"\nurl = "http://x"\npath = "p"\ntimeout = "{d}"\n', "line 5: metric[0].timeout"),
        ('[[metric]]\nname = "m"\nurl = "http://x"\npath = "p"\ninterval = "{d}"\n', "line 5: metric[0].interval"),
        ('[redis]\nurl = "redis://x"\ntimeout = "{d}"\n', "line 3: redis.timeout"),
        ('[actions.a]\ncommand = ["x"]\ntimeout = "{d}"\n', "line 3: actions.a.timeout"),
        ('[incident]\nupdate_every = {{ "SEV-1" = "{d}" }}\n', "line 2: incident.update_every.SEV-1"),
    ],
)
@pytest.mark.parametrize("duration", ["0s", "0ms", "0h0m"])
def test_zero_intervals_and_timeouts_are_errors(tmp_path: Path, text: str, field: str, duration: str) -> None:
    message = error_of(tmp_path, text.format(d=duration))
    assert f"{field}: must be more than 0" in message


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[console]\nrefresh = "8d"\n', "line 2: console.refresh: must be at most 7d"),
        ('[actions.a]\ncommand = ["x"]\ntimeout = "99999999999d"\n', "line 3: actions.a.timeout: must be at most 7d"),
        ('[postgres]\ndsn = "postgres://h/db"\nidle_older_than = "400d"\n', "postgres.idle_older_than: must be at"),
    ],
)
def test_durations_beyond_their_range_are_errors(tmp_path: Path, text: str, field: str) -> None:
    assert field in error_of(tmp_path, text)


@pytest.mark.parametrize("value", ["999h", "2147483648ms", "25d", "0.5ms", "0s"])
def test_statement_timeout_outside_what_postgres_accepts(tmp_path: Path, value: str) -> None:
    message = error_of(tmp_path, f'[postgres]\ndsn = "postgres://h/db"\nstatement_timeout = "{value}"\n')
    assert "line 3: postgres.statement_timeout: must be from 1ms to 2147483647ms," in message
    assert "the range PostgreSQL accepts" in message


@pytest.mark.parametrize(("value", "seconds"), [("1ms", 0.001), ("2147483647ms", 2147483.647), ("24d", 2073600)])
def test_statement_timeout_within_what_postgres_accepts(tmp_path: Path, value: str, seconds: float) -> None:
    text = f'[postgres]\ndsn = "postgres://h/db"\nstatement_timeout = "{value}"\nidle_older_than = "0s"\n'
    config = cfg.load(write(tmp_path, text), environ={})
    assert config.postgres is not None and config.postgres.statement_timeout == seconds


# -- command-action params and the environment name ------------------------------------------------


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ('{ pattern = "[a-z" }', "pattern '[a-z' is not a regular expression: unclosed character class"),
        ('{ type = "int", default = "abc" }', "default: expected a whole number, got 'abc'"),
        ('{ type = "float", default = "fast" }', "default: expected a number, got 'fast'"),
        ('{ choices = ["a", "b"], default = "c" }', "default: expected 'a' or 'b', got 'c'"),
        ('{ pattern = "v[0-9]+", default = "v1 " }', "default: expected text matching the pattern"),
        ('{ type = "int", pattern = "[0-9]+" }', 'pattern applies to type "str" only'),
        ('{ choices = ["a"], pattern = "a" }', "give choices or pattern, not both"),
        ("{ choices = [] }", "choices: expected at least 1 item, got an empty array"),
    ],
)
def test_param_spec_is_checked_at_load(tmp_path: Path, param: str, expected: str) -> None:
    message = error_of(tmp_path, f'[actions.a]\ncommand = ["x", "{{v}}"]\nparams = {{ v = {param} }}\n')
    assert "line 3: actions.a.params.v" in message and expected in message


def test_param_defaults_are_typed(tmp_path: Path) -> None:
    text = (
        '[actions.a]\ncommand = ["x", "{n}", "{r}"]\n[actions.a.params]\nn = { type = "int", default = "3" }\nr = "r"\n'
    )
    spec = cfg.load(write(tmp_path, text), environ={}).actions["a"]
    assert spec.params["n"].typed_default() == 3 and spec.params["r"].typed_default() is ...


@pytest.mark.parametrize("name", ["", "  ", "\t", "prod ", " prod"])
def test_environment_must_be_a_name(tmp_path: Path, name: str) -> None:
    message = error_of(tmp_path, f'[console]\nenvironment = "{name}"\n')
    assert "line 2: console.environment: " in message and "typed confirmation" in message
