"""`[[changes]]`: where the change ledger reads what was deployed, changed or run (console/changes/).

Three kinds, a union on `kind`: `git` (a local clone read with the git binary, never fetched), `http` (a JSON endpoint
sent as `[[health]]` sends: method, headers with `${VAR}` secrets, body or json, ca_file, proxy) and `command` (a
program printing JSON). `http` and `command` say with JMESPath where the list is (`items`) and where each field of a
change is in an item (`map`). A name may not hold `:`: the built-in sources are named `console:actions`,
`console:config`, `postgres:settings` and `redis:config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from console.config.probes import RequestSpec
from console.config.types import Duration, Model, Period, at_most
from console.models.numbers import compile_path

CHANGE_KINDS = ("deploy", "config", "flag", "migration", "infra", "action")
ChangeKind = Literal["deploy", "config", "flag", "migration", "infra", "action"]
# The fields of a change a `map` may fill; `id` and `time` it must.
FIELDS = ("id", "time", "live_at", "kind", "service", "version", "summary", "author", "url")
REQUIRED = ("id", "time")
Horizon = Annotated[Duration, at_most(365, zero_ok=False)]


class _ChangeSource(Model):
    """What every `[[changes]]` source has: a name (no `:`), the service it is about, how often it is read and
    how far back its changes are journaled."""

    name: str = Field(min_length=1)
    service: str | None = Field(default=None, min_length=1)  # matched against the failing checks' names
    interval: Period = 60.0
    timeout: Period = 10.0
    horizon: Horizon = 86400.0  # changes older than this are shown, never journaled

    @field_validator("name")
    @classmethod
    def _no_colon(cls, name: str) -> str:
        if ":" in name:
            raise ValueError(
                f"{name!r} holds ':', which only the built-in sources' names hold (console:actions, console:config, "
                'postgres:settings, redis:config); pick a name without it, e.g. "api repo"'
            )
        return name


class GitChanges(_ChangeSource):
    """`kind = "git"`: the commits of `ref` in a local clone, and its tags matching `tags` as deploys."""

    kind: Literal["git"]
    repo: Path
    ref: str = Field(default="HEAD", min_length=1)
    tags: str | None = Field(default=None, min_length=1)  # a glob, e.g. "v*"
    change_kind: ChangeKind = "deploy"  # the kind of a commit (a tag matching `tags` is a deploy)

    @field_validator("repo")
    @classmethod
    def _from_config_folder(cls, repo: Path, info: ValidationInfo) -> Path:
        return (info.context or {}).get("base_dir", Path.cwd()) / repo.expanduser()

    @field_validator("ref")
    @classmethod
    def _not_an_option(cls, ref: str) -> str:
        if ref.startswith("-"):
            raise ValueError(f"ref {ref!r} starts with '-'; name a branch, tag or commit, e.g. \"main\"")
        return ref


class _Mapped(Model):
    """`items` (JMESPath to the list) and `map` (a field of a change -> JMESPath on an item)."""

    items: str = "@"
    map: dict[str, str]
    change_kind: ChangeKind = "deploy"  # the kind of what the source lists, unless `map` has a `kind`

    @field_validator("items")
    @classmethod
    def _items_path(cls, path: str) -> str:
        compile_path(path, "items")
        return path

    @field_validator("map")
    @classmethod
    def _map_paths(cls, mapping: dict[str, str]) -> dict[str, str]:
        unknown = [name for name in mapping if name not in FIELDS]
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r} in map (fields: {', '.join(FIELDS)})")
        missing = [name for name in REQUIRED if name not in mapping]
        if missing:
            raise ValueError(f'map needs {" and ".join(missing)}, e.g. map = {{ id = "id", time = "created_at" }}')
        for name, path in mapping.items():
            compile_path(path, f"map.{name}")
        return mapping


class HttpChanges(RequestSpec, _Mapped, _ChangeSource):
    """`kind = "http"`: a JSON endpoint (GitHub deployments, Vercel's deployments API, a release list)."""

    kind: Literal["http"]
    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"expected a URL starting with http:// or https://, got {url!r}")
        return url


class CommandChanges(_Mapped, _ChangeSource):
    """`kind = "command"`: a program (argv, no shell) printing JSON, e.g. `wrangler deployments list --json`."""

    kind: Literal["command"]
    command: list[str]
    env: dict[str, str] = Field(default_factory=dict)  # the command's environment: where `${VAR}` secrets go

    @model_validator(mode="after")
    def _a_program(self) -> CommandChanges:
        if not self.command or not self.command[0]:
            raise ValueError('command must name a program, e.g. ["wrangler", "deployments", "list", "--json"]')
        return self


ChangeSettings = Annotated[GitChanges | HttpChanges | CommandChanges, Field(discriminator="kind")]
