"""post-update and page: a status update posted to channels, and the on-call paged, through the runner (previewed,
confirmed once, refused read-only and on the wall, journaled) and the outbox (console.channels.outbox), which holds
each message until every channel has it.

post-update previews what each audience reads (`Plan.panels`: internal, stakeholders, customers); running it journals
the update (`update.posted`, its channels named: it counts as posted once queued) and makes one pass of the outbox,
so the outcome says per channel whether it was delivered, queued (sent again when the channel answers), failed or of
unknown outcome. The action completes when every channel delivered or queued it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from actions.base import Action, ActionContext, ParamError, Progress
from actions.runner import ActionRefused
from console.channels.message import update_text
from console.channels.outbox import Outbox
from console.channels.paging import request_page
from console.config.channels import AUDIENCES, is_paging
from console.incident.commands import IncidentDesk
from console.incident.events import IncidentError
from console.incident.state import IncidentState
from console.incident.updates import draft_update, render_update, suggested_kind, validate_update
from console.models import Outcome, OutcomeStatus, Plan, Risk

COLUMNS = ["channel", "kind", "audience", "goes to"]
AT_LEAST_ONCE = (
    "a webhook or Statuspage delivery whose outcome is unknown (a timeout after the request left) may have arrived: "
    "it is never resent by itself; check the channel before posting again"
)


def _names(value: Any) -> Any:
    return [name.strip() for name in value.split(",") if name.strip()] if isinstance(value, str) else value


class PostParams(BaseModel):
    """Parameters of post-update."""

    model_config = ConfigDict(extra="forbid")

    channels: list[str] = Field(min_length=1, description="the [[channel]] names to post to, e.g. chat,status")
    kind: Literal["initial", "update", "resolved"] | None = Field(default=None, description="default: the one due")
    fields: dict[str, str] = Field(default_factory=dict, description="the update's fields (default: prefilled)")

    _split = field_validator("channels", mode="before")(_names)


class PostUpdate(Action):
    """Post a status update to channels: previewed per audience, journaled, delivered or queued by the outbox."""

    name = "post-update"
    risk = Risk.WRITE
    description = "post a status update to the configured channels (chat, status page, e-mail)"
    Params = PostParams

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        assert isinstance(params, PostParams)
        outbox = _outbox(ctx, self.name)
        state = _open_incident(outbox, self.name)
        channels = [_channel(outbox, name, self.name, paging=False) for name in params.channels]
        kind = params.kind or suggested_kind(state)
        now = ctx.clock()
        fields = {**draft_update(state, kind, now), **params.fields}
        try:
            clean, _ = validate_update(kind, fields, now)
        except IncidentError as exc:
            raise ParamError(str(exc)) from None
        if kind == "resolved" and state.resolved_at is None:
            raise ParamError(f"{self.name}: {state.id} is {state.status.value}; set it to resolved first")
        anchor = "anchor: seq N sha256:… (the journal's last entry when it is posted)"
        draft = {"kind": kind, "fields": clean, "severity": state.severity}
        draft["text"] = render_update(state, kind, clean) + "\n\n" + anchor
        audiences = [a for a in AUDIENCES if any(getattr(c, "audience", None) == a for c in channels)]
        return Plan(
            action=self.name,
            risk=self.risk,
            params={"channels": params.channels, "kind": kind, "fields": clean},
            summary=f"post the {kind} update of {state.id} ({state.title}) to {len(channels)} channel"
            + ("s" if len(channels) != 1 else ""),
            columns=COLUMNS,
            rows=[[c.name, c.kind_name, getattr(c, "audience", ""), ctx.redactor.text(c.target)] for c in channels],
            notes=["it counts as posted once journaled; a channel that is down gets it when it is back", AT_LEAST_ONCE],
            created_at=now,
            panels={audience: update_text(draft, audience, outbox.scrub) for audience in audiences},
        )

    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        outbox = _outbox(ctx, self.name)
        desk = IncidentDesk(outbox.journal, settings=ctx.config.incident)
        try:
            entry = desk.post_update(plan.params["kind"], plan.params["fields"], list(plan.params["channels"]))
        except IncidentError as exc:
            return Outcome(status=OutcomeStatus.FAILED, message=str(exc))
        progress.message(f"update journaled as #{entry['seq']}; sending")
        return await _deliver(outbox, entry, progress, "update")


class PageParams(BaseModel):
    """Parameters of page."""

    model_config = ConfigDict(extra="forbid")

    channels: list[str] = Field(min_length=1, description="the paging [[channel]] names, e.g. oncall")

    _split = field_validator("channels", mode="before")(_names)


class Page(Action):
    """Page the on-call through PagerDuty or Opsgenie for the open incident (its id is the dedup key)."""

    name = "page"
    risk = Risk.WRITE
    description = "page the on-call (PagerDuty, Opsgenie) for the open incident; resolved when the incident is"
    Params = PageParams

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        assert isinstance(params, PageParams)
        outbox = _outbox(ctx, self.name)
        state = _open_incident(outbox, self.name)
        channels = [_channel(outbox, name, self.name, paging=True) for name in params.channels]
        return Plan(
            action=self.name,
            risk=self.risk,
            params={"channels": params.channels},
            summary=f"page for {state.id} ({state.severity}: {state.title}) through {', '.join(params.channels)}",
            columns=["channel", "kind", "goes to", "dedup key"],
            rows=[[c.name, c.kind_name, c.target, state.id] for c in channels],
            notes=["the page is resolved when the incident is resolved; who acknowledges it is journaled"],
            created_at=ctx.clock(),
        )

    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        outbox = _outbox(ctx, self.name)
        state = _open_incident(outbox, self.name)
        rank = IncidentDesk(outbox.journal, settings=ctx.config.incident).scheme.level(state.severity).rank
        summary = f"{state.severity} {state.id}: {state.title}"
        channels = list(plan.params["channels"])
        entry = request_page(outbox.journal, state.id, channels, summary, state.severity, rank)
        return await _deliver(outbox, entry, progress, "page")


async def _deliver(outbox: Outbox, entry: dict, progress: Progress, what: str) -> Outcome:
    """One pass of the outbox, then this message's channels in words."""
    sent = await outbox.send_due()
    mine = {s.item.channel: s for s in sent or [] if s.item.seq == entry["seq"]}
    words, bad = [], 0
    for item in (i for i in outbox.items(entry.get("incident")) if i.seq == entry["seq"]):
        attempt = mine.get(item.channel)
        status, reason = (attempt.attempt.status, attempt.attempt.reason) if attempt else (item.status, item.reason)
        if sent is None:
            status, reason = "queued", f"the outbox is held by {outbox.holder}, which sends it"
        elif attempt is None and status == "new":
            status, reason = "queued", "behind an earlier message to this channel"
        bad += status in ("failed", "unknown")
        progress.line(f"{item.channel}: {status}" + (f" ({reason})" if reason else ""))
        words.append(f"{item.channel} {status}")
    if any(word.endswith(" queued") for word in words):
        progress.message(
            "queued: sent again when the channel answers, by a console open on this journal or by "
            "`incident-console incident outbox --send`"
        )
    message = f"{what} #{entry['seq']}: " + ", ".join(words)
    return Outcome(status=OutcomeStatus.FAILED if bad else OutcomeStatus.COMPLETED, message=message)


def _outbox(ctx: ActionContext, action: str) -> Outbox:
    if ctx.outbox is None:
        raise ParamError(f"{action}: the config has no [[channel]]; add one (docs/config.md#channel)")
    return ctx.outbox


def _open_incident(outbox: Outbox, action: str) -> IncidentState:
    state = IncidentDesk(outbox.journal).state()
    if state is None or not state.is_open:
        raise ActionRefused(f"{action}: no incident is open; declare one first; nothing was run")
    return state


def _channel(outbox: Outbox, name: str, action: str, *, paging: bool) -> Any:
    channel = outbox.channels.get(name)
    wanted = [c.name for c in outbox.channels.values() if is_paging(c) == paging]
    if channel is None or is_paging(channel) != paging:
        what = "paging" if paging else "posting"
        raise ParamError(f"{action}: {name!r} is not a {what} channel ({', '.join(wanted) or 'none configured'})")
    return channel


def channel_actions() -> list[Action]:
    """The actions a config with `[[channel]]` offers."""
    return [PostUpdate(), Page()]
