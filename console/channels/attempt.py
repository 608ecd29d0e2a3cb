"""One attempt to deliver a message to one channel, and what the service's answer means for the outbox.

- `delivered`: the service took it (2xx, SMTP 250 after the message).
- `queued`: it did not, for a reason that may pass: the network (refused, reset, DNS, a TLS or connect timeout: the
  request never left), 408, 429 and 5xx (with the service's `Retry-After`), an SMTP 4xx. Sent again with backoff.
- `failed`: a refusal that will not pass by itself: 401, 403, 404, 410 (a revoked token, a deleted webhook), any other
  4xx (the service will not take this message), an SMTP 5xx. Never sent again.
- `unknown`: the request left and no answer came (a timeout or a reset after the request was written): the service
  may have acted on it. Webhooks and Statuspage have no idempotency key, so the console never resends it by itself:
  delivery is at least once only when the operator chooses to post again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from console.models.health import HttpResult

Status = Literal["delivered", "queued", "failed", "unknown"]
RETRY_AFTER_MAX = 3600.0  # a service's Retry-After beyond this is read as this
UNKNOWN_ADVICE = "it may have arrived; check the channel before posting again"
_PERMANENT = {
    401: "refused the credentials (a revoked token or webhook?)",
    403: "refused: not allowed (a revoked token or webhook?)",
    404: "not found (a deleted webhook, page or integration?)",
    410: "gone (a deleted webhook?)",
}


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to: its status, the reason in words, the HTTP status when there was one, how long the
    service asked to wait (`Retry-After`, seconds) and what it answered that later messages need (`ref`: the
    Statuspage incident's id, PagerDuty's dedup key)."""

    status: Status
    reason: str
    http_status: int | None = None
    retry_after: float | None = None
    ref: dict[str, Any] = field(default_factory=dict)


def judge(result: HttpResult, now: datetime) -> Attempt:
    """An HTTP answer (or failure) as an attempt."""
    if result.error is not None:
        if result.sent:
            return Attempt("unknown", f"{result.error}, once the request had been sent: {UNKNOWN_ADVICE}")
        return Attempt("queued", result.error)
    status = result.status_code or 0
    said = excerpt(result.body)
    if 200 <= status < 300:
        return Attempt("delivered", f"HTTP {status}", status)
    if status in (408, 429) or status >= 500:
        wait = retry_after(result.headers.get("retry-after"), now)
        words = "rate limited" if status == 429 else "the service is unavailable" if status >= 500 else "timed out"
        return Attempt("queued", f"HTTP {status}: {words}" + (f": {said}" if said else ""), status, wait)
    why = _PERMANENT.get(status, "refused this message")
    return Attempt("failed", f"HTTP {status}: {why}" + (f": {said}" if said else ""), status)


def retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` in seconds (a number of seconds or an HTTP date), at most RETRY_AFTER_MAX; None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(0.0, (moment - now).total_seconds()), RETRY_AFTER_MAX)


def excerpt(body: bytes, limit: int = 200) -> str:
    """A service's answer as one short line (kept as data: whoever shows it escapes it)."""
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
