"""What the shell judge's rules work on: words with their values in place, options parsed, findings in words.

A `Word` is one argument as bash will pass it, made of `Part`s: the runbook's own text, an operator's value (its
`RB_` variable named in `var`) or something known only when the script runs (`$HOME`, `$(date)`: text None).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from console.models import Risk
from console.redact import make_safe

Mode = Literal["run", "interactive", "follow"]
MODES: tuple[Mode, ...] = ("run", "follow", "interactive")  # worst last
# How a step's mode reason words what its command does (`vim x` is interactive: it needs the terminal)
MODE_WHY: dict[Mode, str] = {
    "interactive": "is interactive: it needs the terminal",
    "follow": "follows: it never ends",
}
ORDER = (Risk.READ, Risk.WRITE, Risk.DESTRUCTIVE)
SHOWN = 40


@dataclass(frozen=True)
class Part:
    """A piece of a word: its text (None: known only when the script runs), how a reason shows it, and the RB_
    variable it comes from ("" for the runbook's own text)."""

    text: str | None
    shown: str
    var: str = ""


@dataclass(frozen=True)
class Word:
    parts: tuple[Part, ...]

    @classmethod
    def of(cls, text: str) -> Word:
        return cls((Part(text, text),))

    @property
    def text(self) -> str | None:
        """The whole text, or None when a part is known only when the script runs."""
        texts = [p.text for p in self.parts]
        return None if None in texts else "".join(t for t in texts if t is not None)

    @property
    def shown(self) -> str:
        return "".join(p.shown for p in self.parts)

    @property
    def option_like(self) -> bool | None:
        """Whether bash passes something that starts with `-` (None: cannot be told before it runs). A word that
        starts with an operator's value is no option: a value starting with `-` is refused before it runs."""
        first = self.parts[0] if self.parts else Part("", "")
        if first.var:
            return False
        if first.text is None:
            return None
        return first.text.startswith("-") and first.text != "-"


@dataclass(frozen=True)
class Found:
    """What one command does: its risk, the reason in words, whether it needs the terminal or never ends, and the
    command as reasons quote it. `endless`: it does not end on its own (every follow, and the interactive commands
    that run until stopped: dev servers, `top`, `watch`, `docker stats`; a loop with no way out), so no command
    after it would ever run; `why`: what the mode's reason says of it, when not `MODE_WHY` (a loop, a `timeout`)."""

    risk: Risk
    reason: str
    mode: Mode = "run"
    command: str = ""
    note: str = ""
    endless: bool = False
    why: str = ""


def shown(words: Sequence[Word]) -> str:
    """A command as a reason quotes it: values in place, controls escaped, cut at 40 characters."""
    text = make_safe(" ".join(" ".join(w.shown.split()) for w in words))
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def found(
    risk: Risk, words: Sequence[Word], what: str, mode: Mode = "run", note: str = "", *, endless: bool = False
) -> Found:
    """A finding worded like ``write: `sort -o out x` writes a file``; a follow never ends (`endless`)."""
    command = shown(words)
    return Found(risk, f"{risk.value}: `{command}` {what}", mode, command, note, endless or mode == "follow")


def unknown_command(
    words: Sequence[Word], what: str = "is not a known reading command", among: Sequence[Word] | None = None
) -> Found:
    """A command the rules do not know (or a subcommand they do not know as a read): destructive when its name or
    a word that is not an option says so (`rollback.sh`, `delete`, `db:restore:latest`) or it has `--force`.
    `among`: the words to look at, when the option values are known (`kubectl -n NS`: NS is no verb)."""
    for word in words if among is None else among:
        text = (word.text or word.shown).lower()
        if text == "--force":
            return found(Risk.DESTRUCTIVE, words, "forces")
        if text.startswith("-"):
            continue
        verb = next((DESTRUCTIVE[t] for t in _TOKEN.split(text) if t in DESTRUCTIVE), None)
        if verb:
            return found(Risk.DESTRUCTIVE, words, verb)
    return found(Risk.WRITE, words, what)


def worst(findings: Sequence[Found]) -> Found | None:
    """The finding with the highest risk (the first of them), or None for none."""
    return max(findings, key=lambda f: ORDER.index(f.risk), default=None)


class Context(Protocol):
    """What a command's rule may ask of the judge: whether its input is fed, and to judge what it runs."""

    fed: bool  # its stdin comes from a pipe, a file or a heredoc
    stdin: Word | None  # the heredoc or here-string it reads, when there is one

    def command(self, words: Sequence[Word]) -> list[Found]:
        """Judge a command a wrapper runs (`sudo CMD`, `xargs CMD`)."""
        ...

    def script(self, words: Sequence[Word], program: str) -> list[Found]:
        """Judge words a program joins and re-parses as shell code (`bash -c S`, `ssh host CMD`, `eval`)."""
        ...

    def reparsed(self, words: Sequence[Word], program: str) -> None:
        """Note that the values in `words` are re-parsed by `program` as its own language (SQL, awk)."""
        ...

    def knows(self, name: str) -> bool:
        """Whether the rules have a row for a command name (`yarn prisma` runs the binary, `yarn build` a script)."""
        ...


Check = Callable[[Sequence[Word], int, Context], list[Found]]  # a command's rule: its words, where its own start


@dataclass
class Args:
    """A command's words after its name: options with their values, the positional words, and the words whose
    text is known only when the script runs and could be options."""

    options: list[tuple[str, Word | None]] = field(default_factory=list)
    positional: list[Word] = field(default_factory=list)
    unknown: list[Word] = field(default_factory=list)
    rest: int = 0  # where parsing stopped (stop_at_positional): the index of the first positional word

    def has(self, names: frozenset[str] | set[str]) -> bool:
        return any(matches(name, names) for name, _ in self.options)

    def value(self, names: frozenset[str] | set[str]) -> Word | None:
        return next((v for name, v in self.options if matches(name, names)), None)


def matches(option: str, names: frozenset[str] | set[str]) -> bool:
    """Whether `option` is one of `names`; a long option also by an unambiguous prefix (GNU getopt takes `--out`
    for `--output`), so an abbreviation of a writing option counts as it."""
    if option in names:
        return True
    return option.startswith("--") and len(option) > 3 and any(n.startswith(option) for n in names)


def parse(
    words: Sequence[Word], values: frozenset[str], *, long: bool = False, stop_at_positional: bool = False
) -> Args:
    """Options and positional words. `values`: the options written with a value (`-n 5`, `-n5`, `--lines=5`);
    `long`: options are single-dash words (`find -name`, `openssl -noout`); `--` ends the options."""
    args = Args()
    i = 0
    while i < len(words):
        word, text = words[i], words[i].text
        like = word.option_like
        if like is None:
            args.unknown.append(word)
            if stop_at_positional:
                args.rest = i
                return args
            args.positional.append(word)
        elif not like:
            if stop_at_positional:
                args.rest = i
                return args
            args.positional.append(word)
        elif text == "--":
            args.positional += words[i + 1 :]
            args.rest = i + 1
            return args
        else:
            i += _option(args, words, i, text or "", values, long)
        i += 1
    args.rest = len(words)
    return args


def _option(args: Args, words: Sequence[Word], i: int, text: str, values: frozenset[str], long: bool) -> int:
    """Record the option(s) of words[i]; how many more words its value took."""
    following = words[i + 1] if i + 1 < len(words) else None
    if text.startswith("--") or long:
        name, eq, attached = text.partition("=")
        if eq:
            args.options.append((name, Word.of(attached)))
            return 0
        takes = matches(name, values) if name.startswith("--") else name in values
        args.options.append((name, following if takes else None))
        return int(takes and following is not None)
    for at, char in enumerate(text[1:], start=1):
        name = "-" + char
        if name in values:
            attached = text[at + 1 :]
            args.options.append((name, Word.of(attached) if attached else following))
            return int(not attached and following is not None)
        args.options.append((name, None))
    return 0


def split(words: str) -> frozenset[str]:
    return frozenset(words.split())


def each(what: str, options: str) -> Mapping[str, str]:
    """{option: what it does} for several options at once."""
    return dict.fromkeys(options.split(), what)


_TOKEN = re.compile(r"[^a-z0-9]+")
DESTRUCTIVE = {
    **each("deletes", "delete del unlink"),
    **each("drops", "drop"),
    **each("truncates", "truncate"),
    **each("flushes", "flush flushall flushdb"),
    **each("kills", "kill pkill killall"),
    **each("terminates", "terminate"),
    **each("removes", "rm rmdir remove uninstall"),
    **each("restores", "restore"),
    **each("rolls back", "rollback"),
    **each("resets", "reset"),
    **each("pauses", "pause"),
    **each("fails over", "failover"),
    **each("purges", "purge"),
    **each("destroys", "destroy"),
    **each("prunes", "prune"),
}
WHOLE = re.compile(r"-?[0-9]+")
PLAIN = re.compile(r"[A-Za-z0-9_.:/@%+,=-]+")
