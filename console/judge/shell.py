"""Shell steps judged by a real bash parser (tree-sitter-bash), with the operator's values in place.

`judge_shell(script, values)` parses the script that will run (placeholders already rewritten to quoted
`"${RB_NAME}"` references, see `params.shell_script`) and judges every command in the tree: pipelines, lists,
subshells, `$(...)`, backticks, process substitution, functions, loops, if/case bodies, heredoc-fed commands.
Each word that is (or holds) an RB_ variable is resolved to the operator's value; the step's risk is the worst
of its commands, by the rows of `shell_rules`. It fails closed: a tree the parser cannot read, an unknown command
or a command name that is an expansion is not a read. With values it refuses (`refused`) what bash would turn a
value into code or options: a value starting with `-` where an option could stand, a value bash evaluates as
arithmetic that is not a whole number, a value a program re-parses as shell code that is not a plain word.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from console.judge.shell_endless import endless_loop
from console.judge.shell_rules import judge_words, knows
from console.judge.shell_values import IDENTIFIER, State, Words, descendants, node_text
from console.judge.shell_words import MODE_WHY, MODES, PLAIN, Found, Mode, Part, Word, found, worst
from console.models import Risk

MAX_DEPTH = 4  # `bash -c` inside `ssh` inside `watch`...: deeper is not judged (write)
MAX_NESTING = 120  # tree levels (`$(` in `$(` ...): the walk recurses, so deeper is not judged (write)
OUTPUT = frozenset({">", ">>", ">|", "&>", "&>>", ">&"})
QUIET = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/fd/1", "/dev/fd/2"})
ARITHMETIC_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
# Builtins bash runs itself: their arguments never reach a process's command line
BUILTINS = frozenset(
    {"echo", "printf", "test", "[", "read", "local", "export", "declare", "typeset", "readonly", "let", ":", "true"}
    | {"false", "cd", "set", "shift", "return", "exit", "unset", "mapfile", "readarray"}
)
READ_REASON = "read: only reading commands"


@dataclass(frozen=True)
class ShellJudgement:
    """The step's risk with the reason in words, its mode (run, interactive: needs the terminal, follow: its output
    followed, as it never ends or until `timeout` ends it) and why, a refusal (the values cannot run here, and why),
    and which values a program re-parses."""

    risk: Risk
    reason: str
    mode: Mode = "run"
    mode_reason: str = ""
    refused: str | None = None
    reparsed: Mapping[str, str] = field(default_factory=dict)  # RB_ variable -> the program that re-parses it
    mode_command: str = ""  # the command that decides the mode, as reasons quote it
    # RB_ variable -> a program given it as an argument; where values stand, not what the script does: not compared
    arguments: Mapping[str, str] = field(default_factory=dict, compare=False)
    unreached: Unreached | None = None
    endless: bool = False  # the command that decides the mode never ends on its own (not bounded by `timeout`)


@dataclass(frozen=True)
class Unreached:
    """A command at the top of the script that never ends (`docker stats`, `npm run dev`, `tail -f`) with commands
    after it, which would never run: `line` is the 0-based script line after the endless command's last line, where
    the rest could start on its own (`same_line`: the next command shares that line, so it cannot)."""

    endless: str  # as reasons quote it
    line: int
    same_line: bool

    @property
    def reason(self) -> str:
        return f"`{self.endless}` never ends on its own, so the commands after it would never run"


def judge_shell(script: str, values: Mapping[str, str] | None = None) -> ShellJudgement:
    """The judgement of a script; with `values` (RB_ variable -> value) each value is judged where it stands."""
    state = State(values)
    try:
        walk = _Walk(state)
        return _judgement(state, walk.walk(script), walk.unreached)
    except RecursionError:  # nesting under the limit, but `bash -c` in `ssh` in ...: fail closed all the same
        walk = _Walk(State(values))
        walk._unjudged("the script nests too deep to judge", "flatten the block")
        return _judgement(walk.state, walk.findings)


def reads_as_shell(script: str) -> bool:
    """Whether the shell parser reads the script without an error (a block of config text in a bash fence does not)."""
    return not _parser().parse(script.encode()).root_node.has_error


@functools.cache
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_bash

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


def _deeper_than(root: Any, limit: int) -> bool:
    """Whether the tree has a node more than `limit` levels down (walked without recursion)."""
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack += [(child, depth + 1) for child in node.children]
    return False


def _judgement(state: State, findings: list[Found], unreached: Unreached | None = None) -> ShellJudgement:
    """The worst finding's risk and reason (reads say so once, with their notes), the strongest mode."""
    bad = worst(findings)
    notes = sorted({f.note for f in findings if f.note})
    if bad is None or bad.risk is Risk.READ:
        risk, reason = Risk.READ, READ_REASON + "".join(f"; {n}" for n in notes)
    else:
        risk, reason = bad.risk, bad.reason
    mode: Mode = max((f.mode for f in findings), key=MODES.index, default="run")
    moving = min((f for f in findings if f.mode == mode), key=lambda f: not f.endless, default=None)  # endless 1st
    mode_reason = f"`{moving.command}` {moving.why or MODE_WHY[mode]}" if moving and mode != "run" else ""
    refused = state.refusals[0] if state.refusals else None
    command = moving.command if moving and mode != "run" else ""
    arguments, endless = dict(state.arguments), bool(moving and moving.endless and mode != "run")
    return ShellJudgement(
        risk, reason, mode, mode_reason, refused, dict(state.reparsed), command, arguments, unreached, endless
    )


