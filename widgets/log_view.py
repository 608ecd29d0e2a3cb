"""A flood-proof log view on the line API: a bounded ring of lines, rendered a screenful at a time."""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC
from itertools import islice
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from console.logfilter import FilterError, LogFilter, compile_filter, merge_by_time, trace_filter
from console.models.logs import LogLine
from widgets.messages import DetailRequested, FilterRequested

REFRESH_INTERVAL = 0.05  # appends are painted at most this often
FLOOD_INTERVAL = 0.1  # ...and at most this often in a flood (nobody reads 2,000 lines per frame)
FLOOD_LINES = 2000
MAX_RENDER = 2000  # characters of a message drawn on the line; `enter` shows all of it
LEVEL_WORDS = {"fatal": "FATAL", "error": "ERROR", "warn": "WARN ", "info": "INFO ", "debug": "DEBUG"}
SOURCE_TAG_WIDTH = 10
_SOURCE, _SEQ, _ORDER = LogLine.SOURCE, LogLine.SEQ, LogLine.ORDER


class LineList(Sequence[LogLine]):
    """Stored line values seen as LogLines (the view keeps bare tuples: see LogLine)."""

    __slots__ = ("_values",)

    def __init__(self, values: deque[tuple]) -> None:
        self._values = values

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, index: int) -> LogLine:  # type: ignore[override]
        return LogLine.of(self._values[index])

    def __iter__(self) -> Iterator[LogLine]:
        return map(LogLine.of, self._values)

    def __reversed__(self) -> Iterator[LogLine]:
        return map(LogLine.of, reversed(self._values))


