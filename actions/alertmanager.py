"""silence / unsilence: create an Alertmanager silence for matching alerts, or expire one, through the runner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from actions.base import Action, ActionContext, ParamError, Progress
from actions.runner import ActionRefused
from console import outside_json
from console.config import AlertmanagerSettings
from console.journal import actor_info
from console.models import Outcome, OutcomeStatus, Plan, Risk, State, format_duration
from console.models.alerts import (
    ALERTS_PATH,
    AlertsSnapshot,
    alert_from,
    format_matchers,
    parse_matchers,
    show_matchers,
)
from console.models.health import OVERSIZE
from console.timeparse import parse_duration

MAX_DAYS = 90
SILENCED_PATH = "/api/v2/alerts?active=false&silenced=true&inhibited=false"
ALERT_COLUMNS = ["alert", "severity", "firing for", "labels"]
Matcher = tuple[str, str, str]


class SilenceParams(BaseModel):
    """Parameters of silence: matchers (and/or --alertname), a duration and a comment."""

    model_config = ConfigDict(extra="forbid")

    matchers: str = Field(default="", description='label matchers, e.g. alertname="HighErrorRate", job="api"')
    alertname: str | None = Field(default=None, description='shorthand for the matcher alertname="NAME"')
    duration: str = Field(default="1h", description="how long the silence lasts, e.g. 30m, 1h, 2d")
    comment: str = Field(description="why the alerts are silenced (required; shown in Alertmanager)")

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, text: str) -> str:
        parse_matchers(text)
        return text

    @field_validator("duration")
    @classmethod
    def _duration(cls, text: str) -> str:
        if not 0 < parse_duration(text) <= MAX_DAYS * 86400:
            raise ValueError(f"must be more than 0 and at most {MAX_DAYS}d")
        return text

    @field_validator("comment")
    @classmethod
    def _comment(cls, comment: str) -> str:
        if not comment.strip():
            raise ValueError("say why, e.g. 'deploy in progress, INC-42'")
        return comment.strip()

    @model_validator(mode="after")
    def _something_matched(self) -> SilenceParams:
        if not self.all_matchers():
            raise ValueError("give --matchers or --alertname; a silence without matchers would silence everything")
        return self

    def all_matchers(self) -> list[Matcher]:
        extra = [("alertname", "=", self.alertname)] if self.alertname else []
        return parse_matchers(self.matchers) + extra


class Silence(Action):
    """Silence the alerts matching some labels for a while, with a comment; the outcome names the silence id."""

    name = "silence"
    risk = Risk.WRITE
    description = "silence matching Alertmanager alerts for a duration (default 1h), with a required comment"
    Params = SilenceParams

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        assert isinstance(params, SilenceParams)
        settings = _settings(ctx, self.name)
        matchers = params.all_matchers()
        starts = ctx.clock()
        ends = starts + timedelta(seconds=parse_duration(params.duration))
        filters = urlencode([("filter", show_matchers([m])) for m in matchers])
        answer = await _call(ctx, settings, self.name, "GET", f"{ALERTS_PATH}&{filters}")
        rows = _alert_rows(AlertsSnapshot(state=State.OK, alerts=[alert_from(raw) for raw in answer], taken_at=starts))
        notes = [f"comment: {params.comment}", f"created by: {_creator()}"]
        if not rows:
            notes.append("no alert matching these matchers fires now; the silence still covers any that start")
        return Plan(
            action=self.name,
            risk=self.risk,
            params={"matchers": show_matchers(matchers), "duration": params.duration, "comment": params.comment},
            summary=(
                f"silence {show_matchers(matchers)} from {_when(starts)} to {_when(ends)} "
                f"({params.duration}) on {ctx.redactor.text(settings.url)}: "
                f"{len(rows)} firing alert{'s' if len(rows) != 1 else ''} silenced now"
            ),
            columns=ALERT_COLUMNS,
            rows=rows,
            notes=notes,
            created_at=starts,
            detail={"starts_at": starts.isoformat(), "ends_at": ends.isoformat()},
        )

    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        settings = _settings(ctx, self.name)
        matchers = parse_matchers(plan.params["matchers"])
        ends = datetime.fromisoformat(plan.detail["ends_at"])
        if ends <= ctx.clock():
            return Outcome(status=OutcomeStatus.FAILED, message="the planned silence has already ended; plan again")
        body = {
            "matchers": [
                {"name": n, "value": v, "isRegex": op in ("=~", "!~"), "isEqual": op in ("=", "=~")}
                for n, op, v in matchers
            ],
            "startsAt": plan.detail["starts_at"],
            "endsAt": plan.detail["ends_at"],
            "createdBy": _creator(),
            "comment": plan.params["comment"],
        }
        answer = await _call(ctx, settings, self.name, "POST", "/api/v2/silences", json=body, refuse=False)
        silence_id = answer.get("silenceID", "?") if isinstance(answer, dict) else "?"
        return Outcome(
            status=OutcomeStatus.COMPLETED,
            message=f"silence {silence_id} created: {plan.params['matchers']} until {_when(ends)}",
        )


class UnsilenceParams(BaseModel):
    """Parameters of unsilence."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9-]+$", description="the silence's id (from the silence action's outcome)")


