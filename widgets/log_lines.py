"""How a LogView draws a stored line (time, level, source tag, message with filter matches marked), and the text
a mouse selection of drawn lines holds."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC
from itertools import islice

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Offset
from textual.selection import Selection
from textual.strip import Strip

from console.logfilter import LogFilter
from console.models.logs import LogLine

MAX_RENDER = 2000  # characters of a message drawn on the line; `enter` shows all of it
LEVEL_WORDS = {"fatal": "FATAL", "error": "ERROR", "warn": "WARN ", "info": "INFO ", "debug": "DEBUG"}
SOURCE_TAG_WIDTH = 10
STYLE_NAMES = ("time", "source", "match", *LEVEL_WORDS)  # the view's palette: logview--NAME, plus plain and cursor
_SOURCE, _SEQ = LogLine.SOURCE, LogLine.SEQ


class LineRenderer:
    """Stored line values as Strips, cached per (line, cursor); `widest` is the widest line drawn so far.

    `set_wide()` and `set_filter()` change how lines look; `clear()` when the styles do.
    """

    def __init__(self, sources: list[str]) -> None:
        self.merged = len(sources) > 1
        self.tag_width = min(SOURCE_TAG_WIDTH, max((len(name) for name in sources), default=0))
        self.wide = False
        self.log_filter: LogFilter | None = None
        self.widest = 0
        self._cache: LRUCache[tuple[str, int, bool], Strip] = LRUCache(256)

    def clear(self) -> None:
        self._cache.clear()

    def set_filter(self, log_filter: LogFilter | None) -> None:
        """Mark the matches of this filter (None: none)."""
        self.log_filter = log_filter
        self.clear()

    def set_wide(self, wide: bool) -> None:
        """Show milliseconds (when the view has room for them)."""
        if wide != self.wide:
            self.wide = wide
            self.clear()

    def strip(
        self, values: tuple, palette: dict[str, Style], is_cursor: bool, span: tuple[int, int] | None = None
    ) -> Strip:
        """The whole line (uncropped) in the palette's styles: the cursor line on the cursor style, the selected
        characters `span` (start, end; -1 is the end of the line) on the selection style."""
        key = (values[_SOURCE], values[_SEQ], is_cursor)
        strip = self._cache.get(key)
        if strip is None:
            base = palette["cursor" if is_cursor else "plain"]
            strip = Strip([Segment(text, base + palette[name] if name else base) for text, name in self.parts(values)])
            self._cache[key] = strip
            self.widest = max(self.widest, strip.cell_length)
        return strip if span is None else _highlight(strip, *span, palette["selection"])

    def text(self, values: tuple) -> str:
        """The line exactly as drawn, as plain text."""
        return "".join(text for text, _ in self.parts(values))

    def parts(self, values: tuple) -> list[tuple[str, str | None]]:
        """The line as (text, palette style name or None) pieces."""
        line = LogLine.of(values)
        moment = line.shown_time.astimezone(UTC)
        stamp = moment.strftime("%H:%M:%S.%f")[:12] if self.wide else moment.strftime("%H:%M:%S")
        level = line.level
        parts: list[tuple[str, str | None]] = [
            (stamp + " ", "time"),
            (LEVEL_WORDS[level], level) if level in LEVEL_WORDS else ("     ", None),
            (" ", None),
        ]
        if self.merged:
            parts.append((line.source[:SOURCE_TAG_WIDTH].ljust(self.tag_width) + " ", "source"))
        message = line.message if len(line.message) <= MAX_RENDER else line.message[:MAX_RENDER] + "…"
        at = 0
        for start, end in self.log_filter.spans(message) if self.log_filter is not None else ():
            if start > at:
                parts.append((message[at:start], None))
            parts.append((message[start:end], "match"))
            at = end
        if at < len(message):
            parts.append((message[at:], None))
        return parts


def make_palette(plain: Style, component: Callable[[str], Style], selection: Style) -> dict[str, Style]:
    """The styles lines are drawn in: plain, cursor, selection, and one per `logview--NAME` component class."""
    palette = {name: component(f"logview--{name}") for name in STYLE_NAMES}
    return {**palette, "plain": plain, "cursor": plain + component("logview--cursor"), "selection": selection}


def selected_text(stored: Sequence[tuple], selection: Selection, text: Callable[[tuple], str]) -> str | None:
    """The text under a selection whose y offsets are indexes into `stored`, each line as `text` draws it."""
    start, end = selection
    stop = len(stored) if end is None else min(len(stored), end.y + 1)
    texts = [text(values) for values in islice(stored, 0 if start is None else start.y, stop)]
    if not texts:
        return None
    if end is not None and end.y < len(stored):
        texts[-1] = texts[-1][: end.x]
    if start is not None:
        texts[0] = texts[0][start.x :]
    return "\n".join(texts)


def moved_selection(selection: Selection, gone: int) -> Selection | None:
    """The selection after `gone` lines left the top of the store: on the same lines, or None if they all went."""
    start, end = selection
    if end is not None and end.y < gone:
        return None
    up = Offset(0, gone)
    return Selection(None if start is None or start.y < gone else start - up, None if end is None else end - up)


def _highlight(strip: Strip, start: int, end: int, style: Style) -> Strip:
    """The strip with its characters start..end (-1: to the end) drawn in `style` on top (a text selection)."""
    segments = []
    at = 0
    for text, segment_style, _ in strip:
        stop = at + len(text)
        first, last = max(start, at) - at, len(text) if end == -1 else min(end, stop) - at
        if first >= last:
            segments.append(Segment(text, segment_style))
        else:
            if first:
                segments.append(Segment(text[:first], segment_style))
            segments.append(Segment(text[first:last], segment_style + style if segment_style else style))
            if last < len(text):
                segments.append(Segment(text[last:], segment_style))
        at = stop
    return Strip(segments, strip.cell_length)


def detail_lines(line: LogLine) -> list[str]:
    """Everything about one line, for the detail screen: where it came from, then all of its text and fields."""
    lines = [
        f"source: {line.source}   line: {line.seq}",
        f"time: {line.shown_time.astimezone(UTC).isoformat()}",
        f"level: {line.level or '-'}   trace id: {line.trace_id or '-'}",
        "",
        *(line.text[i : i + 200] for i in range(0, len(line.text), 200)),
    ]
    if line.fields is not None:
        lines += ["", *json.dumps(line.fields, indent=2, ensure_ascii=True, default=str).splitlines()]
    return lines
