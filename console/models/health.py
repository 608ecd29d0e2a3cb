"""HTTP health and metric snapshots, and the pure threshold rules that turn a response into a state.

Sources only fetch; everything that decides ok / warn / crit / down / unknown lives here, so the tiles,
the wall screen, triage and `status --json` agree.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from console import outside_json
from console.models import Check, State, format_duration
from console.models.numbers import read_number, read_output

HISTORY = 30
CERT = "cert"  # the source name of a certificate's check: `cert:api`
DAY = 86400.0
MAX_BODY = 1_000_000
OVERSIZE = f"body over {MAX_BODY // 1_000_000} MB"


class HttpResult(BaseModel):
    """What one request produced: an error in words, or a status code, a latency, the headers (names lower-case) and
    the body (capped at MAX_BODY); `sent` once the request had left (a failure after it may have been acted on)."""

    error: str | None = None
    status_code: int | None = None
    latency_ms: float = 0.0
    body: bytes = b""
    oversize: bool = False
    cert_expires: datetime | None = None  # over https: the verified certificate's notAfter (UTC)
    headers: dict[str, str] = Field(default_factory=dict)
    sent: bool = False


class HealthSnapshot(BaseModel):
    """One poll of a `[[health]]` endpoint. `url` is already redacted; `history` holds recent latencies."""

    name: str
    url: str
    state: State
    reason: str = ""
    status_code: int | None = None
    latency_ms: float | None = None
    taken_at: datetime
    history: list[float] = Field(default_factory=list)
    previous: State | None = None
    cert: Check | None = None  # with `cert_warn` / `cert_crit`: the days the certificate has left (`cert_check`)

    @property
    def check(self) -> Check:
        value = f"{self.latency_ms:.0f} ms" if self.latency_ms is not None else ""
        return Check(
            source="health",
            name=self.name,
            state=self.state,
            value=value,
            reason=self.reason,
            number=self.latency_ms,
            unit="ms",
        )

    @property
    def feed_key(self) -> str:
        return f"health:{self.name}"

    def checks(self) -> list[Check]:
        return [self.check] if self.cert is None else [self.check, self.cert]


def cert_check(name: str, result: HttpResult, now: datetime, warn: float | None, crit: float | None) -> Check:
    """`cert:NAME`: the days the endpoint's certificate has left, from the handshake the probe made (its number is
    days); crit under `crit` seconds or expired, warn under `warn`; unknown when the probe read no certificate."""
    if result.cert_expires is None:
        why = f"the request failed: {result.error}" if result.error else "the answer came without a certificate"
        return Check(source=CERT, name=name, state=State.UNKNOWN, reason=f"no certificate read ({why})")
    left = (result.cert_expires - now).total_seconds()
    expires = f"expires {result.cert_expires:%Y-%m-%d %H:%M} UTC"
    if left <= 0:
        return Check(source=CERT, name=name, state=State.CRIT, value="expired", reason=expires, number=left / DAY)
    state, reason = threshold_state(left, warn, crit, below=True)
    if state is not State.OK:
        limit = crit if state is State.CRIT else warn
        reason = f"under {state.value} {format_duration(limit)}"
    value = f"{format_duration(left)} left"
    return Check(source=CERT, name=name, state=state, value=value, reason=f"{reason}; {expires}".lstrip("; "),
                 number=round(left / DAY, 2))  # fmt: skip


class MetricSnapshot(BaseModel):
    """One poll of a `[[metric]]`: the number at its path with the thresholds it was judged by."""

    name: str
    state: State
    reason: str = ""
    value: float | None = None
    unit: str = ""
    warn: float | None = None
    crit: float | None = None
    below: bool = False
    taken_at: datetime
    history: list[float] = Field(default_factory=list)
    previous: State | None = None

    @property
    def check(self) -> Check:
        value = format_value(self.value, self.unit) if self.value is not None else ""
        return Check(
            source="metric",
            name=self.name,
            state=self.state,
            value=value,
            reason=self.reason,
            number=self.value,
            unit=self.unit,
        )

    @property
    def feed_key(self) -> str:
        return f"metric:{self.name}"

    def checks(self) -> list[Check]:
        return [self.check]


def format_value(value: float, unit: str = "") -> str:
    """A reading for a tile: `2,500 ms`, `4.95%`, `0.1`."""
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}".rstrip("0").rstrip(".")
    if not unit:
        return text
    return f"{text} {unit}" if unit[0].isalnum() else f"{text}{unit}"


def threshold_state(
    value: float, warn: float | None, crit: float | None, *, below: bool = False, unit: str = ""
) -> tuple[State, str]:
    """Crit beats warn; a value past a threshold (strictly) trips it. `below` means low values are bad."""
    for level, limit, state in (("crit", crit, State.CRIT), ("warn", warn, State.WARN)):
        if limit is not None and (value < limit if below else value > limit):
            return state, f"{'below' if below else 'above'} {level} {format_value(limit, unit)}"
    return State.OK, ""


def subset_mismatch(expected: Any, actual: Any, path: str = "") -> str | None:
    """None when `expected` is a (nested dict) subset of `actual`, else why not: `status != ok (got "down")`."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path or 'body'} is not an object"
        for key, want in expected.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                return f"{where} missing"
            if problem := subset_mismatch(want, actual[key], where):
                return problem
        return None
    if expected == actual and isinstance(expected, bool) == isinstance(actual, bool):
        return None
    return f"{path or 'body'} != {_show(expected)} (got {_show(actual)})"


