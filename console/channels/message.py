"""What each audience reads of a status update, and what a page says (built from the journal entry alone, so the
preview, the first attempt and a retry a day later send the same words).

- `internal`: the update as journaled: every field, the details and the anchor line.
- `stakeholders`: the same, with host names and addresses replaced by `[host]`.
- `customers`: the heading without the severity, the public fields (Service, Status, Impact, Started, ETA, Next
  update, Duration, Resolution) and the details; never Root cause or Actions taken (the team's own notes), host
  names, addresses or the anchor line.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from console.config import Config
from console.config.channels import Audience
from console.incident.updates import DETAILS, template

INTERNAL_FIELDS = ("root_cause", "actions_taken")  # what customers never read
HOST_MASK = "[host]"
_ADDRESS = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"  # IPv4, with a port
    r"|\[?\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}\b\]?"  # IPv6
    r"|\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\b(?::\d+)?",  # a dotted name
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Scrub:
    """Replaces host names and addresses: any dotted name or IP address, and the configured targets' and this
    machine's own names (`db-primary`, `bastion-1`, which no pattern would find)."""

    names: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> Scrub:
        urls = [t.url for t in config.health] + [m.url for m in config.metric if m.url]
        urls += [s.url for s in (config.prometheus, config.alertmanager, config.redis) if s is not None]
        urls += [config.postgres.dsn] if config.postgres else []
        hosts = {urlsplit(url).hostname or "" for url in urls} | {socket.gethostname()}
        return cls(tuple(sorted((h for h in hosts if len(h) > 2), key=len, reverse=True)))

    def text(self, text: str) -> str:
        for name in self.names:
            text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", HOST_MASK, text, flags=re.IGNORECASE)
        return _ADDRESS.sub(HOST_MASK, text)


def anchor_line(text: str) -> str | None:
    """The anchor line a posted update's text ends with (`anchor: seq N sha256:...`), if any."""
    last = text.rstrip().rpartition("\n")[2]
    return last if last.startswith("anchor: ") else None


def update_text(data: dict, audience: Audience, scrub: Scrub) -> str:
    """The text one audience reads of an `update.posted` entry's data (`kind`, `fields`, `severity`, `text`)."""
    if audience == "internal":
        return str(data.get("text", ""))
    kind, fields = str(data.get("kind", "update")), dict(data.get("fields") or {})
    spec = template(kind)
    customers = audience == "customers"
    severity = data.get("severity")
    heading = spec.heading if customers or not severity else f"{spec.heading} - {severity}"
    lines = [heading, ""]
    lines += [
        f"{label}: {fields.get(key, '')}" for key, label in spec.fields if not customers or key not in INTERNAL_FIELDS
    ]
    if fields.get(DETAILS):
        lines += ["", str(fields[DETAILS])]
    anchor = anchor_line(str(data.get("text", "")))
    if anchor and not customers:
        lines += ["", anchor]
    return scrub.text("\n".join(lines))


def subject(data: dict, incident: str | None, audience: Audience, scrub: Scrub) -> str:
    """An e-mail's subject: the heading and the incident's title (for customers without its id)."""
    heading = template(str(data.get("kind", "update"))).heading.split(" ", 1)[-1].title()
    title = str(data.get("title") or "")
    words = f"{heading}: {title}" if title else heading
    if audience == "internal":
        return f"{words} ({incident})" if incident else words
    words = scrub.text(words)
    return f"{words} ({incident})" if incident and audience == "stakeholders" else words


def template_values(
    data: dict, incident: str | None, text: str, environment: str, audience: Audience, scrub: Scrub
) -> dict[str, str]:
    """What a webhook's template may name (console.config.channels.TEMPLATE_NAMES); also the Statuspage incident's
    name (`title`), scrubbed like the text for any audience but internal."""
    title = str(data.get("title") or "")
    return {
        "text": text,
        "title": title if audience == "internal" else scrub.text(title),
        "incident": incident or "",
        "severity": str(data.get("severity") or ""),
        "status": str((data.get("fields") or {}).get("status") or data.get("status") or ""),
        "kind": str(data.get("kind") or ""),
        "environment": environment,
    }


def audiences_of(channels: Iterable[object]) -> list[Audience]:
    """The audiences these channels reach, most internal first."""
    found = {getattr(channel, "audience", None) for channel in channels}
    return [audience for audience in ("internal", "stakeholders", "customers") if audience in found]