def _units(node: Any) -> Iterator[tuple[Any, bool]]:
    """The top-level commands of a script, each with whether it runs in the background (`cmd &`): a list joined by
    `&&` or `;` gives each of its commands; one with `||` stays whole (what follows runs when the first fails)."""
    children = node.children
    for index, child in enumerate(children):
        if not child.is_named:
            continue
        if child.type == "list" and not any(c.type == "||" for c in child.children):
            yield from _units(child)
        else:
            yield child, index + 1 < len(children) and children[index + 1].type == "&"


class _Walk(Words):
    """One shell's walk of a tree (a `bash -c` or `ssh` script gets its own), collecting what its commands do."""

    def __init__(self, state: State, depth: int = 0) -> None:
        super().__init__(state)
        self.depth = depth
        self.findings: list[Found] = []
        self.functions: set[str] = set()
        self.fed = False
        self.stdin: Word | None = None
        self.extra: list[Any] = []  # words tree-sitter hangs on a redirect (`echo >&2 hi`): the command's
        self.unreached: Unreached | None = None

    # -- Context, for the rules -----------------------------------------------------------------------------------

    def command(self, words: Sequence[Word]) -> list[Found]:
        self._option_values(words)
        name = words[0]
        if name.text is None:
            from_value = any(p.var for p in name.parts)
            what = "takes its name from a value" if from_value else "is named by an expansion, not in the script"
            return [found(Risk.WRITE, words, what)]
        if name.text in self.functions:
            return []  # judged where it is defined
        if name.text not in BUILTINS:
            for part in (p for w in words[1:] for p in w.parts if p.var):
                self.state.arguments.setdefault(part.var, name.text)
        return judge_words(words, self)

    def walk(self, text: str, program: str = "") -> list[Found]:
        """Judge a script: the step itself, or the text a program re-parses (`program`)."""
        root = _parser().parse(text.encode()).root_node
        where = f" of the text `{program}` runs" if program else ""
        if _deeper_than(root, MAX_NESTING):
            self._unjudged(f"the script nests more than {MAX_NESTING} levels deep{where}", "flatten the block")
            return self.findings
        if root.has_error:
            line = next((n.start_point[0] + 1 for n in descendants(root) if n.is_error or n.is_missing), 1)
            self._unjudged(
                f"the shell parser cannot read line {line}{where}", "fix the block (`bash -n` shows the mistake)"
            )
        if program:
            self._visit(root)
        else:
            self._statements(root)
        return self.findings

    def _statements(self, root: Any) -> None:
        """The script's top-level commands in order (as `_visit` would), noting the first one that never ends and is
        not in the background with a command after it (`unreached`)."""
        endless: tuple[str, int] | None = None
        for unit, background in _units(root):
            before = len(self.findings)
            self._visit(unit)
            if unit.type == "comment":
                continue
            if endless is not None and self.unreached is None:
                command, last = endless
                self.unreached = Unreached(command, last + 1, unit.start_point[0] <= last)
            hit = next((f for f in self.findings[before:] if f.endless), None)
            if endless is None and hit is not None and not background:
                endless = hit.command, unit.end_point[0]

    def _unjudged(self, why: str, fix: str) -> None:
        """Fail closed: a write, and no value may run where it cannot be told where it lands."""
        self.findings.append(Found(Risk.WRITE, f"write: {why}: judged as writing"))
        if self.state.values:
            names = ", ".join(f"`--{var.removeprefix('RB_').lower()}`" for var in self.state.values)
            self.state.refusals.append(f"{why}, so where {names} would land cannot be judged; {fix}")

    def reparsed(self, words: Sequence[Word], program: str) -> None:
        for part in (p for w in words for p in w.parts if p.var):
            self.state.reparsed.setdefault(part.var, program)

    def knows(self, name: str) -> bool:
        return knows(name)

    def script(self, words: Sequence[Word], program: str) -> list[Found]:
        """(d): the words a program joins and re-parses as shell code, judged as a script of their own; a value
        spliced into them must be a plain word (or it would be code), and text not in the script is a write."""
        values, pieces, hidden = self.state.values, [], False
        for part in (p for w in words for p in [*w.parts, Part(" ", " ")]):
            if part.var:
                self.state.reparsed.setdefault(part.var, program)
                value = values.get(part.var) if values is not None else None
                if value is not None and (not PLAIN.fullmatch(value) or value.startswith("-")):
                    self.state.refuse(
                        part.var,
                        f"`{program}` re-parses it as shell code, where only a plain word is safe (letters, digits, "
                        "`_.:/@%+,=-`, not starting with `-`); give another value",
                    )
                pieces.append(value if value is not None else f'"${{{part.var}}}"')
            else:
                hidden = hidden or part.text is None
                pieces.append(part.shown if part.text is None else part.text)
        if self.depth >= MAX_DEPTH:
            return [found(Risk.WRITE, words, "nests shell code too deep to judge")]
        child = _Walk(self.state, self.depth + 1)
        child.vars, child.mixed, child.fed = dict(self.vars), dict(self.mixed), self.fed
        results = child.walk("".join(pieces).strip(), program)
        return (
            [*results, found(Risk.WRITE, words, "runs shell code that is not written in the script")]
            if hidden
            else results
        )

    # -- the tree -------------------------------------------------------------------------------------------------

    def _visit(self, node: Any) -> None:
        handler = _HANDLERS.get(node.type)
        if handler is not None:
            handler(self, node)
        else:
            self._children(node)

    def _children(self, node: Any) -> None:
        for child in node.named_children:
            self._visit(child)

    def _command(self, node: Any) -> None:
        name = node.child_by_field_name("name")
        arguments = [*node.children_by_field_name("argument"), *self.extra]
        self.extra = []
        fed, stdin = self.fed, self.stdin
        for child in node.named_children:
            if child.type == "variable_assignment":
                self._children(child)  # `A=1 cmd`: for cmd's environment only
            elif child.type == "herestring_redirect":
                self.fed = True
                self.stdin = self.word(child.named_children[0], quoted=True) if child.named_children else None
                self._children(child)
            elif child.type != "comment":
                self._visit(child)
        if name is not None:
            words = [self.word(name), *(self.word(a) for a in arguments)]
            if words[0].text == "let":
                for argument in arguments:
                    self._arithmetic(argument, node)
            if words[0].text in ("read", "mapfile", "readarray"):
                for word in words[1:]:
                    if word.text and IDENTIFIER.fullmatch(word.text):
                        self._assign(word.text, None)
            self.findings += self.command(words)
        self.fed, self.stdin = fed, stdin

    def _assignment(self, node: Any, integer: bool = False) -> None:
        target, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        self._children(node)
        if target is None or target.type != "variable_name":
            return  # a[i]=x: the subscript is judged as arithmetic when it is visited
        name = node_text(target)
        if (integer or name in self.ints) and value is not None:
            self._arithmetic(value, node)
        simple = value is None or value.type not in ("array",)
        self._assign(name, (self.word(value, quoted=True).parts if value is not None else ()) if simple else None)

    def _declaration(self, node: Any) -> None:
        flags = [node_text(c) for c in node.named_children if c.type == "word" and node_text(c).startswith("-")]
        integer = any("i" in f for f in flags) and node_text(node.children[0]) in ("declare", "typeset", "local")
        for child in node.named_children:
            if child.type == "variable_assignment":
                name = child.child_by_field_name("name")
                if integer and name is not None:
                    self.ints.add(node_text(name))
                self._assignment(child, integer)
            elif child.type == "variable_name" and integer:
                self.ints.add(node_text(child))
            else:
                self._visit(child)

    def _for(self, node: Any) -> None:
        variable = node.child_by_field_name("variable")
        values = node.children_by_field_name("value")
        self._children(node)
        if variable is not None:
            self._assign(node_text(variable), None)
            sources = [p.var for v in values for p in self.word(v).parts if p.var]
            self.mixed[node_text(variable)] = self.mixed[node_text(variable)] or (sources[0] if sources else "")

    def _pipeline(self, node: Any) -> None:
        fed, first = self.fed, True
        for child in node.children:
            if not child.is_named:
                first = False if child.type in ("|", "|&") else first
                continue
            self.fed = fed or not first
            self._visit(child)
            first = False
        self.fed = fed

    def _redirected(self, node: Any) -> None:
        """Output to a file writes; `<`, a heredoc or a here-string feed the command (psql reads them as SQL)."""
        body = node.child_by_field_name("body")
        fed, stdin, trailing = self.fed, self.stdin, []
        for redirect in node.children_by_field_name("redirect"):
            if redirect.type == "file_redirect":
                self.extra += redirect.children_by_field_name("destination")[1:]  # `echo >&2 hi`: hi is an argument
                self.fed = self._file_redirect(redirect) or self.fed
            elif redirect.type == "heredoc_redirect":
                self.fed, self.stdin = True, self._heredoc(redirect)
                trailing += [c for c in redirect.named_children if c.type not in ("heredoc_start", "heredoc_end")]
            else:  # a here-string
                self.fed = True
                self.stdin = self.word(redirect.named_children[0], quoted=True) if redirect.named_children else None
                self._children(redirect)
        if body is not None:
            if body.type != "command":
                self.extra = []
            self._visit(body)
        self.fed, self.stdin = fed, stdin
        for child in trailing:  # the heredoc's `$(...)`, and what tree-sitter hangs on it (`<<EOF | psql`)
            if child.type != "heredoc_body" or child.named_children:
                self._visit(child)

    def _file_redirect(self, redirect: Any) -> bool:
        """A redirect to a file other than /dev/null & co. writes; True when it feeds the command's input."""
        operator = next((node_text(c) for c in redirect.children if not c.is_named), "")
        targets = redirect.children_by_field_name("destination")
        statement = redirect.parent
        while statement.parent is not None and statement.type not in ("redirected_statement", "command"):
            statement = statement.parent
        target = self.word(targets[0]) if targets else None
        duplicate = operator in (">&", "<&") and target is not None and (target.text or "").lstrip("-").isdigit()
        if operator == "<>" or (operator in OUTPUT and not duplicate and (target is None or target.text not in QUIET)):
            self.findings.append(found(Risk.WRITE, [self._display(statement)], "writes to a file"))
        for child in targets[:1]:
            self._visit(child)
        return operator in ("<", "<&")

    def _heredoc(self, redirect: Any) -> Word | None:
        """The text a heredoc feeds: as written when its delimiter is quoted, else with its expansions."""
        start = next((c for c in redirect.named_children if c.type == "heredoc_start"), None)
        body = next((c for c in redirect.named_children if c.type == "heredoc_body"), None)
        if body is None:
            return None
        if start is not None and node_text(start)[:1] in ("'", '"', "\\"):
            return Word.of(node_text(body))
        return self.word(body, quoted=True)

    def _process_substitution(self, node: Any) -> None:
        if node_text(node).lstrip().startswith(">("):
            self.findings.append(found(Risk.WRITE, [self._display(node)], "writes through a process substitution"))
        self._children(node)

    def _function(self, node: Any) -> None:
        name = node.child_by_field_name("name")
        if name is not None:
            self.functions.add(node_text(name))
        self._children(node)

    def _arithmetic_node(self, node: Any) -> None:
        """`$((...))`, `$[...]`, `((...))` and the three parts of `for ((...))` are arithmetic."""
        if node.type == "c_style_for_statement":
            for part in ("initializer", "condition", "update"):
                for child in node.children_by_field_name(part):
                    self._arithmetic(child, node)
        elif node.type == "arithmetic_expansion" or (node.children and node.children[0].type == "(("):
            self._arithmetic(node, node)
        self._children(node)

    def _loop(self, node: Any) -> None:
        """A loop, and before what it runs, whether it never ends (`shell_endless`)."""
        self.findings += filter(None, [endless_loop(node, self.functions)])
        (self._arithmetic_node if node.type == "c_style_for_statement" else self._children)(node)

    def _test(self, node: Any) -> None:
        if node.children and node.children[0].type == "[[":
            for child in descendants(node):
                operator = child.child_by_field_name("operator") if child.type == "binary_expression" else None
                if operator is not None and node_text(operator) in ARITHMETIC_TESTS:
                    self._arithmetic(child, node)
        self._children(node)

    def _subscript(self, node: Any) -> None:
        index = node.child_by_field_name("index")
        if index is not None:
            self._arithmetic(index, node)
        self._children(node)

    def _offset(self, node: Any) -> None:
        """`${v:offset:length}`: what follows the `:` operator is arithmetic."""
        after = False
        for child in node.children:
            if not child.is_named and child.type == ":":
                after = True
            elif after and child.is_named:
                self._arithmetic(child, node)
        self._children(node)


_HANDLERS = {
    "comment": lambda walk, node: None,
    "command": _Walk._command,
    "declaration_command": _Walk._declaration,
    "variable_assignment": _Walk._assignment,
    "for_statement": _Walk._for,
    "pipeline": _Walk._pipeline,
    "redirected_statement": _Walk._redirected,
    "process_substitution": _Walk._process_substitution,
    "file_redirect": _Walk._file_redirect,
    "function_definition": _Walk._function,
    "arithmetic_expansion": _Walk._arithmetic_node,
    "c_style_for_statement": _Walk._loop,
    "while_statement": _Walk._loop,
    "compound_statement": _Walk._arithmetic_node,
    "test_command": _Walk._test,
    "subscript": _Walk._subscript,
    "expansion": _Walk._offset,
}