def number_at(document: Any, path: str) -> float | None:
    """The number at a dotted path or JMESPath expression (`items.0.value`, `items[?id=='a'].ms | [0]`), or None."""
    try:
        return read_number(document, path)[0]
    except ValueError:  # a path that does not compile (a triage step's json_path is not checked at load)
        return None


def judge_health(
    result: HttpResult,
    *,
    expect_status: int,
    expect_json: dict[str, Any] | None,
    warn_ms: float,
    crit_ms: float,
) -> tuple[State, str]:
    """Transport failure or an unexpected status: down; bad body: crit; slow: warn or crit by latency."""
    if result.error is not None:
        return State.DOWN, result.error
    code = result.status_code
    if code != expect_status:
        return State.DOWN, f"HTTP {code}" if code is None or code >= 400 else f"HTTP {code}, expected {expect_status}"
    if result.oversize:
        return State.CRIT, OVERSIZE
    if expect_json is not None:
        document, problem = parse_json(result.body)
        if problem is None:
            problem = subset_mismatch(expect_json, document)
        if problem is not None:
            return State.CRIT, problem
    return threshold_state(result.latency_ms, warn_ms, crit_ms, unit="ms")


def http_fault(result: HttpResult) -> tuple[State, str] | None:
    """Why a metric's answer has nothing to read: unreachable or an error status (down), too big (unknown)."""
    if result.error is not None:
        return State.DOWN, result.error
    code = result.status_code
    if code is None or not 200 <= code < 300:
        return State.DOWN, f"HTTP {code}"
    if result.oversize:
        return State.UNKNOWN, OVERSIZE
    return None


def judge_value(
    data: bytes,
    *,
    path: str | None,
    pattern: str | None,
    unit: str,
    warn: float | None,
    crit: float | None,
    below: bool,
) -> tuple[State, str, float | None]:
    """A body or stdout with no number to read: unknown; else the thresholds decide."""
    value, problem = read_output(data, path=path, pattern=pattern, unit=unit)
    if value is None:
        return State.UNKNOWN, problem, None
    state, reason = threshold_state(value, warn, crit, below=below, unit=unit)
    return state, reason, value


def parse_json(body: bytes) -> tuple[Any, str | None]:
    """The decoded document, or a reason (`not JSON`, `not JSON: nested …`) when the body is not JSON."""
    try:
        return outside_json.loads(body), None
    except outside_json.TooDeep as exc:
        return None, f"not JSON: {exc}"
    except (ValueError, UnicodeDecodeError):
        return None, "not JSON"


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def judge_promql(
    result: HttpResult, *, warn: float | None, crit: float | None, below: bool, unit: str
) -> tuple[State, str, float | None]:
    """An instant query's answer: Prometheus unreachable or failing (5xx): down; a query it rejects (4xx): unknown
    with Prometheus's own error text; no sample: unknown; else the first sample's value against the thresholds."""
    if result.error is not None:
        return State.DOWN, f"Prometheus unreachable: {result.error}", None
    code = result.status_code or 0
    document, problem = (None, OVERSIZE) if result.oversize else parse_json(result.body)
    error = document.get("error") if isinstance(document, dict) and document.get("status") == "error" else None
    if code >= 500 or (not 200 <= code < 300 and error is None):
        return State.DOWN, f"Prometheus answered HTTP {code}" + (f": {error}" if error else ""), None
    if error is not None:
        return State.UNKNOWN, f"Prometheus rejected the query: {error}", None
    if problem is not None:
        return State.UNKNOWN, f"Prometheus answered {problem}", None
    value, problem = first_sample(document.get("data") if isinstance(document, dict) else None)
    if value is None:
        return State.UNKNOWN, problem, None
    state, reason = threshold_state(value, warn, crit, below=below, unit=unit)
    return state, reason, value


def first_sample(data: Any) -> tuple[float | None, str]:
    """The value of an instant query's first sample (a vector's first series or a scalar), or why there is none."""
    kind = data.get("resultType") if isinstance(data, dict) else None
    result = data.get("result") if isinstance(data, dict) else None
    if kind == "vector" and isinstance(result, list):
        if not result:
            return None, "the query returned no series"
        pair = result[0].get("value") if isinstance(result[0], dict) else None
    elif kind == "scalar":
        pair = result
    else:
        return None, f"the query returned a {kind or 'malformed'} result, not an instant vector or a scalar"
    if not isinstance(pair, list) or len(pair) != 2:  # [time, "value"]: a dict or a string is no sample
        return None, "the sample has no number"
    try:
        value = float(pair[1])
    except (TypeError, ValueError):
        return None, "the sample has no number"
    if math.isnan(value):
        return None, "the sample is NaN"
    return value, ""
