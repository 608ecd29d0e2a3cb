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
    message = error_of(tmp_path, '[[metric]]\nname = "m"\nurl = "http://x"\n')
    assert "metric[0].path: required key 'path' is missing" in message


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
