"""The request and reading parts of `[[health]]` and `[[metric]]` (the rest is in `console.config`).

A probe sends `method`, `headers` (values may be `${VAR}` secrets) and `body` or `json`; a metric reads a number
from a URL or from a command's stdout at a `path` (JMESPath or dotted) or with a `pattern`, or a `top` list.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from console.models.numbers import compile_path

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class RequestSpec(BaseModel):
    """What an HTTP probe sends: GET with no body unless told otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    json_body: dict[str, Any] | None = Field(default=None, alias="json")

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str) -> str:
        if method.upper() not in METHODS:
            raise ValueError(f"unknown method {method!r}: expected one of {', '.join(METHODS)}")
        return method.upper()

    @model_validator(mode="after")
    def _one_body(self) -> RequestSpec:
        if self.body is not None and self.json_body is not None:
            raise ValueError("give body (a string) or json (a table), not both")
        return self

    @property
    def sends(self) -> bool:
        """Whether the request differs from a bare GET."""
        return self.method != "GET" or bool(self.headers) or self.body is not None or self.json_body is not None

    def request(self) -> dict[str, Any]:
        """The keyword arguments of `console.sources.http.fetch` for this request."""
        return {"method": self.method, "headers": self.headers, "content": self.body, "json": self.json_body}


class MetricReading(RequestSpec):
    """Where a metric's number (or list) comes from and how it is read."""

    url: str | None = None
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)  # the command's environment: where `${VAR}` secrets go
    promql: str | None = Field(default=None, min_length=1)  # an instant query to `[prometheus]`
    path: str | None = Field(default=None, min_length=1)
    pattern: str | None = None
    kind: Literal["value", "top"] = "value"
    columns: list[str] | None = None
    sort: str | None = None
    limit: int = Field(default=5, ge=1, le=100)

    @field_validator("path")
    @classmethod
    def _jmespath(cls, path: str | None) -> str | None:
        if path is not None:
            compile_path(path)
        return path

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            groups = re.compile(pattern).groups
        except re.error as exc:
            raise ValueError(f"pattern {pattern!r} is not a regular expression: {exc}") from None
        if groups != 1:
            raise ValueError(f"pattern {pattern!r} has {groups} groups; it needs exactly one, around the number")
        return pattern

    @model_validator(mode="after")
    def _one_origin(self) -> MetricReading:
        origins = [name for name in ("url", "command", "promql") if getattr(self, name) is not None]
        if len(origins) != 1:
            which = f"not {' and '.join(origins)}" if origins else "one is required"
            raise ValueError(
                "give url (an HTTP endpoint), command (a program whose stdout has the number) or promql "
                f"(a query to [prometheus]), {which}"
            )
        if self.promql is not None and (self.path is not None or self.pattern is not None or self.sends):
            raise ValueError("path, pattern and the request fields go with url or command, not with promql")
        if self.command is not None:
            if not self.command:
                raise ValueError('command must name a program, e.g. ["docker", "stats", "--no-stream"]')
            if self.sends:
                raise ValueError("method, headers, body and json apply to a url, not to a command")
        elif self.env:
            raise ValueError("env applies to a command, not to a url or promql")
        if self.path is not None and self.pattern is not None:
            raise ValueError("give path (in JSON) or pattern (a regular expression), not both")
        if self.kind == "top":
            self._check_top()
        elif self.columns is not None or self.sort is not None or "limit" in self.model_fields_set:
            raise ValueError('columns, sort and limit apply to kind = "top" only')
        return self

    def _check_top(self) -> None:
        if not self.columns:
            raise ValueError('kind = "top" needs columns, e.g. ["endpoint", "p95"]')
        if self.pattern is not None:
            raise ValueError('kind = "top" reads a JSON array at path; pattern does not apply')
        for column in self.columns:
            compile_path(column, "column")  # a field name or a JMESPath expression on an item
        if self.sort is not None and self.sort not in self.columns:
            raise ValueError(f"sort {self.sort!r} is not one of the columns ({', '.join(self.columns)})")
