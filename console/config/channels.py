"""`[[channel]]` in the config: where status updates are posted and pages are sent (`console.channels` sends them).

Every kind has a `name`, a `timeout` for one attempt and a `min_interval` between two sends to it; the kinds that
post updates have an `audience` (what the text leaves out depends on it). The HTTP kinds route through the one HTTP
layer like every other section (`ca_file`, `proxy`). What a kind holds that would let someone post or page in the
team's name (a webhook URL, a token, a routing key, the SMTP password) is a secret: `Config.secrets` holds it whether
it came from `${VAR}` or not, so it is masked in the journal, on screen, in errors and in exports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from console.config.probes import HttpRoute, one_line_headers, readable_pem
from console.config.types import Duration, Model, Period, at_most

Audience = Literal["internal", "customers", "stakeholders"]
AUDIENCES: tuple[Audience, ...] = ("internal", "stakeholders", "customers")
MinInterval = Annotated[Duration, at_most(1, zero_ok=True)]
LOOPBACK = ("127.0.0.1", "::1", "localhost")
# `{name}` or `{name|json}` in a webhook's template; the names are the message's (console.channels.message)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(\|json)?\}")
TEMPLATE_NAMES = ("text", "title", "incident", "severity", "status", "kind", "environment")
_SAMPLE = {name: f'a "{name}"\nwith a second line' for name in TEMPLATE_NAMES}


def render_template(template: str, values: dict[str, str]) -> str:
    """A webhook body: each `{name}` replaced by the value as it is, each `{name|json}` by it as a JSON string."""

    def put(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        return json.dumps(value, ensure_ascii=False) if match.group(2) else value

    return _PLACEHOLDER.sub(put, template)


def _http_url(url: str) -> str:
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ValueError("expected an http:// or https:// URL (write it as ${VAR}: it is a secret)")
    return url


class _Channel(Model):
    """What every channel has."""

    name: str = Field(min_length=1)
    timeout: Period = 10.0
    min_interval: MinInterval = 1.0  # Slack accepts about one message a second per channel; Statuspage one request

    def secret_values(self) -> list[str]:
        """The values that must never be shown: masked wherever the config's `${VAR}` secrets are."""
        return []

    @property
    def target(self) -> str:
        """Where it goes, in words safe to show (no secret)."""
        return self.kind_name

    @property
    def kind_name(self) -> str:
        return str(getattr(self, "kind", "?"))


class _Posting(_Channel):
    """A channel that status updates are posted to."""

    audience: Audience = "internal"


class SlackChannel(HttpRoute, _Posting):
    """`kind = "slack"`: an incoming webhook; with `token` (a bot token) `check` calls auth.test instead of posting."""

    kind: Literal["slack"]
    url: str
    token: str | None = None
    api: str = "https://slack.com/api"

    _url = field_validator("url", "api")(_http_url)

    def secret_values(self) -> list[str]:
        return [self.url, *([self.token] if self.token else [])]

    @property
    def target(self) -> str:
        return "a Slack incoming webhook"


class TeamsChannel(HttpRoute, _Posting):
    """`kind = "teams"`: a Microsoft Teams incoming webhook or workflow URL."""

    kind: Literal["teams"]
    url: str

    _url = field_validator("url")(_http_url)

    def secret_values(self) -> list[str]:
        return [self.url]

    @property
    def target(self) -> str:
        return "a Teams webhook"


class WebhookChannel(HttpRoute, _Posting):
    """`kind = "webhook"`: any HTTP endpoint, its JSON body made from `template`."""

    kind: Literal["webhook"]
    url: str
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    template: str = '{"text": {text|json}}'

    _url = field_validator("url")(_http_url)
    _headers = field_validator("headers")(one_line_headers)

    @field_validator("template")
    @classmethod
    def _json_template(cls, template: str) -> str:
        unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(template)} - set(TEMPLATE_NAMES))
        if unknown:
            raise ValueError(f"{{{unknown[0]}}} is not a value the console fills in ({', '.join(TEMPLATE_NAMES)})")
        try:
            json.loads(render_template(template, _SAMPLE))
        except ValueError:
            raise ValueError(
                'the template does not make JSON once filled in: write a value inside JSON as {text|json}, e.g. '
                '{"text": {text|json}}'
            ) from None
        return template

    def secret_values(self) -> list[str]:
        return [self.url, *(value for value in self.headers.values() if value)]

    @property
    def target(self) -> str:
        return "a webhook"


