"""What a journal entry is and how its chain is checked: the canonical hash, the entry's shape, the chain walk
behind `Journal.verify`, and anchors.

An anchor is a (seq, hash) pair witnessed outside the file (printed at the end of every posted status update). The
chain alone proves the file is self-consistent; only an anchor proves it still extends what someone saw, because a
rewrite that re-hashes every later entry is self-consistent too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

SHORT_HEX = 12
_ANCHOR = re.compile(r"^(?:anchor:\s*)?(?:seq\s+)?(\d+)(?::|\s+)(?:sha256:)?([0-9a-f]{64}|[0-9a-f]{12})$")


@dataclass(frozen=True)
class Anchor:
    """A witnessed (seq, hash): `hex` is the full 64-digit digest or its first 12 digits."""

    seq: int
    hex: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """`SEQ:HASH` (HASH full or short, with or without `sha256:`), or `seq SEQ sha256:HEX` as updates print it."""
        found = _ANCHOR.match(" ".join(text.split()).lower())
        if found is None or int(found[1]) < 1:
            raise ValueError(f"expected SEQ:HASH such as 1234:sha256:abcdef012345, got {text!r}")
        return cls(int(found[1]), found[2])

    def matches(self, full: str) -> bool:
        return full.removeprefix("sha256:").startswith(self.hex)

    def __str__(self) -> str:
        return f"seq {self.seq} sha256:{self.hex[:SHORT_HEX]}"


@dataclass(frozen=True)
class AnchorCheck:
    """Whether the journal still extends `anchor`; `detail` says why in one line."""

    anchor: Anchor
    held: bool
    detail: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of walking the chain: ``bad_seq``/``reason`` name the first bad entry when not ``ok``. ``count`` counts
    the entries walked, in the journal and the archives it continues (``archives``, oldest first); ``last_seq`` is the
    head's seq."""

    ok: bool
    count: int
    head: str | None
    bad_seq: int | None
    reason: str | None
    anchors: tuple[AnchorCheck, ...] = ()
    last_seq: int = 0
    archives: tuple[str, ...] = ()

    @property
    def anchored(self) -> bool:
        """The chain is intact and every anchor given holds."""
        return self.ok and all(check.held for check in self.anchors)


class ArchiveUnreadable(Exception):
    """An archive a journal continues cannot be read; ``str()`` says why in one line."""


def anchor_text(seq: int, full_hash: str) -> str:
    """The short anchor line, `anchor: seq 1234 sha256:abcdef012345`, for whoever should hold a witness."""
    return f"anchor: {Anchor(seq, full_hash.removeprefix('sha256:')[:SHORT_HEX])}"


def canonical(entry: dict) -> str:
    """The canonical JSON text of an entry: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry: dict) -> str:
    """``sha256:`` of the canonical JSON of ``entry`` without its ``hash`` field."""
    body = {key: value for key, value in entry.items() if key != "hash"}
    return "sha256:" + hashlib.sha256(canonical(body).encode()).hexdigest()


# What every reader relies on: field -> (accepted JSON types, what is expected in words).
_SHAPE: dict[str, tuple[tuple[type, ...], str]] = {
    "seq": ((int,), "an integer"),
    "ts": ((str,), "an ISO 8601 time"),
    "kind": ((str,), "a string"),
    "incident": ((str, type(None)), "a string or null"),
    "actor": ((dict,), "an object"),
    "data": ((dict,), "an object"),
    "corr": ((int, type(None)), "an integer or null"),
}
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}


def entry_problem(entry: Any) -> str | None:
    """What makes a parsed line no journal entry (a missing or mistyped field), or None when it is one."""
    if not isinstance(entry, dict):
        return f"{_json_type(entry)}, not an object"
    for field, (types, expected) in _SHAPE.items():
        if field not in entry:
            return f"no {field!r} field"
        value = entry[field]
        if isinstance(value, bool) or not isinstance(value, types):
            return f"{field!r} is {_json_type(value)}, expected {expected}"
    try:
        datetime.fromisoformat(entry["ts"])
    except ValueError:
        return f"'ts' is {entry['ts'][:40]!r}, expected an ISO 8601 time"
    return None


def _json_type(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return _JSON_TYPES.get(type(value), type(value).__name__)


ARCHIVED = "journal.archived"  # written by `console.journal.archive`: the archive a journal continues
_MAX_ARCHIVES = 1000


@dataclass(frozen=True)
class _Walked:
    result: VerifyResult
    first: tuple[int, str | None] | None  # (seq, prev) of the first line, when it is an entry
    archived: tuple[dict, ...]  # the data of every journal.archived entry


def walk(
    lines: Iterable[tuple[int, bytes]],
    anchors: Sequence[Anchor] = (),
    archive: Callable[[str], Iterable[tuple[int, bytes]]] | None = None,
) -> VerifyResult:
    """Walk the chain over (line number, raw line) pairs, naming the first bad entry, and check each anchor. A
    journal whose first entry is not seq 1 continues an archive: `archive(file)` gives the lines of the one its
    `journal.archived` entry names, which is walked (and so on back to seq 1) and must end with the entry the
    journal's first one chains to."""
    wanted = {anchor.seq for anchor in anchors}
    seen: dict[int, str] = {}
    result = _across(lines, wanted, seen, archive, 0)
    checks = []
    held_before = 0  # the latest seq an anchor holds: a rewrite found later happened after it
    for anchor in sorted(anchors, key=lambda a: a.seq):
        check = _check(anchor, seen.get(anchor.seq), result, held_before)
        held_before = anchor.seq if check.held else held_before
        checks.append(check)
    return replace(result, anchors=tuple(checks))


