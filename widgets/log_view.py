"""A flood-proof log view on the line API: a bounded ring of lines, rendered a screenful at a time."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip
from textual.timer import Timer

from console.logfilter import FilterError, compile_filter
from console.models.logs import LogLine
from console.redact import make_safe
from widgets.log_lines import STYLE_NAMES, LineRenderer, detail_lines, make_palette, moved_selection, selected_text
from widgets.log_store import LineList, LogStore
from widgets.messages import DetailRequested, FilterRequested

REFRESH_INTERVAL = 0.05  # appends are painted this soon after a quiet spell...
FOLLOW_INTERVAL = 0.25  # ...and, while following a stream, at most this often: 4 frames/s. Each paint of a
# following view scrolls, so every row of the pane is redrawn; at 80x24 that is ~1.5 KB a frame, and painting
# every 50 ms wrote 8-11 KB/s for a log at 15 lines/s, too much for a slow SSH link. Nobody reads faster than 4-5
# screenfuls a second; the lines themselves are never skipped (the ring keeps them, the last frame shows them).
FLOOD_LINES = 2000  # more appended lines than this between two paints: a flood, painted at the follow pace too


class LogView(ScrollView, can_focus=True, inherit_bindings=False):
    """Lines of one or several sources (merged by time, each tagged with its source) in a ring of `max_lines`.

    Appends are cheap (stored, painted at most every 50 ms); only the visible lines are ever rendered, and
    rendered lines are cached. `f` follows/pauses, `/` asks for a filter (regex, `!` inverts, `level=error`,
    `outcome=exception`...), `n`/`N` step through the filter's matches with the lines around them shown,
    `T` shows only the current line's trace id across every source (again to clear), `y` copies the line.
    The mouse selects text as drawn (a drag, or a double click for all of it; `ctrl+c` copies, escape clears).
    """

    HELP_PLACE = "logs"

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

    COMPONENT_CLASSES = {f"logview--{name}" for name in (*STYLE_NAMES, "cursor")}

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        overflow-y: scroll;
        overflow-x: hidden;  /* a scrollbar took a row, redrawn in every frame: see allow_horizontal_scroll */
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
        self.store = LogStore(max_lines, merged=len(self.sources) > 1)
        self.following = True
        self.cursor: int | None = None
        self._renderer = LineRenderer(self.sources)
        self._palette: dict[str, Style] | None = None
        self._painting = False
        self._has_selection = False  # kept by selection_updated: no DOM walk per batch or line without one
        self._width = 0
        self._dirty = False
        self._flooded = False
        self._unpainted = 0
        self._timer: Timer | None = None
        self._last_paint = 0.0  # monotonic time of the last paint of appended lines
        self.after_flush: Callable[[], None] | None = None  # the pane repaints its header in the same frame

    # ---- data in -------------------------------------------------------------------------------

    @property
    def lines(self) -> LineList:
        """The lines on offer: every line in the ring, or those passing the filter / trace id."""
        return LineList(self.store.stored)

    @property
    def dropped(self) -> int:
        return self.store.dropped

    @property
    def dropped_by_source(self) -> Counter[str]:
        return self.store.dropped_by_source

    def append(self, batch: Sequence[LogLine]) -> None:
        """Store a batch (cheap: no rendering here); the screen catches up within REFRESH_INTERVAL, at most every
        FOLLOW_INTERVAL while following or in a flood (paused, only the counts and the scrollbar move then)."""
        if not batch:
            return
        self._unpainted += len(batch)
        gone = self.store.add(batch)
        if gone:
            self._shift(gone)
            self._move_selection(gone)
        self._dirty = True
        if self._timer is None and self.is_mounted:
            self._timer = self.set_timer(self._delay(), self._flush)

    def _delay(self) -> float:
        """How long the next paint of appended lines waits (see REFRESH_INTERVAL and FOLLOW_INTERVAL)."""
        if not (self.following or self._flooded):
            return REFRESH_INTERVAL
        return max(REFRESH_INTERVAL, self._last_paint + FOLLOW_INTERVAL - time.monotonic())

    def _shift(self, count: int) -> None:
        """Lines left the top of the ring: keep the lines last drawn under the operator's eyes (`f` pauses on
        them; a following view goes to the bottom at its next paint).

        The screen shows the same lines, so no repaint per batch (a scroll would repaint the view each time, up to
        60 times a second in a flood); the next paint of appended lines moves the scrollbar and the counts."""
        if self.cursor is not None:
            self.cursor = self.cursor - count if self.cursor >= count else None
        y = max(0, self.scroll_offset.y - count)
        self.set_reactive(LogView.scroll_y, y)
        self.set_reactive(LogView.scroll_target_y, y)

    def on_mount(self) -> None:
        self._flush()

    def _flush(self) -> None:
        self._timer = None
        if not self._dirty:
            return
        self._dirty = False
        self._last_paint = time.monotonic()
        self._flooded, self._unpainted = self._unpainted > FLOOD_LINES, 0
        size = Size(self._width, len(self.store.stored))
        if size != self.virtual_size:
            # No layout (that would repaint the whole screen on every append): no horizontal scrollbar to show.
            self.set_reactive(LogView.virtual_size, size)
            self.vertical_scrollbar.window_virtual_size = size.height
        if self.following:
            self.cursor = None
            self._scroll_quietly(self.max_scroll_y)
        elif self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = self.scroll_y  # after _shift
        self._update_titles()
        self.refresh(self.size.region)  # the lines, not the border: its subtitle repaints on its own (_update_titles)
        if self.after_flush is not None:
            self.after_flush()

    def _scroll_quietly(self, y: int) -> None:
        """Scroll to line `y` and repaint no more than the lines: a scroll through Textual (`scroll_to`) lays the
        screen out again and repaints the whole view, border included, in every frame of a followed log."""
        if y != self.scroll_y:
            self.set_reactive(LogView.scroll_y, y)
            self.set_reactive(LogView.scroll_target_y, y)
            if self.show_vertical_scrollbar:
                self.vertical_scrollbar.position = y

    @property
    def paint_pending(self) -> bool:
        """Appended lines wait for their paint (the pane brings its header along with it)."""
        return self._timer is not None

    def _touch(self) -> None:
        """Something besides new lines changed (filter, follow, cursor): repaint now."""
        self._dirty = True
        self._flush()

    # ---- filter, find, trace -------------------------------------------------------------------

    def set_filter(self, text: str) -> str | None:
        """Apply a filter expression (see console.logfilter); empty clears. Returns an error text, else None."""
        try:
            log_filter = compile_filter(text)
        except FilterError as exc:
            return str(exc)
        self.store.log_filter, self.store.hide_unmatched = log_filter, True
        self._rebuild()
        return None

    def follow_trace(self, trace_id: str | None) -> None:
        """Show only lines carrying this trace id (from every source in the view); None shows all again."""
        self.store.trace_id = trace_id
        self._rebuild()

    def _rebuild(self, keep: LogLine | None = None) -> None:
        keep = keep or self.current_line
        self.store.rebuild()
        self._renderer.set_filter(self.store.log_filter)
        self._move_selection(None)
        self.cursor = None
        if keep is not None and not self.following:
            index = self.store.index_of(keep)
            if index is not None:
                self.cursor = index
                self._center(index)
        self._touch()

    @property
    def current_line(self) -> LogLine | None:
        """The line under the cursor, else the bottom line on screen."""
        stored = self.store.stored
        if not stored:
            return None
        if self.cursor is not None and self.cursor < len(stored):
            return LogLine.of(stored[self.cursor])
        bottom = min(len(stored), self.scroll_offset.y + self.scrollable_content_region.height) - 1
        return LogLine.of(stored[max(0, bottom)])

    def _center(self, index: int) -> None:
        height = self.scrollable_content_region.height
        self.scroll_to(y=max(0, index - height // 2), animate=False, immediate=True)

    # ---- actions -------------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        self.cursor = None
        if self.following:
            self._touch()
        else:  # paused on the lines on screen: only the state word changes (the lines took ~5 ms of the key's frame)
            self._update_titles()

    def action_filter(self) -> None:
        self.post_message(FilterRequested(self, self.store.log_filter.text if self.store.log_filter else ""))

    def action_find(self, step: int) -> None:
        """Next/previous match of the filter, shown in place among all lines (context mode)."""
        store = self.store
        if store.log_filter is None:
            self.notify("nothing to find: set a filter with / first", timeout=2)
            return
        current = self.current_line
        self.following = False
        if store.hide_unmatched:
            store.hide_unmatched = False
            self._rebuild(keep=current)
            if self.cursor is not None and store.log_filter.matches(LogLine.of(store.stored[self.cursor])):
                return
        start = self.cursor + step if self.cursor is not None else self.scroll_offset.y
        found = store.find(start, step)
        if found is None:
            self.notify("no more matches" if step > 0 else "no earlier matches", timeout=1.5)
            return
        self.cursor = found
        self._center(found)
        self._touch()

    def action_follow_trace(self) -> None:
        if self.store.trace_id is not None:
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
        if line is not None:
            self.post_message(DetailRequested(f"{line.source} line {line.seq}", detail_lines(line)))

    def action_move(self, step: int) -> None:
        count = len(self.store.stored)
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
        self.cursor = 0 if self.store.stored else None
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

    @property
    def allow_horizontal_scroll(self) -> bool:
        """Left / right scroll lines wider than the view with no scrollbar (the subtitle names the columns)."""
        return not self._check_disabled() and self.max_scroll_x > 0

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        self._update_titles()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if self.following:  # the lines stay put while the operator selects them
            self.following = False
            self._touch()

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y - self.gutter.top
        if 0 <= index < len(self.store.stored):
            self.cursor, self.following = index, False
            self._touch()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.following:
            self.following = False
            self._touch()

    def on_resize(self, event: events.Resize) -> None:
        self._renderer.clear()
        self._touch()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._palette = None
        self._renderer.clear()

    # ---- mouse selection (Textual calls these; `ctrl+c` copies, escape clears) ----------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text as drawn (a selection's y offsets are indexes into the stored lines)."""
        text = selected_text(self.store.stored, selection, self._renderer.text)
        return None if text is None else (text, "\n")

    def selection_updated(self, selection: Selection | None) -> None:
        self._has_selection = selection is not None
        self.refresh()

    def _move_selection(self, gone: int | None) -> None:
        """`gone` lines left the top: the selection stays on its lines (or goes with them); None: lines replaced."""
        if not self._has_selection or (selection := self.text_selection) is None:
            return
        selections = {widget: held for widget, held in self.screen.selections.items() if widget is not self}
        if gone is not None and (moved := moved_selection(selection, gone)) is not None:
            selections[self] = moved
        self.screen.selections = selections

    # ---- drawing -------------------------------------------------------------------------------

    def _update_titles(self) -> None:
        store = self.store
        parts = []
        if store.trace_id is not None:
            parts.append(f"trace {store.trace_id}")
        if store.log_filter is not None:
            parts.append(f"{'filter' if store.hide_unmatched else 'find (n/N)'}: {store.log_filter.text}")
        title = make_safe(" · ".join(parts))  # a playbook's filter too
        if title != (self._border_title.plain if self._border_title is not None else ""):
            self.border_title = Content(title) if title else None
        shown = len(store.stored)
        counts = f"{shown:,} of {len(store.ring):,} lines" if store.shown is not None else f"{shown:,} lines"
        dropped = f" · {store.dropped:,} dropped" if store.dropped else ""
        width, left = self.scrollable_content_region.width, round(self.scroll_x)
        columns = f" · cols {left + 1}-{left + width} of {self._width}" if self.is_mounted and self.max_scroll_x else ""
        state = "▶ FOLLOW" if self.following else "⏸ PAUSED"
        subtitle = f"{state} · {counts}{dropped}{columns}"
        before = self._border_subtitle.plain if self._border_subtitle is not None else None
        if subtitle != before:
            # Textual's setter repaints the whole view; the count changes with every paint of a followed log, so
            # the subtitle is set as the setter would (Content: no markup, tabs or newlines here) and only its end
            # of the bottom border is repainted (right-aligned: the longer text and its frame, in content coordinates).
            self._border_subtitle = Content(subtitle)
            left, top = self.content_offset
            width, height = self.outer_size
            span = min(width, max(len(subtitle), len(before or "")) + 4)
            self.refresh(Region(width - span - left, height - 1 - top, span, 1))

    def render_lines(self, crop: Region) -> list[Strip]:
        """Check the styles once per frame, not once per line."""
        self._current_palette()
        self._renderer.set_wide(self.size.width >= 100)
        self._painting = True
        try:
            return super().render_lines(crop)
        finally:
            self._painting = False

    def _current_palette(self) -> dict[str, Style]:
        """The palette, worked out again only when the styles changed (a tenth of a frame in a flood)."""
        plain = self.rich_style
        if self._palette is None or self._palette["plain"] != plain:
            selection = self.screen.get_component_rich_style("screen--selection")
            self._palette = make_palette(plain, self.get_component_rich_style, selection)
        return self._palette

    def render_line(self, y: int) -> Strip:
        palette = self._palette or self._current_palette()
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        stored = self.store.stored
        if index >= len(stored):
            return Strip.blank(width, palette["plain"])
        is_cursor = index == self.cursor
        selection = self.text_selection if self._has_selection else None
        span = None if selection is None else selection.get_span(index)
        strip = self._renderer.strip(stored[index], palette, is_cursor, span)
        if self._renderer.widest > self._width:
            self._width = self._renderer.widest
            self._dirty = True
            if self._timer is None:
                self._timer = self.set_timer(REFRESH_INTERVAL, self._flush)
        strip = strip.crop_extend(scroll_x, scroll_x + width, palette["cursor" if is_cursor else "plain"])
        # Where the mouse is in the text: Textual asks for that line alone (not while painting, to paint faster).
        return strip if self._painting else strip.apply_offsets(scroll_x, index)
