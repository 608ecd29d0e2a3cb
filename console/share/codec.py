"""One journal entry as one stream entry, and back: the fields, the HMAC and the checks a follower makes.

Fields of a stream entry: ``entry`` (the canonical JSON of the journal entry, ``hash`` included), ``seq``, ``hash``,
``host`` (the writer's host id), ``sent`` (the writer's clock when it mirrored the entry, epoch ms), ``v`` (``2``) and,
when the ``[share]`` key is set, ``hmac``: HMAC-SHA256 with the key over the version, the stream's name, ``host``,
``sent`` and the canonical JSON, one per line. The host is covered so an entry cannot be passed off as another host's;
the stream, so a staging drill's entry copied into the production stream is refused; ``sent``, so a copy of an old
entry cannot pass for a new one (the entry itself carries its ``environment`` and ``ts``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from console import outside_json
from console.journal import canonical, entry_hash

FIELDS = ("entry", "seq", "hash", "host", "sent")
VERSION = "2"

RefusalKind = Literal["fields", "version", "hmac", "entry", "hash", "size", "environment", "replay"]


class Refused(Exception):
    """A stream entry that is not passed on; ``str()`` says why in words (never the key); ``kind`` groups refusals
    for a summary."""

    def __init__(self, text: str, kind: RefusalKind) -> None:
        super().__init__(text)
        self.kind = kind


@dataclass(frozen=True)
class Decoded:
    """A stream entry whose fields agree with its entry, whose hash recomputes and whose HMAC (if keyed) holds."""

    host: str
    seq: int
    hash: str
    entry: dict
    sent_ms: int


def sign(key: str, stream: str, host: str, sent: str, text: str) -> str:
    """Hex HMAC-SHA256 under ``key`` of the version, the stream, the host, ``sent`` and ``text``, one per line."""
    message = "\n".join((f"v{VERSION}", stream, host, sent, text))
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def encode(entry: dict, host: str, key: str | None, sent_ms: int, stream: str) -> dict[str, str]:
    """The stream fields of one journal entry, for the stream named ``stream``."""
    text = canonical(entry)
    sent = str(sent_ms)
    fields = {"entry": text, "seq": str(entry["seq"]), "hash": entry["hash"], "host": host, "sent": sent}
    fields["v"] = VERSION
    if key:
        fields["hmac"] = sign(key, stream, host, sent, text)
    return fields


def decode(raw: dict[bytes, bytes], key: str | None, stream: str) -> Decoded:
    """Check one stream entry's fields (as redis-py returns them) read from ``stream``; raise Refused naming what is
    wrong."""
    try:
        fields = {k.decode(): v.decode() for k, v in raw.items()}
    except UnicodeDecodeError:
        raise Refused("a field is not UTF-8", "fields") from None
    missing = [name for name in FIELDS if name not in fields]
    if missing:
        raise Refused(f"no {', '.join(missing)} field{'s' if len(missing) > 1 else ''}", "fields")
    host, text = fields["host"], fields["entry"]
    if key:
        if fields.get("v") != VERSION:
            raise Refused(
                f"signed by an older console (claims host {host!r}; its HMAC does not cover the stream): "
                "upgrade incident-console there",
                "version",
            )
        given = fields.get("hmac")
        if not given:
            raise Refused(f"no HMAC (claims host {host!r}): written without the key", "hmac")
        if not hmac.compare_digest(given, sign(key, stream, host, fields["sent"], text)):
            raise Refused(
                f"HMAC does not match (claims host {host!r}): forged, altered or copied from another stream", "hmac"
            )
    try:
        entry = outside_json.loads(text)
        seq, sent_ms = int(fields["seq"]), int(fields["sent"])
    except ValueError:
        raise Refused(f"not a journal entry (claims host {host!r})", "entry") from None
    if not isinstance(entry, dict) or entry.get("seq") != seq or entry.get("hash") != fields["hash"]:
        raise Refused(f"the fields do not match the entry (claims host {host!r}, seq {fields['seq']})", "entry")
    if entry_hash(entry) != entry["hash"]:
        raise Refused(f"bad hash: seq {seq} from {host!r} does not hash to its recorded hash", "hash")
    return Decoded(host, seq, entry["hash"], entry, sent_ms)
