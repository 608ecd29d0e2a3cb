"""The console's themes: incident-dark, incident-light and incident-mono (meaning never in colour alone)."""

from __future__ import annotations

from pathlib import Path

from textual.theme import Theme

STYLESHEET = Path(__file__).with_name("console.tcss")
DEFAULT_THEME = "incident-dark"
MONO_THEME = "incident-mono"

THEMES: dict[str, Theme] = {
    theme.name: theme
    for theme in (
        Theme(
            name="incident-dark",
            primary="#5fa8d3",
            secondary="#7c8db5",
            accent="#e0a458",
            warning="#f0b429",
            error="#ef4444",
            success="#3fb950",
            foreground="#d8dee9",
            background="#0f1419",
            surface="#161b22",
            panel="#1f2630",
            dark=True,
        ),
        Theme(
            name="incident-light",
            primary="#1f5f8b",
            secondary="#4a5a7a",
            accent="#a15c00",
            warning="#9a6700",
            error="#c62828",
            success="#1a7f37",
            foreground="#1f2328",
            background="#f6f8fa",
            surface="#ffffff",
            panel="#e7ebef",
            dark=False,
        ),
        Theme(
            name="incident-mono",
            primary="#e0e0e0",
            secondary="#bdbdbd",
            accent="#ffffff",
            warning="#e0e0e0",
            error="#ffffff",
            success="#bdbdbd",
            foreground="#e0e0e0",
            background="#000000",
            surface="#0a0a0a",
            panel="#1a1a1a",
            dark=True,
        ),
    )
}


def choose_theme(requested: str | None, configured: str, no_color: bool) -> str:
    """--theme wins, then NO_COLOR (mono), then the config's theme. Raises ValueError for an unknown name."""
    name = requested or (MONO_THEME if no_color else configured)
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r} (themes: {', '.join(THEMES)})")
    return name
