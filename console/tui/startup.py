"""What `incident-console` needs before the dashboard can show: the config read (its `[keys]` and theme are checked
as it loads, as for every command), `--theme` and the wall's journal checked, and the runner built. ConsoleApp runs
`load` in a thread while the shell is on screen; every mistake is a one-line ConfigError."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from actions.registry import build_runner
from actions.runner import Runner
from console import config as config_module
from console.clock import Clock
from console.config import Config, ConfigError
from console.file_trust import JOURNAL, read_problem
from themes import choose_theme

if TYPE_CHECKING:
    from console.tui.controllers.replay import ReplayStart


@dataclass(frozen=True)
class Loaded:
    """A checked config, the theme it asks for and its runner."""

    config: Config
    runner: Runner
    theme: str
    replay: ReplayStart | None = None  # `incident-console replay`: the recording opened, the first moment chosen


def load(
    path: str | None,
    *,
    read_only: bool,
    wall: bool,
    theme: str | None,
    replay: tuple[str | None, str | None] | None = None,
) -> Loaded:
    """The config at `path` (or the default path), the theme chosen, and a runner (read-only on the wall and in a
    replay); with `replay` (`--at`, `--incident`), the recording opened at its first moment."""
    config = config_module.load(path, warn=False)  # shown on screen once the console is up (stderr is Textual's)
    try:
        name = choose_theme(theme, config.console.theme, bool(os.environ.get("NO_COLOR")))
    except ValueError as exc:
        raise ConfigError(f"{config.source}: console.theme / --theme: {exc}") from None
    runner = build_runner(config, read_only=read_only or wall or replay is not None)
    if (wall or replay) and (problem := unreadable_journal(runner.journal.path)):
        raise ConfigError(problem)
    if replay is None:
        return Loaded(config, runner, name)
    from console.tui.controllers.replay import open_replay

    return Loaded(config, runner, name, open_replay(config, runner.journal, *replay, Clock()))


def unreadable_journal(path: Path) -> str | None:
    """Why the wall cannot read the journal at `path` (one line), or None; a missing journal is fine (empty)."""
    try:
        problem = read_problem(path, JOURNAL)
    except FileNotFoundError:
        return None
    return f"--wall: journal {problem}" if problem else None