class StatuspageChannel(HttpRoute, _Posting):
    """`kind = "statuspage"`: an Atlassian Statuspage page; the first update opens an incident there, later ones edit
    it. `components` maps a service name (the update's Service field) to a component id."""

    kind: Literal["statuspage"]
    audience: Audience = "customers"
    page_id: str = Field(pattern=r"^[A-Za-z0-9]+$")
    token: str = Field(min_length=1)
    components: dict[str, str] = Field(default_factory=dict)
    api: str = "https://api.statuspage.io/v1"

    _url = field_validator("api")(_http_url)

    def secret_values(self) -> list[str]:
        return [self.token]

    @property
    def target(self) -> str:
        return f"Statuspage page {self.page_id}"


class EmailChannel(_Posting):
    """`kind = "email"`: mail through an SMTP server: `smtps://` is TLS from the start, `smtp://` upgrades with
    STARTTLS (`starttls = false` only to a loopback server); `user:password@` logs in."""

    kind: Literal["email"]
    audience: Audience = "stakeholders"
    smtp: str
    from_: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)
    starttls: bool = True
    ca_file: Path | None = None

    @field_validator("ca_file")
    @classmethod
    def _readable_pem(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return readable_pem(path, info)

    @field_validator("smtp")
    @classmethod
    def _smtp_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("expected smtp://host:587 (STARTTLS) or smtps://host:465 (TLS), user:password@ to log in")
        return url

    @field_validator("from_")
    @classmethod
    def _address(cls, address: str) -> str:
        if "@" not in address or any(c in address for c in "\r\n"):
            raise ValueError(f"expected an e-mail address, got {address!r}")
        return address

    @field_validator("to")
    @classmethod
    def _addresses(cls, addresses: list[str]) -> list[str]:
        for address in addresses:
            cls._address(address)
        return addresses

    @model_validator(mode="after")
    def _clear_only_on_loopback(self) -> EmailChannel:
        parts = urlsplit(self.smtp)
        if not self.starttls and (parts.scheme == "smtps" or parts.hostname not in LOOPBACK):
            raise ValueError(
                "starttls = false sends the updates and the password in clear: only to a server on this host "
                "(127.0.0.1); use smtps:// or STARTTLS for any other"
            )
        return self

    @property
    def password(self) -> str | None:
        password = urlsplit(self.smtp).password
        return unquote(password) if password else None

    def secret_values(self) -> list[str]:
        return [self.password] if self.password else []

    @property
    def target(self) -> str:
        parts = urlsplit(self.smtp)
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
        return f"mail to {', '.join(self.to)} via {parts.hostname}:{port}"


class PagerDutyChannel(HttpRoute, _Channel):
    """`kind = "pagerduty"`: pages through the Events API v2 (`routing_key`, an integration key); with `token` (a
    REST API key) the acknowledgement is read back and `check` reaches the API."""

    kind: Literal["pagerduty"]
    routing_key: str = Field(min_length=1)
    token: str | None = None
    api: str = "https://events.pagerduty.com"
    rest_api: str = "https://api.pagerduty.com"

    _url = field_validator("api", "rest_api")(_http_url)

    def secret_values(self) -> list[str]:
        return [self.routing_key, *([self.token] if self.token else [])]

    @property
    def target(self) -> str:
        return "PagerDuty (Events API v2)"


class OpsgenieChannel(HttpRoute, _Channel):
    """`kind = "opsgenie"`: pages through the Alert API (`api_key`, an API integration's key) in its `region`."""

    kind: Literal["opsgenie"]
    api_key: str = Field(min_length=1)
    region: Literal["us", "eu"] = "us"
    api: str | None = None  # the region's API unless given

    @field_validator("api")
    @classmethod
    def _api_url(cls, url: str | None) -> str | None:
        return url if url is None else _http_url(url)

    @property
    def base(self) -> str:
        return self.api or ("https://api.eu.opsgenie.com" if self.region == "eu" else "https://api.opsgenie.com")

    def secret_values(self) -> list[str]:
        return [self.api_key]

    @property
    def target(self) -> str:
        return f"Opsgenie ({self.region})"


PostingChannel = SlackChannel | TeamsChannel | WebhookChannel | StatuspageChannel | EmailChannel
PagingChannel = PagerDutyChannel | OpsgenieChannel
ChannelSettings = Annotated[PostingChannel | PagingChannel, Field(discriminator="kind")]
POSTING = (SlackChannel, TeamsChannel, WebhookChannel, StatuspageChannel, EmailChannel)
PAGING = (PagerDutyChannel, OpsgenieChannel)


def is_paging(channel: Any) -> bool:
    return isinstance(channel, PAGING)
