"""Log sources (no Textual): a file followed like `tail -F`, and a command's output, restarted with backoff.

Both yield BATCHES of parsed, terminal-safe lines from `async def stream()`, so a flood costs one append per
few hundred lines, and expose `stats()` (lines read, errors per minute, status words) for the pane and the
observer. Lines are untrusted: every control character and escape sequence is made visible by `make_safe`.
"""

from __future__ import annotations

from pathlib import Path

from console.clock import Clock
from console.config import Config, LogSettings
from console.sources.base import Feeds
from console.sources.logs.base import LogSource
from console.sources.logs.command import CommandLogSource
from console.sources.logs.file import FileLogSource

__all__ = ["CommandLogSource", "FileLogSource", "LogSource", "build", "log_source"]


def log_source(settings: LogSettings, base_dir: Path, clock: Clock | None = None) -> LogSource:
    """The source a `[[logs]]` entry describes: a file to follow or a command to run."""
    if settings.path is not None:
        return FileLogSource(settings, clock, base_dir=base_dir)
    return CommandLogSource(settings, base_dir, clock)


def build(config: Config, clock: Clock, feeds: Feeds) -> None:
    """A streamed source per `[[logs]]` entry."""
    feeds.streams.extend(log_source(settings, config.base_dir, clock) for settings in config.logs)
