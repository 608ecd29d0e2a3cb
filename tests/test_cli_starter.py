"""For newcomers: `--version`, `init [PATH]` (a commented starter config) and `config schema`."""

from __future__ import annotations

import json
import re
import stat
import tomllib
from importlib import metadata
from pathlib import Path

from console import config
from console.starter import starter_text
from tests.helpers import cli

SECTIONS = ("[[health]]", "[[metric]]", "[postgres]", "[redis]", "[[logs]]", "[actions.", "[keys]", "[incident]")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _uncommented(text: str) -> str:
    """The starter with every example line switched on (`# key = value`; prose comments start with `##`)."""
    return "\n".join(line[2:] if line.startswith("# ") else line for line in text.splitlines())


def test_version_is_the_package_version() -> None:
    done = cli("--version")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == f"incident-console {metadata.version('incident-console')}\n"
    assert re.fullmatch(r"incident-console \d+\.\d+\.\d+\n", done.stdout)


def test_version_after_run_action_is_still_the_action_param(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[actions.rollback]\ncommand = ["echo", "{version}"]\nparams = { version = "release" }\n')
    done = cli("run", "rollback", "--config", path, "--version", "v1.2.2", "--dry-run")
    assert done.returncode == 0 and "runs echo v1.2.2" in done.stdout, done.stderr


def test_init_writes_a_private_commented_starter_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "prod.toml"
    done = cli("init", path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout == f"wrote {path}: edit it, then run `incident-console check --config {path}`\n"
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700 and _mode(path.parent.parent) == 0o700
    text = path.read_text()
    assert text == starter_text()
    assert "[console]" in text and all(f"\n# {section}" in text for section in SECTIONS)
    assert "incident-console config schema > incident-console.schema.json" in text
    assert "#:schema ./incident-console.schema.json" in text
    loaded = config.load(path)
    assert loaded.health == [] and loaded.postgres is None  # every example is commented out
    checked = cli("check", "--config", path)
    assert checked.returncode == 0 and "valid; 0 of 0 targets reachable" in checked.stdout


def test_init_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# mine\n")
    done = cli("init", path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"incident-console: {path} exists; not overwritten\n"
    assert path.read_text() == "# mine\n"


def test_init_defaults_to_the_default_config_path() -> None:
    path = config.resolve_config_path(None)  # under this test's own XDG_CONFIG_HOME
    assert not path.exists()
    assert cli("init").returncode == 0
    assert path.read_text() == starter_text()
    done = cli("init")
    assert done.returncode == 2 and done.stderr == f"incident-console: {path} exists; not overwritten\n"


def test_every_example_in_the_starter_is_valid(tmp_path: Path) -> None:
    environ = {"DATABASE_URL": "postgresql://app:pw@db:5432/app", "REDIS_URL": "redis://cache:6379/0"}
    full = config.loads(_uncommented(starter_text()), source=tmp_path / "config.toml", environ=environ)
    assert [h.name for h in full.health] == ["api"] and [m.name for m in full.metric] == ["error rate"]
    assert full.postgres is not None and full.redis is not None and [x.name for x in full.logs] == ["app"]
    assert list(full.actions) == ["rollback", "unhealthy-targets"] and full.actions["unhealthy-targets"].script
    assert full.keys and full.incident.update_every


def test_config_schema_describes_the_file() -> None:
    done = cli("config", "schema")
    assert done.returncode == 0 and done.stderr == ""
    schema = json.loads(done.stdout)
    assert done.stdout.startswith('{\n  "$schema": ')  # indented
    properties = schema["properties"]
    assert {"console", "health", "metric", "postgres", "redis", "logs", "actions"} <= set(properties)
    assert schema["additionalProperties"] is False
    assert config.Config.model_validate(tomllib.loads(starter_text())).console.environment == "staging"
    # Durations are strings in the file ("2s"), not the seconds the model holds.
    refresh = schema["$defs"]["ConsoleSettings"]["properties"]["refresh"]
    assert refresh["type"] == "string" and refresh["default"] == "2s"
    assert all(re.match(refresh["pattern"], d) for d in ("500ms", "2s", "10m", "1h30m"))
    assert not re.match(refresh["pattern"], "3")
    shorthand = schema["$defs"]["CommandAction"]["properties"]["params"]["additionalProperties"]["anyOf"]
    assert {"type": "string", "description": "the parameter's description"} in shorthand