class LogView(ScrollView, can_focus=True, inherit_bindings=False):
    """Lines of one or several sources (merged by time, each tagged with its source) in a ring of `max_lines`.

    Appends are cheap (stored, painted at most every 50 ms); only the visible lines are ever rendered, and
    rendered lines are cached. `f` follows/pauses, `/` asks for a filter (regex, `!` inverts, `level=error`,
    `outcome=exception`...), `n`/`N` step through the filter's matches with the lines around them shown,
    `T` shows only the current line's trace id across every source (again to clear), `y` copies the line.
    """

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow", id="logs.follow"),
        Binding("slash", "filter", "Filter", id="logs.filter"),
        Binding("n", "find(1)", "Next", id="logs.next"),
        Binding("N", "find(-1)", "Prev", id="logs.prev"),
        Binding("T", "follow_trace", "Trace", id="logs.trace"),
        Binding("y", "copy_line", "Copy", id="logs.copy"),
        Binding("enter", "detail", "Detail", show=False, id="logs.detail"),
        Binding("up,k", "move(-1)", "Up", show=False, id="logs.up"),
        Binding("down,j", "move(1)", "Down", show=False, id="logs.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="logs.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="logs.page_down"),
        Binding("home", "top", "Top", show=False, id="logs.top"),
        Binding("end", "bottom", "Bottom", show=False, id="logs.bottom"),
        Binding("left", "scroll_left", "Left", show=False, id="logs.left"),
        Binding("right", "scroll_right", "Right", show=False, id="logs.right"),
    ]

    COMPONENT_CLASSES = {
        "logview--time",
        "logview--source",
        "logview--fatal",
        "logview--error",
        "logview--warn",
        "logview--info",
        "logview--debug",
        "logview--match",
        "logview--cursor",
    }

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        overflow-y: scroll;
        overflow-x: auto;
        border: round $panel;
        border-title-color: $text-muted;
        border-subtitle-color: $text-muted;
        border-subtitle-align: right;
        &:focus { border: round $accent; }
        & > .logview--time { color: $text-muted; }
        & > .logview--source { color: $secondary; }
        & > .logview--fatal { color: $error; text-style: bold reverse; }
        & > .logview--error { color: $error; text-style: bold; }
        & > .logview--warn { color: $warning; }
        & > .logview--info { color: $success; }
        & > .logview--debug { color: $text-muted; }
        & > .logview--match { background: $accent 45%; text-style: underline; }
        & > .logview--cursor { background: $primary 35%; text-style: bold; }
    }
    """

    class TraceFollowed(Message):
        """Trace-id follow started (trace_id) or stopped (None): the app may apply it to other log panes."""

        def __init__(self, view: LogView, trace_id: str | None) -> None:
            super().__init__()
            self.view = view
            self.trace_id = trace_id

        @property
        def control(self) -> LogView:
            return self.view

    def __init__(self, sources: Sequence[str] = (), *, max_lines: int = 100_000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sources = list(sources)
        self.merged = len(self.sources) > 1
        self.max_lines = max_lines
        self.following = True
        self.query: LogFilter | None = None
        self.hide_unmatched = True
        self.trace_id: str | None = None
        self.cursor: int | None = None
        self.received = 0
        self.dropped_by_source: Counter[str] = Counter()
        self._ring: deque[tuple] = deque(maxlen=max_lines)
        self._shown: deque[tuple] | None = None
        self._cache: LRUCache[tuple[str, int, bool], Strip] = LRUCache(256)
        self._tag_width = min(SOURCE_TAG_WIDTH, max((len(name) for name in self.sources), default=0))
        self._palette: dict[str, Style] | None = None
        self._width = 0
        self._dirty = False
        self._flooded = False
        self._unpainted = 0
        self._timer: Timer | None = None

    # ---- data in -------------------------------------------------------------------------------

    @property
    def lines(self) -> LineList:
        """The lines on offer: every line in the ring, or those passing the filter / trace id."""
        return LineList(self._stored)

    @property
    def _stored(self) -> deque[tuple]:
        return self._ring if self._shown is None else self._shown

    @property
    def dropped(self) -> int:
        return sum(self.dropped_by_source.values())

    def append(self, batch: Sequence[LogLine]) -> None:
        """Store a batch (cheap: no rendering here); the screen catches up within REFRESH_INTERVAL (FLOOD_INTERVAL
        while more than FLOOD_LINES arrive between two paints)."""
        if not batch:
            return
        self.received += len(batch)
        self._unpainted += len(batch)
        ring, shown = self._ring, self._shown
        lines = list(batch)
        if self.merged and ring and min(line.order for line in lines) < ring[-1][_ORDER]:
            lines = self._reorder_tail(lines)
        if len(lines) > self.max_lines:
            self.dropped_by_source.update(line.source for line in lines[: -self.max_lines])
            lines = lines[-self.max_lines :]
        overflow = len(ring) + len(lines) - self.max_lines
        gone_from_view = 0
        if overflow > 0:
            if shown is None and not self.merged:
                self.dropped_by_source[lines[0].source] += overflow
                gone_from_view = overflow
            else:
                for values in islice(ring, overflow):
                    self.dropped_by_source[values[_SOURCE]] += 1
                    if shown is None:
                        gone_from_view += 1
                    elif shown and shown[0] is values:
                        shown.popleft()
                        gone_from_view += 1
        ring.extend(line.values for line in lines)
        if shown is not None:
            keep = self._predicate()
            shown.extend(line.values for line in lines if keep is None or keep(line))
        if gone_from_view and not self.following:
            self._shift(gone_from_view)
        self._dirty = True
        if self._timer is None and self.is_mounted:
            self._timer = self.set_timer(FLOOD_INTERVAL if self._flooded else REFRESH_INTERVAL, self._flush)

    def _reorder_tail(self, lines: list[LogLine]) -> list[LogLine]:
        """Take back the ring's newest lines that are later than the batch, and merge them with it by time."""
        earliest = min(line.order for line in lines)
        ring, shown = self._ring, self._shown
        taken: list[tuple] = []
        while ring and ring[-1][_ORDER] > earliest:
            taken.append(ring.pop())
        if shown is not None and taken:
            ids = {id(values) for values in taken}
            while shown and id(shown[-1]) in ids:
                shown.pop()
        taken.reverse()
        return merge_by_time(map(LogLine.of, taken), lines)

    def _shift(self, count: int) -> None:
        """Lines left the top of the ring while paused: keep the same lines under the operator's eyes."""
        if self.cursor is not None:
            self.cursor = self.cursor - count if self.cursor >= count else None
        self.scroll_to(y=max(0, self.scroll_offset.y - count), animate=False, immediate=True)

    def on_mount(self) -> None:
        self._flush()

    def _flush(self) -> None:
        self._timer = None
        if not self._dirty:
            return
        self._dirty = False
        self._flooded, self._unpainted = self._unpainted > FLOOD_LINES, 0
        size = Size(self._width, len(self._stored))
        if size.width != self.virtual_size.width:
            self.virtual_size = size  # a wider line may bring the horizontal scrollbar: lay out
        elif size != self.virtual_size:
            # Only the line count changed: no layout (that would repaint the whole screen on every append).
            self.set_reactive(LogView.virtual_size, size)
            self.vertical_scrollbar.window_virtual_size = size.height
        if self.following:
            self.cursor = None
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        self._update_titles()
        self.refresh()

    def _touch(self) -> None:
        """Something besides new lines changed (filter, follow, cursor): repaint now."""
        self._dirty = True
        self._flush()

    # ---- filter, find, trace -------------------------------------------------------------------

    def set_filter(self, text: str) -> str | None:
        """Apply a filter expression (see console.logfilter); empty clears. Returns an error text, else None."""
        try:
            query = compile_filter(text)
        except FilterError as exc:
            return str(exc)
        self.query, self.hide_unmatched = query, True
        self._rebuild()
        return None

    def follow_trace(self, trace_id: str | None) -> None:
        """Show only lines carrying this trace id (from every source in the view); None shows all again."""
        self.trace_id = trace_id
        self._rebuild()

    def _predicate(self) -> Callable[[LogLine], bool] | None:
        tests = []
        if self.trace_id is not None:
            tests.append(trace_filter(self.trace_id).matches)
        if self.query is not None and self.hide_unmatched:
            tests.append(self.query.matches)
        if not tests:
            return None
        if len(tests) == 1:
            return tests[0]
        first, second = tests
        return lambda line: first(line) and second(line)

    def _rebuild(self, keep: LogLine | None = None) -> None:
        keep = keep or self.current_line
        predicate = self._predicate()
        if predicate is None:
            self._shown = None
        else:
            self._shown = deque(values for values in self._ring if predicate(LogLine.of(values)))
        self._cache.clear()
        self.cursor = None
        if keep is not None and not self.following:
            index = _index_of(self._stored, keep)
            if index is not None:
                self.cursor = index
                self._center(index)
        self._touch()

    @property
    def current_line(self) -> LogLine | None:
        """The line under the cursor, else the bottom line on screen."""
        stored = self._stored
        if not stored:
            return None
        if self.cursor is not None and self.cursor < len(stored):
            return LogLine.of(stored[self.cursor])
        bottom = min(len(stored), self.scroll_offset.y + self.scrollable_content_region.height) - 1
        return LogLine.of(stored[max(0, bottom)])

    def _matches_from(self, start: int, step: int) -> int | None:
        stored, query = self._stored, self.query
        assert query is not None
        if step > 0:
            start = max(0, start)
            candidates: Iterable[tuple[int, tuple]] = enumerate(islice(stored, start, None), start)
        else:
            if start < 0:
                return None
            start = min(start, len(stored) - 1)
            backwards = islice(reversed(stored), len(stored) - 1 - start, None)
            candidates = ((start - offset, values) for offset, values in enumerate(backwards))
        return next((index for index, values in candidates if query.matches(LogLine.of(values))), None)

    def _center(self, index: int) -> None:
        height = self.scrollable_content_region.height
        self.scroll_to(y=max(0, index - height // 2), animate=False, immediate=True)

    # ---- actions -------------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        self.cursor = None
        self._touch()

    def action_filter(self) -> None:
        self.post_message(FilterRequested(self, self.query.text if self.query else ""))

    def action_find(self, step: int) -> None:
        """Next/previous match of the filter, shown in place among all lines (context mode)."""
        if self.query is None:
            self.notify("nothing to find: set a filter with / first", timeout=2)
            return
        current = self.current_line
        self.following = False
        if self.hide_unmatched:
            self.hide_unmatched = False
            self._rebuild(keep=current)
            if self.cursor is not None and self.query.matches(LogLine.of(self._stored[self.cursor])):
                return
        start = self.cursor + step if self.cursor is not None else self.scroll_offset.y
        found = self._matches_from(start, step)
        if found is None:
            self.notify("no more matches" if step > 0 else "no earlier matches", timeout=1.5)
            return
        self.cursor = found
        self._center(found)
        self._touch()

    def action_follow_trace(self) -> None:
        if self.trace_id is not None:
            trace_id = None
        else:
            line = self.current_line
            if line is None or line.trace_id is None:
                self.notify("this line has no trace id", timeout=2)
                return
            trace_id = line.trace_id
        self.follow_trace(trace_id)
        self.post_message(self.TraceFollowed(self, trace_id))

    def action_copy_line(self) -> None:
        line = self.current_line
        if line is None:
            return
        self.app.copy_to_clipboard(line.text)
        self.notify(f"copied {len(line.text)} characters", timeout=1.5)

    def action_detail(self) -> None:
        line = self.current_line
        if line is None:
            return
        lines = [
            f"source: {line.source}   line: {line.seq}",
            f"time: {line.shown_time.astimezone(UTC).isoformat()}",
            f"level: {line.level or '-'}   trace id: {line.trace_id or '-'}",
            "",
            *(line.text[i : i + 200] for i in range(0, len(line.text), 200)),
        ]
        if line.fields is not None:
            lines += ["", *json.dumps(line.fields, indent=2, ensure_ascii=True, default=str).splitlines()]
        self.post_message(DetailRequested(f"{line.source} line {line.seq}", lines))

    def action_move(self, step: int) -> None:
        count = len(self._stored)
        if not count:
            return
        if self.cursor is None:
            self.cursor = min(count, self.scroll_offset.y + self.scrollable_content_region.height) - 1
        self.cursor = max(0, min(count - 1, self.cursor + step))
        self.following = False
        self._scroll_into_view(self.cursor)
        self._touch()

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 1))

    def action_top(self) -> None:
        self.following = False
        self.cursor = 0 if self._stored else None
        self.scroll_to(y=0, animate=False, immediate=True)
        self._touch()

    def action_bottom(self) -> None:
        self.following = True
        self._touch()

    def _scroll_into_view(self, index: int) -> None:
        """Scroll as little as needed to show line `index`."""
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y - self.gutter.top
        if 0 <= index < len(self._stored):
            self.cursor, self.following = index, False
            self._touch()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.following:
            self.following = False
            self._touch()

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self._touch()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # ---- drawing -------------------------------------------------------------------------------

    def _update_titles(self) -> None:
        parts = []
        if self.trace_id is not None:
            parts.append(f"trace {self.trace_id}")
        if self.query is not None:
            parts.append(f"{'filter' if self.hide_unmatched else 'find (n/N)'}: {self.query.text}")
        self.border_title = Content(" · ".join(parts)) if parts else None
        state = "▶ FOLLOW" if self.following else "⏸ PAUSED"
        shown = len(self._stored)
        counts = f"{shown:,} of {len(self._ring):,} lines" if self._shown is not None else f"{shown:,} lines"
        dropped = self.dropped
        tail = f" · {dropped:,} dropped" if dropped else ""
        self.border_subtitle = Content(f"{state} · {counts}{tail}")

    def render_lines(self, crop: Region) -> list[Strip]:
        """Work the styles out once per frame, not once per line."""
        self._palette = self._make_palette()
        return super().render_lines(crop)

    def _make_palette(self) -> dict[str, Style]:
        plain = self.rich_style
        component = self.get_component_rich_style
        palette = {"plain": plain, "cursor": plain + component("logview--cursor")}
        for name in ("time", "source", "match", *LEVEL_WORDS):
            palette[name] = component(f"logview--{name}")
        return palette

    def render_line(self, y: int) -> Strip:
        palette = self._palette or self._make_palette()
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        stored = self._stored
        if index >= len(stored):
            return Strip.blank(width, palette["plain"])
        values = stored[index]
        is_cursor = index == self.cursor
        key = (values[_SOURCE], values[_SEQ], is_cursor)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render(LogLine.of(values), palette, palette["cursor" if is_cursor else "plain"])
            self._cache[key] = strip
            if strip.cell_length > self._width:
                self._width = strip.cell_length
                self._dirty = True
                if self._timer is None:
                    self._timer = self.set_timer(REFRESH_INTERVAL, self._flush)
        return strip.crop_extend(scroll_x, scroll_x + width, palette["cursor" if is_cursor else "plain"])

    def _render(self, line: LogLine, palette: dict[str, Style], base: Style) -> Strip:
        moment = line.shown_time.astimezone(UTC)
        stamp = moment.strftime("%H:%M:%S.%f")[:12] if self.size.width >= 100 else moment.strftime("%H:%M:%S")
        level = line.level
        segments = [
            Segment(stamp + " ", base + palette["time"]),
            Segment(LEVEL_WORDS[level], base + palette[level]) if level in LEVEL_WORDS else Segment("     ", base),
            Segment(" ", base),
        ]
        if self.merged:
            segments.append(
                Segment(line.source[:SOURCE_TAG_WIDTH].ljust(self._tag_width) + " ", base + palette["source"])
            )
        message = line.message if len(line.message) <= MAX_RENDER else line.message[:MAX_RENDER] + "…"
        spans = self.query.spans(message) if self.query is not None else []
        at = 0
        for start, end in spans:
            if start > at:
                segments.append(Segment(message[at:start], base))
            segments.append(Segment(message[start:end], base + palette["match"]))
            at = end
        if at < len(message):
            segments.append(Segment(message[at:], base))
        return Strip(segments)


def _index_of(stored: deque[tuple], wanted: LogLine) -> int | None:
    target = wanted.values
    for index, values in enumerate(stored):
        if values is target:
            return index
    return None
