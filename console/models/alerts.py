"""Firing alerts read from Alertmanager, the one check they make, and the matcher text silences are written in.

One summarising check (`alertmanager:firing`) rather than one per severity: its key never comes and goes as
severities appear and vanish, its number (how many fire) makes a sparkline, and the observer journals one
entry when the picture changes. The worst severity firing sets its state: a `critical` or `page` alert is
crit, any other firing alert is warn, none is ok. A condition's labels narrow it to the alerts they match
(`alerts.firing{severity="critical"}`: `labelled_check`, named by the source registry's row).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from console.models import Check, State, utc_now

SOURCE = "alertmanager"
ALERTS_PATH = "/api/v2/alerts?active=true&silenced=false"  # what fires now: the pane's list, a silence's preview
CRITICAL = frozenset({"critical", "page", "crit", "emergency"})
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UNESCAPE = re.compile(r"\\(.)")
Matcher = tuple[str, str, str]  # (label, op, value): op is =, !=, =~ or !~


class Alert(BaseModel):
    """One firing alert: its labels (which identify it), annotations, and when it started firing."""

    model_config = ConfigDict(frozen=True)

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "?")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    @property
    def other_labels(self) -> str:
        """The labels besides its name and severity, `job=api region=eu`, as the pane and `status` show them."""
        return " ".join(f"{k}={v}" for k, v in sorted(self.labels.items()) if k not in ("alertname", "severity"))


class FiringAlert(BaseModel):
    """One firing alert as `status` reports it: name, severity, how long it has fired, since when, other labels."""

    name: str
    severity: str
    firing_s: float
    since: datetime
    labels: str


def alert_from(raw: dict) -> Alert:
    """An alert from its `/api/v2/alerts` JSON (validated: a ValidationError for a malformed one)."""
    return Alert.model_validate(
        {
            "fingerprint": raw.get("fingerprint", ""),
            "labels": raw.get("labels", {}),
            "annotations": raw.get("annotations", {}),
            "starts_at": raw.get("startsAt"),
        }
    )


class AlertsSnapshot(BaseModel):
    """One poll of Alertmanager's active, unsilenced alerts, newest first; `down` with a reason when unreachable."""

    model_config = ConfigDict(frozen=True)

    state: State
    reason: str = ""
    target: str = ""
    alerts: list[Alert] = Field(default_factory=list)
    taken_at: datetime = Field(default_factory=utc_now)

    @property
    def feed_key(self) -> str:
        return SOURCE

    def firing_for(self, alert: Alert) -> float:
        """Seconds the alert has fired, as of this poll."""
        return max(0.0, (self.taken_at - alert.starts_at).total_seconds())

    def firing_alerts(self) -> list[FiringAlert]:
        """What fires, newest first, as `status` names it."""
        return [
            FiringAlert(
                name=a.name, severity=a.severity, firing_s=self.firing_for(a), since=a.starts_at, labels=a.other_labels
            )
            for a in sorted(self.alerts, key=self.firing_for)
        ]

    def checks(self) -> list[Check]:
        return [self.firing(self.alerts)]

    def firing(self, alerts: list[Alert], name: str = "firing") -> Check:
        """The firing check over these alerts (all of them, or those a condition's labels match)."""
        if self.state is State.DOWN:
            return Check(source=SOURCE, name=name, state=State.DOWN, reason=self.reason)
        count = len(alerts)
        critical = sum(alert.severity.lower() in CRITICAL for alert in alerts)
        state = State.CRIT if critical else State.WARN if count else State.OK
        by_severity: dict[str, int] = {}
        for alert in alerts:
            by_severity[alert.severity or "no severity"] = by_severity.get(alert.severity or "no severity", 0) + 1
        reason = ", ".join(f"{n} {severity}" for severity, n in sorted(by_severity.items(), key=lambda i: -i[1]))
        return Check(source=SOURCE, name=name, state=state, value=f"{count} firing", reason=reason, number=count)


def labelled_check(snapshot: AlertsSnapshot | None, name: str, matchers: Sequence[Matcher]) -> Check | None:
    """`alerts.firing{severity="critical"}` in a condition: the firing check over the alerts the matchers match
    (None before the first reading, or for a check that takes no labels)."""
    if snapshot is None or name != "firing":
        return None
    shown = f"firing{{{show_matchers(matchers)}}}"
    return snapshot.firing([a for a in snapshot.alerts if matches(a.labels, matchers)], shown)


def matches(labels: dict[str, str], matchers: Sequence[Matcher]) -> bool:
    """Whether labels satisfy every matcher, as Alertmanager reads them: a missing label is the empty string, and
    `=~` / `!~` match the whole value."""
    for name, op, value in matchers:
        actual = labels.get(name, "")
        if op in ("=", "!=") and (actual == value) != (op == "="):
            return False
        if op in ("=~", "!~") and (re.fullmatch(value, actual) is not None) != (op == "=~"):
            return False
    return True


def format_matchers(labels: dict[str, str]) -> str:
    """Equality matchers for every label, in Alertmanager's syntax: `alertname="Down", job="api"`."""
    return ", ".join(f'{name}="{_escape(value)}"' for name, value in sorted(labels.items()))


def parse_matchers(text: str) -> list[Matcher]:
    """`name="value"` matchers (also `!=`, `=~`, `!~`) separated by commas, braces optional, as (name, op, value).

    Raises ValueError naming the first part that is not a matcher, or a regular expression that does not compile.
    """
    text = text.strip().removeprefix("{").removesuffix("}").strip()
    found: list[tuple[str, str, str]] = []
    at = 0
    while at < len(text):
        match = _MATCHER.match(text, at)
        if match is None:
            raise ValueError(f'expected name="value" (or !=, =~, !~) at {text[at:]!r}')
        value = _UNESCAPE.sub(lambda m: "\n" if m[1] == "n" else m[1], match[3])
        if match[2] in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{match[1]}{match[2]}: not a valid regular expression: {exc}") from None
        found.append((match[1], match[2], value))
        at = match.end()
    return found


def show_matchers(matchers: Sequence[Matcher]) -> str:
    """Matchers back as text, one canonical spelling."""
    return ", ".join(f'{name}{op}"{_escape(value)}"' for name, op, value in matchers)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
