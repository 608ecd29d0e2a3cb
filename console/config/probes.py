"""The request and reading parts of `[[health]]` and `[[metric]]` (the rest is in `console.config`).

A probe sends `method`, `headers` (values may be `${VAR}` secrets) and `body` or `json`, trusting a `ca_file` and
through a `proxy` when it names them (`HttpRoute`, also in `[console]`, `[prometheus]` and `[alertmanager]`); a metric
reads a number from a URL or from a command's stdout at a `path` (JMESPath or dotted) or with a `pattern`, or a `top`
list.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from console.config.types import Duration, at_most
from console.models.numbers import compile_path

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
PROXY_FROM_ENV = "env"  # `proxy = "env"`: HTTPS_PROXY / HTTP_PROXY / NO_PROXY, read only when the config says so
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # what a header name may hold (RFC 9110)
CertLead = Annotated[Duration, at_most(3650, zero_ok=False)]  # how long before expiry: "14d"


def readable_pem(path: Path | None, info: ValidationInfo) -> Path | None:
    """A `ca_file`: relative to the config's folder, read now, so a missing or wrong file is a config error."""
    if path is None:
        return None
    path = (info.context or {}).get("base_dir", Path.cwd()) / path.expanduser()
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except ssl.SSLError:  # before OSError, which it is
        raise ValueError(f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE----- ...)") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc} (a PEM file of CA certificates)") from None
    return path


def one_line_headers(headers: dict[str, str]) -> dict[str, str]:
    """Request headers: each name a token, each value one line."""
    for name, value in headers.items():
        if not TOKEN.fullmatch(name):
            raise ValueError(f"header name {name!r} is not a token (letters, digits and !#$%&'*+-.^_`|~ only)")
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"header {name}'s value holds a line break or NUL; a header value is one line")
    return headers


class HttpRoute(BaseModel):
    """How HTTP requests leave: `ca_file`, PEM CA certificates trusted beside the system's, and `proxy`, an
    http:// proxy or "env" (HTTPS_PROXY / HTTP_PROXY / NO_PROXY). A target's own replace `[console]`'s."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    ca_file: Path | None = None
    proxy: str | None = None

    @field_validator("ca_file")
    @classmethod
    def _readable_pem(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return readable_pem(path, info)

    @field_validator("proxy")
    @classmethod
    def _http_proxy(cls, proxy: str | None) -> str | None:
        if proxy is None or proxy == PROXY_FROM_ENV:
            return proxy
        parts = urlsplit(proxy)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(
                f'expected "env" (HTTPS_PROXY / HTTP_PROXY / NO_PROXY) or an http:// proxy URL such as '
                f'"http://proxy:3128", got {proxy!r}'
            )
        return proxy

    @property
    def routed(self) -> bool:
        """Whether it names a CA file or a proxy."""
        return self.ca_file is not None or self.proxy is not None

    def route(self) -> dict[str, Any]:
        """The `ca_file` and `proxy` keyword arguments of `console.http.fetch`."""
        return {"ca_file": self.ca_file, "proxy": self.proxy}


class RequestSpec(HttpRoute):
    """What an HTTP probe sends: GET with no body unless told otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    json_body: dict[str, Any] | None = Field(default=None, alias="json")

    @field_validator("headers")
    @classmethod
    def _one_line_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        return one_line_headers(headers)

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
        """The keyword arguments of `console.http.fetch` for this request."""
        return {
            "method": self.method,
            "headers": self.headers,
            "content": self.body,
            "json": self.json_body,
            **self.route(),
        }


class CertExpiry(BaseModel):
    """`cert_warn` / `cert_crit` on an https `[[health]]` target: how long before its certificate expires it turns
    warn and crit (the days left are a check of their own, `cert:NAME`, read from the probe's own handshake)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    cert_warn: CertLead | None = None
    cert_crit: CertLead | None = None

    @model_validator(mode="after")
    def _https_and_crit_sooner(self) -> CertExpiry:
        if self.cert_warn is None and self.cert_crit is None:
            return self
        url = str(getattr(self, "url", ""))
        if not url.lower().startswith("https://"):
            given = "cert_warn" if self.cert_warn is not None else "cert_crit"
            raise ValueError(f"{given}: only an https:// url has a certificate to watch, got {url!r}")
        if self.cert_warn is not None and self.cert_crit is not None and self.cert_crit >= self.cert_warn:
            raise ValueError("cert_crit must be shorter than cert_warn (crit is the nearer expiry), e.g. 3d and 14d")
        return self


class MetricReading(RequestSpec):
    """Where a metric's number (or list) comes from and how it is read."""

    url: str | None = None
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)  # the command's environment: where `${VAR}` secrets go
    promql: str | None = Field(default=None, min_length=1)  # an instant query to `[prometheus]`
    redis_keys: str | None = Field(default=None, min_length=1)  # a pattern whose keys in `[redis]` are counted
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
        origins = [name for name in ("url", "command", "promql", "redis_keys") if getattr(self, name) is not None]
        if len(origins) != 1:
            which = f"not {' and '.join(origins)}" if origins else "one is required"
            raise ValueError(
                "give url (an HTTP endpoint), command (a program whose stdout has the number), promql (a query to "
                f"[prometheus]) or redis_keys (a pattern whose keys in [redis] are counted), {which}"
            )
        server = "promql" if self.promql is not None else "redis_keys" if self.redis_keys is not None else None
        if server and (self.path is not None or self.pattern is not None or self.sends):
            raise ValueError(f"path, pattern and the request fields go with url or command, not with {server}")
        if self.promql is not None and self.routed:
            raise ValueError("a promql query goes to [prometheus]: set ca_file and proxy there")
        if self.redis_keys is not None and self.routed:
            raise ValueError("ca_file and proxy are for HTTP: a redis_keys count reads [redis] at its url")
        if self.redis_keys is not None and self.kind == "top":
            raise ValueError('redis_keys is one number, a count: kind = "top" does not apply')
        if self.command is not None:
            if not self.command:
                raise ValueError('command must name a program, e.g. ["docker", "stats", "--no-stream"]')
            if self.sends or self.routed:
                raise ValueError("method, headers, body, json, ca_file and proxy apply to a url, not to a command")
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
