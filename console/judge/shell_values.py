"""A shell word with the operator's values in place, and the checks on where a value stands.

`Words` is the part of the shell judge's walk that turns tree-sitter nodes into `Word`s: each `"${RB_NAME}"`
becomes the operator's value (or `<name>` when the template is judged), and what the script assigned is followed
(`d="${RB_DIR}"; find "$d"`). Where bash would make a value more than a value, it refuses: a value starting with
`-` where an option could stand (unless after `--`), a value evaluated as arithmetic that is not a whole number
(arithmetic runs a `$(...)` hidden in `a[...]`), an unquoted expansion of a value that bash would split or glob.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from console.judge.shell_words import WHOLE, Part, Word, shown
from console.redact import make_safe

PREFIX = "RB_"
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_REFERENCE = re.compile(r'"?\$\{?(RB_[A-Z0-9_]+)\}?"?')
_SPLITS = re.compile(r"[\s*?\[]")


class State:
    """What the walks of one step share: the values, the refusals, the values that are re-parsed and those that
    stand in a program's arguments (where `ps` shows them)."""

    def __init__(self, values: Mapping[str, str] | None) -> None:
        self.values = values
        self.refusals: list[str] = []
        self.reparsed: dict[str, str] = {}
        self.arguments: dict[str, str] = {}  # RB_ variable -> the first program given it as an argument

    def refuse(self, var: str, why: str) -> None:
        value = make_safe((self.values or {}).get(var, ""))
        self.refusals.append(f"`--{var.removeprefix(PREFIX).lower()}` is `{value}`: {why}")


def node_text(node: Any) -> str:
    return node.text.decode("utf-8", "replace")


def descendants(node: Any) -> Iterator[Any]:
    yield node
    for child in node.children:
        yield from descendants(child)


def _unescape(source: str, escapable: str | None) -> str:
    """A word's text without its backslashes (`escapable`: the only characters a backslash escapes, in quotes)."""
    pattern = r"\\(.)" if escapable is None else r"\\([" + re.escape(escapable) + r"\n])"
    return re.sub(pattern, lambda m: "" if m.group(1) == "\n" else m.group(1), source, flags=re.S)


