"""Every binding id the console defines, to check the config's `[keys]` table before the TUI starts."""

from __future__ import annotations

import importlib
import pkgutil

from textual.binding import Binding

import console.tui.screens
import widgets


def known_binding_ids(app_class: type) -> set[str]:
    """Ids of the bindings on the app, every screen and every widget (imports them all: call only when needed)."""
    classes: list[type] = [app_class]
    for package in (console.tui.screens, widgets):
        for module_info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(module_info.name)
            classes.extend(v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__)
    return {b.id for cls in classes for b in getattr(cls, "BINDINGS", []) if isinstance(b, Binding) and b.id}


def unknown_keys(keymap: dict[str, str], app_class: type) -> list[str]:
    """The ids in `keymap` that no binding has, sorted."""
    if not keymap:
        return []
    return sorted(set(keymap) - known_binding_ids(app_class))
