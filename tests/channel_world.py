"""What the channel tests share: a config whose channels point at a loopback `ChannelServer`, a journal with an open
incident on a manual clock, and an SMTP server (aiosmtpd) that answers as a test scripts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from console.channels.outbox import Outbox
from console.clock import ManualClock
from console.config import Config, loads
from console.demo.servers import free_port
from console.demo.servers.channels import ChannelServer
from console.incident.commands import IncidentDesk
from console.journal import Journal

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def channels_toml(server: ChannelServer, *, timeout: str = "2s", interval: str = "0s", smtp: str | None = None) -> str:
    """One channel of each kind, all on `server` (and an e-mail channel on `smtp`, a URL, when given)."""
    c, url = server.credentials, server.url
    common = f'timeout = "{timeout}"\nmin_interval = "{interval}"\n'
    text = (
        f'[console]\nenvironment = "production"\n\n'
        f'[[channel]]\nname = "chat"\nkind = "slack"\nurl = "{url}{c.slack_hook}"\ntoken = "{c.slack_token}"\n'
        f'api = "{url}/slack/api"\n{common}\n'
        f'[[channel]]\nname = "team"\nkind = "teams"\nurl = "{url}{c.teams_hook}"\n{common}\n'
        f'[[channel]]\nname = "hook"\nkind = "webhook"\nurl = "{url}/hook/in"\naudience = "stakeholders"\n'
        'template = \'{"content": {text|json}, "incident": {incident|json}}\'\n'
        f'headers = {{ X-Hook-Secret = "hook-secret-value" }}\n{common}\n'
        f'[[channel]]\nname = "status"\nkind = "statuspage"\npage_id = "page1"\ntoken = "{c.statuspage_token}"\n'
        f'api = "{url}/statuspage/v1"\ncomponents = {{ production = "cmp-api" }}\n{common}\n'
        f'[[channel]]\nname = "oncall"\nkind = "pagerduty"\nrouting_key = "{c.pagerduty_key}"\n'
        f'token = "{c.pagerduty_token}"\napi = "{url}/pagerduty"\nrest_api = "{url}/pagerduty-api"\n{common}\n'
        f'[[channel]]\nname = "genie"\nkind = "opsgenie"\napi_key = "{c.opsgenie_key}"\napi = "{url}/opsgenie"\n'
        f"{common}\n"
    )
    if smtp is not None:
        text += (
            f'[[channel]]\nname = "mail"\nkind = "email"\nsmtp = "{smtp}"\nfrom = "ic@example.com"\n'
            f'to = ["cto@example.com", "support@example.com"]\nstarttls = false\n{common}\n'
        )
    return text


@dataclass
class World:
    """A journal with an open incident, its config and outbox, on a manual clock."""

    config: Config
    journal: Journal
    clock: ManualClock
    desk: IncidentDesk
    outbox: Outbox

    def post(self, channels: list[str], kind: str = "update", **fields: str) -> dict:
        from console.incident.updates import draft_update

        state = self.desk.state()
        assert state is not None
        kind = "initial" if not state.updates and kind == "update" else kind
        return self.desk.post_update(kind, {**draft_update(state, kind, self.clock.now()), **fields}, channels)

    async def send(self) -> list[Any]:
        sent = await self.outbox.send_due()
        assert sent is not None
        return sent

    def kinds(self) -> list[tuple[str, Any]]:
        return [(e["kind"], (e["data"] or {}).get("status")) for e in self.journal.entries()]


def world(tmp_path: Path, toml: str, *, title: str = "checkout returns 500s on api-1.internal.example") -> World:
    clock = ManualClock(START)
    config = loads(toml, source=tmp_path / "config.toml")
    journal = Journal(tmp_path / "journal" / "journal.jsonl", environment="production", clock=clock.now)
    desk = IncidentDesk(journal, clock, config.incident)
    desk.declare(title, "SEV-1")
    return World(config, journal, clock, desk, Outbox(journal, config, clock.now))


@dataclass
class Mailbox:
    """What the SMTP server took, and what it answers next (`reply`: e.g. "451 try later"; `hang`: after DATA)."""

    messages: list[Any] = field(default_factory=list)
    reply: str | None = None
    hang: bool = False
    release: asyncio.Event | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hang:
            self.release = asyncio.Event()
            await self.release.wait()
        if self.reply is not None:
            return self.reply
        self.messages.append(envelope)
        return "250 OK"


def smtp_server(mailbox: Mailbox, *, password: str | None = None) -> Controller:
    """aiosmtpd on a free loopback port (started by the caller): logs in `ic` with `password` when given."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == b"ic" and data.password == (password or "").encode()
        return AuthResult(success=ok, handled=False)

    auth: dict[str, Any] = {"authenticator": check, "auth_require_tls": False} if password else {}
    return Controller(mailbox, hostname="127.0.0.1", port=free_port(), **auth)
