"""One journal entry as one stream entry, and back: the fields, the HMAC and the checks a follower makes.

Fields of a stream entry: ``entry`` (the canonical JSON of the journal entry, ``hash`` included), ``seq``, ``hash``,
``host`` (the writer's host id), ``sent`` (the writer's clock when it mirrored the entry, epoch ms) and, when the
``[share]`` key is set, ``hmac``: HMAC-SHA256 with the key over ``host``, a newline and the canonical JSON (the host is
covered so an entry cannot be passed off as another host's).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from console import outside_json
from console.journal import canonical, entry_hash

FIELDS = ("entry", "seq", "hash", "host", "sent")


class Refused(Exception):
    """A stream entry that is not passed on; ``str()`` says why in words (never the key)."""


@dataclass(frozen=True)
class Decoded:
    """A stream entry whose fields agree with its entry, whose hash recomputes and whose HMAC (if keyed) holds."""

    host: str
    seq: int
    hash: str
    entry: dict
    sent_ms: int


def sign(key: str, host: str, text: str) -> str:
    """Hex HMAC-SHA256 of ``host``, a newline and ``text`` under ``key``."""
    return hmac.new(key.encode(), f"{host}\n{text}".encode(), hashlib.sha256).hexdigest()


def encode(entry: dict, host: str, key: str | None, sent_ms: int) -> dict[str, str]:
    """The stream fields of one journal entry."""
    text = canonical(entry)
    fields = {"entry": text, "seq": str(entry["seq"]), "hash": entry["hash"], "host": host, "sent": str(sent_ms)}
    if key:
        fields["hmac"] = sign(key, host, text)
    return fields


def decode(raw: dict[bytes, bytes], key: str | None) -> Decoded:
    """Check one stream entry's fields (as redis-py returns them); raise Refused naming what is wrong."""
    try:
        fields = {k.decode(): v.decode() for k, v in raw.items()}
    except UnicodeDecodeError:
        raise Refused("a field is not UTF-8") from None
    missing = [name for name in FIELDS if name not in fields]
    if missing:
        raise Refused(f"no {', '.join(missing)} field{'s' if len(missing) > 1 else ''}")
    host, text = fields["host"], fields["entry"]
    if key:
        given = fields.get("hmac")
        if not given:
            raise Refused(f"no HMAC (claims host {host!r}): written without the key")
        if not hmac.compare_digest(given, sign(key, host, text)):
            raise Refused(f"HMAC does not match (claims host {host!r}): forged or altered")
    try:
        entry = outside_json.loads(text)
        seq, sent_ms = int(fields["seq"]), int(fields["sent"])
    except ValueError:
        raise Refused(f"not a journal entry (claims host {host!r})") from None
    if not isinstance(entry, dict) or entry.get("seq") != seq or entry.get("hash") != fields["hash"]:
        raise Refused(f"the fields do not match the entry (claims host {host!r}, seq {fields['seq']})")
    if entry_hash(entry) != entry["hash"]:
        raise Refused(f"bad hash: seq {seq} from {host!r} does not hash to its recorded hash")
    return Decoded(host, seq, entry["hash"], entry, sent_ms)
