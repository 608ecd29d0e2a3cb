"""House rules that a refactor could quietly break: the import contracts and the size of core modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
MAX_LINES = 450


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "only console.tui, widgets and themes use Textual KEPT" in done.stdout


def test_no_module_in_the_console_package_is_over_450_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / "console").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_module_imports_the_app_back() -> None:
    """Controllers, the palette and the keymap get narrow interfaces: only the entry points import the app."""
    import grimp

    graph = grimp.build_graph("console", "widgets", "actions", "themes")
    importers = graph.find_modules_that_directly_import("console.tui.app")
    assert importers <= {"console.cli", "console.demo.run"}
    for module in graph.modules:
        if module.startswith("console.tui") and module != "console.tui.app":
            assert not graph.chain_exists(importer="console.tui.app", imported=module) or not graph.chain_exists(
                importer=module, imported="console.tui.app"
            ), f"import circle between console.tui.app and {module}"