def _across(
    lines: Iterable[tuple[int, bytes]],
    wanted: set[int],
    seen: dict[int, str],
    archive: Callable[[str], Iterable[tuple[int, bytes]]] | None,
    depth: int,
) -> VerifyResult:
    walked = _chain(lines, wanted, seen)
    result = walked.result
    if not result.ok or walked.first is None or walked.first[0] == 1:
        return result
    start, prev = walked.first
    record = next((d for d in walked.archived if d.get("last") == start - 1 and d.get("head") == prev), None)
    if record is None or archive is None or depth >= _MAX_ARCHIVES:
        reason = f"the first entry is seq {start}, and no journal.archived entry names the archive of seq {start - 1}"
        return replace(result, ok=False, bad_seq=start, reason=reason)
    name = str(record.get("file"))
    try:
        older = _across(archive(name), wanted, seen, archive, depth + 1)
    except ArchiveUnreadable as exc:
        return replace(result, ok=False, bad_seq=start - 1, reason=f"archive {name}: {exc}")
    if not older.ok:
        return replace(result, ok=False, bad_seq=older.bad_seq, reason=f"archive {name}: {older.reason}")
    if (older.last_seq, older.head) != (start - 1, prev):
        found = f"ends at seq {older.last_seq}" if older.count else "is missing or empty"
        reason = f"archive {name} {found}; the journal's first entry (seq {start}) chains to seq {start - 1}"
        return replace(result, ok=False, bad_seq=start - 1, reason=reason)
    return replace(result, count=older.count + result.count, archives=(*older.archives, name))


def _chain(lines: Iterable[tuple[int, bytes]], wanted: set[int], seen: dict[int, str]) -> _Walked:
    """The chain walk; the hash of every seq in `wanted` that chains properly goes into `seen`. The first entry may
    continue an archive (seq above 1, its prev the archive's head); `_across` checks that it does."""
    count, last = 0, 0
    head: str | None = None
    first: tuple[int, str | None] | None = None
    archived: list[dict] = []

    def bad(seq: int | None, reason: str) -> _Walked:
        return _Walked(VerifyResult(False, count, head, seq, reason, last_seq=last), first, tuple(archived))

    for line_no, raw in lines:
        try:
            entry = json.loads(raw)
        except ValueError:
            return bad(line_no, "not JSON")
        if not isinstance(entry, dict):
            return bad(line_no, f"not a journal entry: {entry_problem(entry)}")
        seq = entry.get("seq")
        if first is None and isinstance(seq, int) and seq > 1 and isinstance(entry.get("prev"), str):
            first, last, head = (seq, entry.get("prev")), seq - 1, entry.get("prev")  # continues an archive
        elif first is None:
            first = (1, None)
        if seq != last + 1:
            return bad(seq if isinstance(seq, int) else last + 1, f"seq {seq} follows {last}")
        if entry.get("prev") != head:
            reason = f"prev does not match hash of seq {last}" if last else "seq 1 has a prev"
            return bad(seq, reason)
        if entry.get("hash") != entry_hash(entry):
            return bad(seq, "hash mismatch")
        if problem := entry_problem(entry):  # chained, but no entry a reader can use
            return bad(seq, f"not a journal entry: {problem}")
        if entry["kind"] == ARCHIVED:
            archived.append(entry["data"])
        head, last, count = entry["hash"], seq, count + 1
        if seq in wanted:
            seen[seq] = head
    return _Walked(VerifyResult(True, count, head, None, None, last_seq=last), first, tuple(archived))


def _check(anchor: Anchor, found: str | None, chain: VerifyResult, held_before: int) -> AnchorCheck:
    if found is None:
        if chain.ok:
            ends = f"the journal ends at seq {chain.last_seq}, before anchor seq {anchor.seq}"
            return AnchorCheck(anchor, False, ends)
        return AnchorCheck(anchor, False, f"the chain breaks at seq {chain.bad_seq}, before anchor seq {anchor.seq}")
    if not anchor.matches(found):
        after = f" and after seq {held_before}, which an anchor holds" if held_before else ""
        return AnchorCheck(
            anchor,
            False,
            f"seq {anchor.seq} differs: its hash is {found[: 7 + SHORT_HEX]}, the anchor says sha256:"
            f"{anchor.hex[:SHORT_HEX]}; the journal was rewritten at or before seq {anchor.seq}{after}",
        )
    if not chain.ok:
        detail = f"seq {anchor.seq} matches, but the chain breaks after it at seq {chain.bad_seq}"
        return AnchorCheck(anchor, False, detail)
    return AnchorCheck(anchor, True, f"the journal still extends seq {anchor.seq} (its hash matches)")