class Words:
    """Words of one shell (a `bash -c` script is another), with what its assignments hold."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.vars: dict[str, tuple[Part, ...]] = {}  # assigned once: what `$name` expands to
        self.mixed: dict[str, str] = {}  # assigned more than once or read: name -> an RB_ variable in it ("")
        self.ints: set[str] = set()  # declare -i: every assignment is arithmetic

    def _value(self, part: Part) -> str | None:
        return None if self.state.values is None else self.state.values.get(part.var)

    def _option_values(self, words: Sequence[Word]) -> None:
        """(a): a word that starts with a value starting with `-` would be an option, unless after `--`."""
        for word in words:
            first = word.parts[0] if word.parts else Part("", "")
            value = self._value(first) if first.var else None
            if value is not None and value.startswith("-"):
                self.state.refuse(
                    first.var,
                    f"a value that starts with `-` would be read as an option by {make_safe(words[0].shown)}; put "
                    "the placeholder after `--` in the script, or give another value",
                )
            if word.text == "--":
                return

    def _arithmetic(self, node: Any, context: Any) -> None:
        """(c): every value bash evaluates as arithmetic here must be a whole number."""
        if self.state.values is None:
            return
        for child in descendants(node):
            if child.type not in ("variable_name", "word") or not IDENTIFIER.fullmatch(name := node_text(child)):
                continue
            for var in self._sources(name):
                value = self.state.values.get(var)
                if value is not None and not WHOLE.fullmatch(value):
                    self.state.refuse(
                        var,
                        f"bash evaluates it as arithmetic in `{shown([self._display(context)])}`, which runs any "
                        "`$(...)` in it; give a whole number",
                    )

    def _sources(self, name: str) -> list[str]:
        """The RB_ variables a shell variable's value comes from."""
        if name.startswith(PREFIX):
            return [name]
        if name in self.mixed:
            return [self.mixed[name]] if self.mixed[name] else []
        return [p.var for p in self.vars.get(name, ()) if p.var]

    def _display(self, node: Any) -> Word:
        """A node's source as a reason shows it, each `"${RB_X}"` as its value (or `<x>` without values)."""

        def value(m: re.Match[str]) -> str:
            var = m.group(1)
            known = (self.state.values or {}).get(var)
            return known if known is not None else f"<{var.removeprefix(PREFIX).lower()}>"

        source = _REFERENCE.sub(value, node_text(node))
        return Word((Part(source, source),))

    # -- words ----------------------------------------------------------------------------------------------------

    def word(self, node: Any, *, quoted: bool = False) -> Word:
        return Word(tuple(self._parts(node, quoted)))

    def _parts(self, node: Any, quoted: bool) -> list[Part]:
        kind, source = node.type, node_text(node)
        if kind == "command_name":
            return [p for child in node.named_children for p in self._parts(child, quoted)]
        if kind in ("word", "number"):
            return [Part(_unescape(source, None), source)]
        if kind == "raw_string":
            return [Part(source[1:-1], source)]
        if kind in ("string", "translated_string"):
            parts = [p for child in node.named_children for p in self._parts(child, True)]
            return parts or [Part("", source)]
        if kind in ("string_content", "heredoc_content"):
            return [Part(_unescape(source, '$`"\\' if kind == "string_content" else "$`\\"), source)]
        if kind == "heredoc_body":
            return self._heredoc_parts(node)
        if kind == "concatenation":
            return [p for child in node.named_children for p in self._parts(child, quoted)]
        if kind in ("simple_expansion", "expansion"):
            return self._expansion(node, quoted)
        return [Part(None, source)]

    def _heredoc_parts(self, node: Any) -> list[Part]:
        """A heredoc's text: its expansions resolved, the text between them as written."""
        raw, parts, at = node.text, [], node.start_byte
        for child in node.named_children:
            gap = raw[at - node.start_byte : child.start_byte - node.start_byte].decode("utf-8", "replace")
            parts += [Part(gap, gap)] if gap else []
            parts += self._parts(child, True)
            at = child.end_byte
        rest = raw[at - node.start_byte :].decode("utf-8", "replace")
        return parts + ([Part(rest, rest)] if rest else [])

    def _expansion(self, node: Any, quoted: bool) -> list[Part]:
        """`$name` / `${name}`: a value, what the script assigned, or unknown until it runs. Unquoted, bash splits
        and globs it: a value with a space or `*?[` there is refused."""
        names = [c for c in node.named_children if c.type == "variable_name"]
        plain = len(node.named_children) == 1 and len(names) == 1
        name, source = (node_text(names[0]) if names else ""), node_text(node)
        if not plain:
            return [Part(None, source, var=next(iter(self._sources(name)), "") if name else "")]
        if name.startswith(PREFIX) and (self.state.values is None or name in self.state.values):
            value = None if self.state.values is None else self.state.values[name]
            shown_as = value if value is not None else f"<{name.removeprefix(PREFIX).lower()}>"
            parts: tuple[Part, ...] = (Part(value, shown_as, name),)
        else:
            parts = self.vars.get(name) or (Part(None, source, var=self.mixed.get(name, "")),)
        for part in parts if not quoted else ():
            value = self._value(part) if part.var else None
            if value is not None and _SPLITS.search(value):
                self.state.refuse(
                    part.var,
                    f"`{source}` is not quoted, so bash splits and globs it; quote it in the script, or give a "
                    "value without spaces or `*?[`",
                )
        return list(parts)

    def _assign(self, name: str, parts: tuple[Part, ...] | None) -> None:
        """Remember what `$name` expands to; a second assignment (or a loop, or `read`) makes it unknown."""
        if parts is not None and name not in self.vars and name not in self.mixed:
            self.vars[name] = parts
            return
        before = [p.var for p in (*self.vars.pop(name, ()), *(parts or ())) if p.var]
        self.mixed[name] = self.mixed.get(name) or (before[0] if before else "")
