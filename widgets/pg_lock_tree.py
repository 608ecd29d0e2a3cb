"""The lock tree: each blocking session with the sessions waiting on it underneath, labels refreshed in place."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from console.models.postgres import LockNode, PgSession, short_age
from widgets.outside import outside
from widgets.pg_activity_table import one_line


def _shape(nodes: list[LockNode]) -> tuple:
    return tuple((n.session.pid, _shape(n.waiters)) for n in nodes)


class PgLockTree(Tree[PgSession]):
    """Blockers at the top level, waiters below; the cursor stays on its pid while only the labels change."""

    HELP_PLACE = "PostgreSQL locks"

    DEFAULT_CSS = """
    PgLockTree { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("locks", **kwargs)
        self.show_root = False
        self.guide_depth = 3
        self._shape: tuple = ()
        self._by_pid: dict[int, TreeNode[PgSession]] = {}

    def show(self, nodes: list[LockNode]) -> None:
        """Render the tree; rebuilt only when who-blocks-whom changed."""
        shape = _shape(nodes)
        if shape == self._shape and self._by_pid:
            self._relabel(nodes)
            return
        selected = self.cursor_node.data.pid if self.cursor_node and self.cursor_node.data else None
        self.clear()
        self._by_pid = {}
        self._add(self.root, nodes)
        self._shape = shape
        self.root.expand_all()
        if selected in self._by_pid:
            self.move_cursor(self._by_pid[selected], animate=False)
        elif self._by_pid:
            self.cursor_line = 0

    def _add(self, parent: TreeNode[PgSession], nodes: list[LockNode]) -> None:
        for node in nodes:
            child = parent.add(self._label(node), data=node.session, expand=True, allow_expand=bool(node.waiters))
            self._by_pid[node.session.pid] = child
            self._add(child, node.waiters)

    def _relabel(self, nodes: list[LockNode]) -> None:
        for node in nodes:
            tree_node = self._by_pid.get(node.session.pid)
            if tree_node is not None:
                label = self._label(node)
                if str(tree_node.label) != label.plain:
                    tree_node.set_label(label)
            self._relabel(node.waiters)

    def _label(self, node: LockNode) -> Text:
        s = node.session
        role = f"waits {short_age(s.duration_seconds)}" if s.blocked_by else f"blocks {node.count() - 1}"
        label = Text(f"{s.pid} ", style="bold")
        label.append_text(outside(f"{role} · {s.user or '?'} · {s.application or '-'} · {s.state or 'hidden'} · "))
        label.append(one_line(s.query, 80), style="dim" if s.blocked_by else "")
        return label
