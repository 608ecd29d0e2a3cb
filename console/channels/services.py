"""How each kind of channel speaks to its service: the request one message becomes, what the answer means, how
`check` reaches it without posting, and (paging) how an acknowledgement is read back. Every HTTP kind goes through
the one HTTP layer (`console.http.fetch`, the channel's `ca_file` and `proxy`); e-mail is `console.channels.email`.
aiohttp (console.http) is imported when a channel is first reached, never on the console's start path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from console import outside_json
from console.channels.attempt import Attempt, excerpt, judge
from console.config.channels import (
    ChannelSettings,
    EmailChannel,
    OpsgenieChannel,
    PagerDutyChannel,
    SlackChannel,
    StatuspageChannel,
    TeamsChannel,
    WebhookChannel,
    render_template,
)
from console.models.health import HttpResult
from console.sources.reach import Reach

if TYPE_CHECKING:
    from console.http import HttpClient

PAGERDUTY_SEVERITY = ("critical", "error", "warning", "info")  # by the incident's severity rank, most severe first
STATUSPAGE_STATUS = {"investigating": "investigating", "identified": "identified", "monitoring": "monitoring"}
SOURCE = "incident-console"


@dataclass(frozen=True)
class Outgoing:
    """One message as one channel sends it: the journal entry's kind, seq, incident and data, the text its audience
    reads (a page's summary), an e-mail subject, the webhook template's values, and what earlier deliveries to this
    channel in this incident answered (`previous`: the Statuspage incident to edit)."""

    kind: str
    seq: int
    incident: str | None
    data: dict[str, Any]
    text: str
    subject: str = ""
    values: dict[str, str] = field(default_factory=dict)
    previous: dict[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        rank = self.data.get("rank")
        return rank if isinstance(rank, int) and rank >= 0 else 1

    @property
    def resolving(self) -> bool:
        return self.data.get("action") == "resolve"


async def send(channel: ChannelSettings, message: Outgoing, client: HttpClient, now: datetime) -> Attempt:
    """One attempt, within the channel's timeout."""
    if isinstance(channel, EmailChannel):
        from console.channels.email import send_mail

        return await send_mail(channel, message)
    if isinstance(channel, StatuspageChannel):
        return await _statuspage(channel, message, client, now)
    if isinstance(channel, PagerDutyChannel):
        return await _pagerduty(channel, message, client, now)
    if isinstance(channel, OpsgenieChannel):
        return await _opsgenie(channel, message, client, now)
    if isinstance(channel, SlackChannel):
        return judge(await _post(client, channel, channel.url, json={"text": message.text}), now)
    if isinstance(channel, TeamsChannel):
        card = {
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [{"type": "TextBlock", "text": message.text, "wrap": True}],
        }
        body = {
            "type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }
        return judge(await _post(client, channel, channel.url, json=body), now)
    assert isinstance(channel, WebhookChannel)
    headers = {"Content-Type": "application/json", **channel.headers}
    content = render_template(channel.template, message.values)
    result = await _post(client, channel, channel.url, method=channel.method, headers=headers, content=content)
    return judge(result, now)


async def _statuspage(channel: StatuspageChannel, message: Outgoing, client: HttpClient, now: datetime) -> Attempt:
    """The first update of an incident opens a Statuspage incident; the next ones edit it (its id is `previous`)."""
    public = str((message.data.get("fields") or {}).get("status", "")).lower()
    resolved = message.data.get("kind") == "resolved" or public == "resolved"
    status = "resolved" if resolved else STATUSPAGE_STATUS.get(public, "investigating")
    component = (
        "operational" if resolved else "degraded_performance" if status == "monitoring"
        else "major_outage" if message.rank == 0 else "partial_outage"
    )  # fmt: skip
    ids = _components(channel, str((message.data.get("fields") or {}).get("service", "")))
    incident: dict[str, Any] = {"status": status, "body": message.text, "components": dict.fromkeys(ids, component)}
    headers = {"Authorization": f"OAuth {channel.token}"}
    base = f"{channel.api.rstrip('/')}/pages/{channel.page_id}/incidents"
    known = message.previous.get("statuspage_incident")
    if isinstance(known, str) and known:
        result = await _post(
            client, channel, f"{base}/{quote(known)}", method="PATCH", headers=headers, json={"incident": incident}
        )
        attempt = judge(result, now)
        return _with_ref(attempt, {"statuspage_incident": known})
    incident |= {"name": message.values.get("title") or message.subject, "component_ids": ids}
    result = await _post(client, channel, base, headers=headers, json={"incident": incident})
    attempt = judge(result, now)
    if attempt.status != "delivered":
        return attempt
    answer = _json(result)
    opened = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(opened, str):
        return Attempt(
            "unknown", f"HTTP {result.status_code} without an incident id: {excerpt(result.body)}", result.status_code
        )
    return _with_ref(attempt, {"statuspage_incident": opened})


def _components(channel: StatuspageChannel, service: str) -> list[str]:
    """The components of the services the update names (its Service field), else every configured one."""
    named = [cid for name, cid in channel.components.items() if name.lower() in service.lower()]
    return named or list(channel.components.values())


async def _pagerduty(channel: PagerDutyChannel, message: Outgoing, client: HttpClient, now: datetime) -> Attempt:
    """Events API v2: trigger (or resolve) with the incident's id as the dedup key, so a retry is one alert."""
    key = str(message.data.get("dedup_key") or message.incident or "")
    event: dict[str, Any] = {"routing_key": channel.routing_key, "dedup_key": key}
    if message.resolving:
        event["event_action"] = "resolve"
    else:
        severity = PAGERDUTY_SEVERITY[min(message.rank, len(PAGERDUTY_SEVERITY) - 1)]
        summary = message.text[:1024]
        event |= {"event_action": "trigger", "payload": {"summary": summary, "source": SOURCE, "severity": severity}}
    result = await _post(client, channel, f"{channel.api.rstrip('/')}/v2/enqueue", json=event)
    return _with_ref(judge(result, now), {"dedup_key": key})


async def _opsgenie(channel: OpsgenieChannel, message: Outgoing, client: HttpClient, now: datetime) -> Attempt:
    """Alert API: create (or close) the alert whose alias is the incident's id (Opsgenie folds a repeat into it)."""
    alias = str(message.data.get("dedup_key") or message.incident or "")
    headers = {"Authorization": f"GenieKey {channel.api_key}"}
    base = f"{channel.base.rstrip('/')}/v2/alerts"
    if message.resolving:
        url = f"{base}/{quote(alias, safe='')}/close?identifierType=alias"
        result = await _post(client, channel, url, headers=headers, json={"source": SOURCE})
    else:
        alert = {"message": message.text[:130], "alias": alias, "description": message.text[:15000]}
        alert |= {"priority": f"P{min(message.rank + 1, 5)}", "source": SOURCE}
        result = await _post(client, channel, base, headers=headers, json=alert)
    return _with_ref(judge(result, now), {"dedup_key": alias})


async def acknowledged(channel: ChannelSettings, dedup_key: str, client: HttpClient) -> str | None:
    """Who acknowledged the page with this dedup key, read back from the service; None while nobody has (or when
    the channel cannot say: PagerDuty without a `token`)."""
    if isinstance(channel, PagerDutyChannel) and channel.token:
        headers = {
            "Authorization": f"Token token={channel.token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        }
        url = f"{channel.rest_api.rstrip('/')}/incidents?incident_key={quote(dedup_key, safe='')}"
        answer = _json(await _fetch(client, url, channel.timeout, headers=headers, **channel.route()))
        for incident in answer.get("incidents", []) if isinstance(answer, dict) else []:
            for ack in incident.get("acknowledgements") or [] if isinstance(incident, dict) else []:
                who = (ack.get("acknowledger") or {}).get("summary") if isinstance(ack, dict) else None
                if isinstance(who, str):
                    return who
    if isinstance(channel, OpsgenieChannel):
        headers = {"Authorization": f"GenieKey {channel.api_key}"}
        url = f"{channel.base.rstrip('/')}/v2/alerts/{quote(dedup_key, safe='')}?identifierType=alias"
        answer = _json(await _fetch(client, url, channel.timeout, headers=headers, **channel.route()))
        data = answer.get("data") if isinstance(answer, dict) else None
        if isinstance(data, dict) and data.get("acknowledged"):
            who = (data.get("report") or {}).get("acknowledgedBy")
            return who if isinstance(who, str) else "someone"
    return None


async def reach_all(channels: list[ChannelSettings], ca_file: Any = None, proxy: str | None = None) -> list[Reach]:
    """`check`: every channel once, side by side, without posting where the service allows it."""
    import asyncio

    from console.http import HttpClient

    client = HttpClient(ca_file=ca_file, proxy=proxy)
    try:
        found = await asyncio.gather(*(reach(channel, client) for channel in channels))
    finally:
        await client.aclose()
    return [
        Reach("channel", channel.name, ok is not False, detail, checked=ok is not None)
        for channel, (ok, detail) in zip(channels, found, strict=True)
    ]


async def reach(channel: ChannelSettings, client: HttpClient) -> tuple[bool | None, str]:
    """Reach the channel without posting: (True, how) when it answered, (False, why) when it did not, (None, why)
    when it cannot be reached without posting."""
    if isinstance(channel, EmailChannel):
        from console.channels.email import noop

        return await noop(channel)
    if isinstance(channel, SlackChannel):
        if not channel.token:
            return None, "a Slack webhook cannot be reached without posting: give token to check with auth.test"
        result = await _post(
            client,
            channel,
            f"{channel.api.rstrip('/')}/auth.test",
            headers={"Authorization": f"Bearer {channel.token}"},
        )
        answer = _json(result)
        if isinstance(answer, dict) and answer.get("ok") is True:
            return True, f"auth.test ok (team {answer.get('team', '?')})"
        return (
            False,
            result.error or f"auth.test: {answer.get('error') if isinstance(answer, dict) else excerpt(result.body)}",
        )
    if isinstance(channel, StatuspageChannel):
        url = f"{channel.api.rstrip('/')}/pages/{channel.page_id}"
        return _reached(
            await _fetch(
                client, url, channel.timeout, headers={"Authorization": f"OAuth {channel.token}"}, **channel.route()
            )
        )
    if isinstance(channel, PagerDutyChannel):
        if not channel.token:
            return None, "the Events API cannot be reached without sending an event: give token to check the REST API"
        headers = {
            "Authorization": f"Token token={channel.token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        }
        return _reached(
            await _fetch(
                client, f"{channel.rest_api.rstrip('/')}/abilities", channel.timeout, headers=headers, **channel.route()
            )
        )
    if isinstance(channel, OpsgenieChannel):
        headers = {"Authorization": f"GenieKey {channel.api_key}"}
        return _reached(
            await _fetch(
                client, f"{channel.base.rstrip('/')}/v2/heartbeats", channel.timeout, headers=headers, **channel.route()
            )
        )
    return None, f"{channel.target} cannot be reached without posting"


def _reached(result: HttpResult) -> tuple[bool, str]:
    if result.error is not None:
        return False, result.error
    ok = 200 <= (result.status_code or 0) < 300
    return ok, f"HTTP {result.status_code} in {result.latency_ms:.0f} ms" + ("" if ok else f": {excerpt(result.body)}")


async def _post(
    client: HttpClient,
    channel: SlackChannel | TeamsChannel | WebhookChannel | StatuspageChannel | PagerDutyChannel | OpsgenieChannel,
    url: str,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    json: Any = None,
    content: str | None = None,
) -> HttpResult:
    return await _fetch(
        client, url, channel.timeout, method=method, headers=headers, json=json, content=content, **channel.route()
    )


async def _fetch(client: HttpClient, url: str, timeout: float, **request: Any) -> HttpResult:
    from console.http import fetch

    return await fetch(client, url, timeout, **request)


def _json(result: HttpResult) -> Any:
    try:
        return outside_json.loads(result.body) if result.body and not result.oversize else None
    except ValueError:
        return None


def _with_ref(attempt: Attempt, ref: dict[str, Any]) -> Attempt:
    return Attempt(attempt.status, attempt.reason, attempt.http_status, attempt.retry_after, ref)
