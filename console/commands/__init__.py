"""The headless commands, one module per command family (`run`, `check`/`status`, `journal`, `incident`, `triage`,
`runbook`): what `console.cli` dispatches to. They share the runner and the journal with the TUI; every line they
print goes through `console.output.out`."""

from __future__ import annotations

from console.output import out
from console.redact import make_safe

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def fail(text: str) -> None:
    """One line on stderr, `incident-console: ...`, with anything taken from outside escaped."""
    out(f"incident-console: {make_safe(text)}", err=True)
