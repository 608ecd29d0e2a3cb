"""The dashboard's one line that leads back into guided triage: the key first (so it survives 80 columns), then the
next step or the playbook that fits. Hidden when it has nothing to say."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from widgets.outside import outside


class TriageHint(Static):
    """`t: back to triage · step 3/9 next: Was it a deploy?`, or `t: guided triage · ...`; empty hides it."""

    DEFAULT_CSS = """
    TriageHint { height: 1; width: 1fr; background: $warning 25%; padding: 0 1; display: none; }
    TriageHint.-shown { display: block; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""

    def show(self, key: str, text: str) -> None:
        """`key` (bold, first) and `text` (outside words: playbook and step titles); empty text hides the line.
        Repaints only on change."""
        if text == self.text:
            return
        self.text = text
        self.set_class(bool(text), "-shown")
        if text:
            self.update(Text.assemble((f" {key} ", "bold reverse"), " ", outside(text)), layout=False)