class Unsilence(Action):
    """Expire a silence now, so the alerts it covered notify again."""

    name = "unsilence"
    risk = Risk.WRITE
    description = "expire an Alertmanager silence by id"
    Params = UnsilenceParams

    async def plan(self, ctx: ActionContext, params: BaseModel) -> Plan:
        assert isinstance(params, UnsilenceParams)
        settings = _settings(ctx, self.name)
        silence = await _call(ctx, settings, self.name, "GET", f"/api/v2/silence/{params.id}")
        state = silence.get("status", {}).get("state", "?")
        if state == "expired":
            raise ActionRefused(f"unsilence: silence {params.id} has already expired; nothing was run")
        matchers = [(m["name"], _op(m), m["value"]) for m in silence.get("matchers", [])]
        answer = await _call(ctx, settings, self.name, "GET", SILENCED_PATH)
        now = ctx.clock()
        covered = [alert_from(raw) for raw in answer if params.id in raw.get("status", {}).get("silencedBy", [])]
        return Plan(
            action=self.name,
            risk=self.risk,
            params={"id": params.id},
            summary=(
                f"expire silence {params.id} ({state}, {silence.get('startsAt', '?')} to {silence.get('endsAt', '?')}, "
                f"by {silence.get('createdBy', '?')}) of {show_matchers(matchers)} on {ctx.redactor.text(settings.url)}"
                f": {len(covered)} silenced alert{'s' if len(covered) != 1 else ''} will notify again"
            ),
            columns=ALERT_COLUMNS,
            rows=_alert_rows(AlertsSnapshot(state=State.OK, alerts=covered, taken_at=now)),
            notes=[f"comment: {silence.get('comment', '')}"],
            created_at=now,
        )

    async def execute(self, ctx: ActionContext, plan: Plan, progress: Progress) -> Outcome:
        settings = _settings(ctx, self.name)
        silence_id = plan.params["id"]
        await _call(ctx, settings, self.name, "DELETE", f"/api/v2/silence/{silence_id}", refuse=False)
        return Outcome(status=OutcomeStatus.COMPLETED, message=f"silence {silence_id} expired")


async def _call(
    ctx: ActionContext,
    settings: AlertmanagerSettings,
    action: str,
    method: str,
    path: str,
    *,
    refuse: bool = True,
    json: Any = None,
) -> Any:
    """One request to Alertmanager through the HTTP layer (`[alertmanager]`'s CA file and proxy, else `[console]`'s)
    and its JSON answer. Failures raise ActionRefused in a plan (`refuse`), else RuntimeError, which the runner
    journals as the failed outcome; both carry Alertmanager's own words."""
    from console.http import HttpClient, fetch  # aiohttp is imported when an action first calls, not at startup

    console = ctx.config.console
    client = HttpClient(ca_file=console.ca_file, proxy=console.proxy)
    try:
        url = settings.url.rstrip("/") + path
        result = await fetch(client, url, settings.timeout, method=method, json=json, **settings.route())
    finally:
        await client.aclose()
    if result.error is not None:
        problem = f"Alertmanager unreachable: {result.error}"
    elif result.oversize:
        problem = f"Alertmanager answered with a {OVERSIZE}"
    elif 200 <= (result.status_code or 0) < 300:
        return outside_json.loads(result.body) if result.body else None
    else:
        problem = f"Alertmanager answered HTTP {result.status_code}: {_error_text(result.body)}"
    problem = ctx.redactor.text(problem)
    if refuse:
        raise ActionRefused(f"{action}: {problem}; nothing was run")
    raise RuntimeError(problem)


def _error_text(body: bytes) -> str:
    try:
        decoded = outside_json.loads(body)
    except ValueError:
        return body.decode(errors="replace").strip()[:300]
    return str(decoded.get("message", decoded) if isinstance(decoded, dict) else decoded)[:300]


def _op(matcher: dict[str, Any]) -> str:
    """The operator of a matcher as Alertmanager's API spells it (isEqual, isRegex)."""
    return {(True, False): "=", (True, True): "=~", (False, False): "!=", (False, True): "!~"}[
        (matcher.get("isEqual", True), matcher.get("isRegex", False))
    ]


def _alert_rows(snap: AlertsSnapshot) -> list[list[str]]:
    """Preview rows, newest first: name, severity, how long it has fired, every label as a matcher."""
    return [
        [a.name, a.severity, format_duration(snap.firing_for(a), compact=True), format_matchers(a.labels)]
        for a in sorted(snap.alerts, key=lambda a: a.starts_at, reverse=True)
    ]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _creator() -> str:
    actor = actor_info()
    return f"{actor['user']}@{actor['host']} (incident-console)"


def _settings(ctx: ActionContext, action: str) -> AlertmanagerSettings:
    if ctx.config.alertmanager is None:
        raise ParamError(f"{action}: the config has no [alertmanager] section")
    return ctx.config.alertmanager


def alertmanager_actions() -> list[Action]:
    """The built-in Alertmanager actions."""
    return [Silence(), Unsilence()]
