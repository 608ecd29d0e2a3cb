"""Textual's Footer, with its keys styled once each instead of three times.

A FooterKey starts with `compact = True`, so its watcher adds `-compact` when it mounts (one restyle); the footer then
binds it to its own `compact` (False), and the watcher takes the class off again (a second one): with the
console's stylesheet a restyle costs about half a millisecond, and the dashboard's footer holds some 35 keys,
rebuilt whenever the focus moves. Measured before this: FooterKeys took half of all restyling time to the first
data (61 ms of 122 ms in a Pilot start). Each key bound to the footer's `compact` is given that value and class
before it mounts, so no watcher call changes its class.
Should Textual rename where a widget keeps its bindings, the keys are only styled three times again.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey


class Footer(TextualFooter):
    BINDINGS = []  # none of its own: the help lists a class's own (Textual still merges the inherited ones)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            bound = getattr(widget, "_reactive_connect", None) or {}  # what data_bind tied the key's reactives to
            if isinstance(widget, FooterKey) and "compact" in bound:
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            yield widget
