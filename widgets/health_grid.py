"""The grid of health and metric tiles, one per target, in config order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid

from console.models import Check
from widgets.health_tile import HealthTile


class HealthGrid(Grid):
    """Tiles keyed by check key; columns follow the terminal width (4 at 80 columns, 8 at 160)."""

    DEFAULT_CSS = """
    HealthGrid { height: auto; grid-size: 4; grid-gutter: 0 1; grid-rows: 3; padding: 0 1; }
    """

    def __init__(self, initial: Sequence[Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initial = list(initial)
        self.tiles: dict[str, HealthTile] = {}

    def compose(self) -> ComposeResult:
        for check in self.initial:
            tile = HealthTile(check)
            self.tiles[check.key] = tile
            yield tile

    def show(self, check: Check, history: Sequence[float] = ()) -> None:
        """Update the tile for this check (a tile exists for every configured target from the start)."""
        tile = self.tiles.get(check.key)
        if tile is not None:
            tile.show(check, history)

    def on_resize(self) -> None:
        columns = max(2, min(8, self.size.width // 20))
        if self.styles.grid_size_columns != columns:
            self.styles.grid_size_columns = columns
