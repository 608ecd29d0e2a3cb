"""`[actions.NAME]` command actions in the config: the argv template, its typed params and where values go."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import (
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import SchemaError

from console.config_load import plain_message
from console.config_types import Model, Period
from console.models import Risk

# Where a value goes: `{msg|json}` is a JSON string (quotes included), `{x|url}` is escaped for a URL component.
FILTERS: dict[str, Callable[[str], str]] = {
    "json": lambda value: json.dumps(value, ensure_ascii=False),
    "url": lambda value: quote(value, safe=""),
}
_TYPES: dict[str, type] = {"str": str, "int": int, "float": float}


class ParamSpec(Model):
    """A typed parameter of a command action: one of `choices`, or a `type` (a str matching `pattern` whole)."""

    description: str = ""
    type: Literal["str", "int", "float"] = "str"
    pattern: str | None = None
    choices: list[str] | None = Field(default=None, min_length=1)
    default: str | None = None
    secret: bool = False  # asked without echo, masked in the plan, the journal, on screen and in the output

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
                reason = plain_message(exc.errors()[0])
                raise ValueError(f"default: {reason} (fix the default or the param)") from None
        return self


class CommandAction(Model):
    """`[actions.NAME]`: an argv template run without a shell (rollback, scale, maintenance mode...)."""

    command: list[str] = Field(min_length=1)
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    risk: Risk = Risk.WRITE
    timeout: Period = 600.0
    description: str = ""
    stdin: str | None = None  # a template like the arguments, fed to the command's standard input

    @field_validator("params", mode="before")
    @classmethod
    def _short_params(cls, params: Any) -> Any:
        if isinstance(params, dict):
            return {k: {"description": v} if isinstance(v, str) else v for k, v in params.items()}
        return params

    @model_validator(mode="after")
    def _declared_placeholders(self) -> CommandAction:
        allowed = {"environment", *self.params}
        templates = [(f"command[{i}]", arg) for i, arg in enumerate(self.command)]
        templates += [("stdin", self.stdin)] if self.stdin is not None else []
        for where, template in templates:
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
            except ValueError as exc:
                raise ValueError(f"{where} {template!r}: {exc} (write {{{{ and }}}} for literal braces)") from None
            for field in fields:
                name, _, wanted = field.partition("|")
                if name not in allowed:
                    declared = ", ".join(sorted(self.params)) or "none"
                    raise ValueError(
                        f"{where} uses {{{name}}}, which is not declared in params "
                        f"(declared: {declared}; {{environment}} is always available)"
                    )
                if wanted and wanted not in FILTERS:
                    raise ValueError(f"{where} uses {{{field}}}: unknown filter {wanted!r} (filters: json, url)")
        return self
