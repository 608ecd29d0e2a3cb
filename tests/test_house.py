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


def package_of(module: str) -> str:
    """The package a module belongs to for the cycle rule: `actions`, `widgets`, `themes`, or `console.X`."""
    parts = module.split(".")
    return parts[0] if parts[0] != "console" else ".".join(parts[:2])


def package_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan, iteratively): each is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return cycles


def test_no_package_imports_another_that_imports_it_back_deferred_imports_included() -> None:
    import grimp

    graph = grimp.build_graph("console", "widgets", "actions", "themes")  # every import, inside functions too
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if package_of(module) != package_of(imported):
                edges.setdefault(package_of(module), set()).add(package_of(imported))
    assert package_cycles(edges) == []


def test_the_cycle_finder_finds_a_circle_through_three_packages() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert package_cycles(edges) == [["a", "b", "c"]]
