"""A JSON document from an `http` or `command` source -> changes: `items` finds the list, `map` each field.

An item without an `id` or a readable `time` is skipped and counted (the source's error says how many); text fields
are cut at `MAX_TEXT` characters. Nothing here is escaped: whoever shows a change escapes it (widgets.outside,
console.output)."""

from __future__ import annotations

from typing import Any

from console.changes.model import Change
from console.config.changes import CHANGE_KINDS, CommandChanges, HttpChanges
from console.models.numbers import compile_path
from console.timeparse import parse_timestamp

MAX_TEXT = 300
MAX_ITEMS = 1000


def changes_from(document: Any, settings: HttpChanges | CommandChanges) -> tuple[list[Change], str | None]:
    """The changes the document lists, and a problem in words (None when every item was read)."""
    found = compile_path(settings.items, "items").search(document)
    if found is None:
        return [], f"items {settings.items!r} found nothing in the answer"
    if isinstance(found, dict):
        found = [found]
    if not isinstance(found, list):
        return [], f"items {settings.items!r} is {type(found).__name__}, not a list"
    paths = {name: compile_path(path) for name, path in settings.map.items()}
    live_known = "live_at" in paths
    changes: list[Change] = []
    skipped = 0
    for item in found[:MAX_ITEMS]:
        values = {name: path.search(item) for name, path in paths.items()}
        change_id, time = _text(values.get("id")), parse_timestamp(values.get("time"))
        if change_id is None or time is None:
            skipped += 1
            continue
        kind = _text(values.get("kind"))
        changes.append(
            Change(
                id=change_id,
                source=settings.name,
                kind=kind if kind in CHANGE_KINDS else settings.change_kind,
                time=time,
                live_at=parse_timestamp(values.get("live_at")),
                service=_text(values.get("service")) or settings.service,
                version=_text(values.get("version")),
                summary=_text(values.get("summary")) or "",
                author=_text(values.get("author")),
                url=_text(values.get("url")),
                live_known=live_known,
            )
        )
    problem = None
    if skipped:
        problem = f"{skipped} of {len(found[:MAX_ITEMS])} items had no id or no readable time (map.id, map.time)"
    return changes, problem


def _text(value: Any) -> str | None:
    """A scalar as text (cut at MAX_TEXT), else None."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text[:MAX_TEXT] if text else None
