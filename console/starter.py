"""For newcomers: `incident-console init [PATH]` writes a commented starter config (`starter.toml`, package data),
and `incident-console config schema` prints the config's JSON Schema for editor completion and checking."""

from __future__ import annotations

import os
import shlex
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

from console.config import Config
from console.output import json_text, out
from console.timeparse import parse_duration

if TYPE_CHECKING:
    from pydantic_core import core_schema

EXIT_OK, EXIT_USAGE = 0, 2
DURATION = {
    "type": "string",
    "pattern": r"^\s*(\d+(\.\d+)?\s*(ms|s|m|h|d))+\s*$",
    "description": 'a duration: "500ms", "2s", "5m", "1h" or "1h30m"',
}


def starter_text() -> str:
    """The starter config: every section shown, commented out, so that it loads as it is."""
    return resources.files("console").joinpath("starter.toml").read_text(encoding="utf-8")


def init(path: Path) -> int:
    """Write the starter to `path` (mode 0600, missing folders 0700); an existing path is never overwritten."""
    try:
        _make_folders(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        out(f"incident-console: {path} exists; not overwritten", err=True)
        return EXIT_USAGE
    except OSError as exc:
        out(f"incident-console: {path}: cannot write it: {exc.strerror or exc}", err=True)
        return EXIT_USAGE
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(starter_text())
    out(f"wrote {path}: edit it, then run `incident-console check --config {shlex.quote(str(path))}`")
    return EXIT_OK


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the config file (`Config.model_json_schema()`, with the forms the TOML may use)."""
    schema = Config.model_json_schema(schema_generator=_TomlSchema)
    params = schema["$defs"]["CommandAction"]["properties"]["params"]
    params["additionalProperties"] = {  # `version = "what it is"` is short for `version = { description = ... }`
        "anyOf": [{"type": "string", "description": "the parameter's description"}, params["additionalProperties"]]
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def print_schema() -> int:
    """`config schema`: the JSON Schema, indented."""
    out(json_text(config_schema(), indent=2))
    return EXIT_OK


class _TomlSchema(GenerateJsonSchema):
    """Durations are written as strings ("2s"), which the model parses into seconds before its float type."""

    def function_before_schema(self, schema: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
        if _is_duration(schema):
            return dict(DURATION)
        return super().function_before_schema(schema)

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if _is_duration(schema["schema"]) and isinstance(json_schema.get("default"), float):
            json_schema["default"] = _duration_text(json_schema["default"])
        return json_schema


def _is_duration(schema: Any) -> bool:
    while schema.get("type") == "function-after":  # a range check around the duration parser
        schema = schema["schema"]
    return schema.get("type") == "function-before" and schema["function"].get("function") is parse_duration


def _duration_text(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{round(seconds * 1000)}ms"


def _make_folders(folder: Path) -> None:
    """Create `folder` and its missing parents, each 0700."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        each.mkdir(mode=0o700, exist_ok=True)
