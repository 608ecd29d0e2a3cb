"""A runbook file as steps: which blocks run (shell, sql, flush) and which are only shown (display).

`load_runbook(path, env)` reads a file (refusing binary, NUL bytes, control characters and oversized files with
one clear line), parses it and turns every code block into steps; `env` is the environment the console runs
with, which decides which `$VAR` are parameters.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.file_trust import RUNBOOK, UntrustedFile, open_trusted, os_reason
from console.judge.placeholders import SECRET_NAME, Param, find_params, scan
from console.models import Risk
from console.runbooks import session
from console.runbooks.blocks import OTHER_SQL, config_text, flush_of, kind_of, not_postgres
from console.runbooks.markdown import Block, parse_markdown
from console.runbooks.risk import infer, raise_to, unreached
from console.runbooks.split import split_script, split_sql, stand_alone

MAX_BYTES = 8 * 1024 * 1024
KINDS = ("shell", "sql", "flush", "display")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class RunbookError(ValueError):
    """A runbook that cannot be read or used; str() is one line naming the file and the problem."""


@dataclass(frozen=True)
class Split:
    """Where a step of a split block stands: part `part` of `of` of the block whose first part has the id `block`."""

    block: str
    part: int
    of: int

    def as_json(self) -> dict[str, Any]:
        return {"block": self.block, "part": self.part, "of": self.of}


@dataclass(frozen=True)
class Step:
    """One step: a runnable command (shell, sql, flush) or a block only shown (display). `line` is the file line of
    the command's first line (`command` line N is file line `line + N - 1`), `fence_line` the block's opening fence."""

    id: str
    section: str
    line: int
    kind: str
    language: str
    command: str
    params: tuple[Param, ...] = ()
    risk: Risk = Risk.READ
    risk_reason: str = ""
    mode: str = "run"  # interactive: needs the terminal; follow: output followed (judge.shell.ShellJudgement.mode)
    mode_reason: str = ""  # why it is not run (`tail -f x` follows: it never ends); "" for run
    output_lines: tuple[str, ...] = ()
    description: str = ""
    closed: bool = True
    pattern: str = ""
    db: int | None = None
    fence_line: int = 0
    title: str = ""  # the comment that titled a part of a split block
    split: Split | None = None
    env_params: tuple[str, ...] = ()  # variables read from the console's environment, not asked
    outline: tuple[str, ...] = ()  # the H2 and H3 headings it is under (markdown.Block.outline)
    display_reason: str = ""  # why a block that looks runnable is only shown (`runbook show` prints it)

    @property
    def runnable(self) -> bool:
        return self.kind != "display"

    @property
    def ref(self) -> str:
        """How a step is named to run it: its id, except the first part of a split block, `ID.1` (`ID` alone names
        the whole block, which no longer runs as one)."""
        return f"{self.id}.1" if self.split and self.split.part == 1 else self.id

    @property
    def secret_params(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.secret)

    @property
    def secret_env(self) -> tuple[str, ...]:
        """The variables read from the console's environment whose names read as secrets (their values are masked)."""
        return tuple(name for name in self.env_params if SECRET_NAME.search(name))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section": self.section,
            "line": self.line,
            "fence_line": self.fence_line,
            "title": self.title,
            "kind": self.kind,
            "language": self.language,
            "command": self.command,
            "params": [p.name for p in self.params],
            "secret_params": list(self.secret_params),
            "env_params": list(self.env_params),
            "split": self.split.as_json() if self.split else None,
            "risk": self.risk.value if self.runnable else None,
            "risk_reason": self.risk_reason if self.runnable else None,
            "mode": self.mode if self.runnable else None,
            "mode_reason": self.mode_reason if self.runnable else None,
            "output_lines": list(self.output_lines),
            "display_reason": None if self.runnable else self.display_reason,
        }


@dataclass
class Runbook:
    """A parsed runbook: title, where it came from, the sha256 of its bytes, its steps and any warnings."""

    title: str
    path: Path
    sha256: str
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    key: str = ""

    def action_name(self, step: Step) -> str:
        """The name of the action that runs `step` through the runner: `runbook:KEY:STEP` (STEP is `step.ref`)."""
        return f"runbook:{self.key}:{step.ref}"

    def step(self, ref: str) -> Step:
        """The step named `ref`; RunbookError naming the parts when `ref` is a split block's id."""
        found = next((s for s in self.steps if s.ref == ref), None)
        if found is None:
            parts = [s.ref for s in self.steps if s.split and s.split.block == ref]
            if parts:
                raise RunbookError(f"{self.path}: {ref} was split into {', '.join(parts)}: run one of them")
            runnable = ", ".join(s.ref for s in self.steps if s.runnable) or "none"
            raise RunbookError(f"{self.path}: no step {ref!r} (runnable steps: {runnable})")
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "path": str(self.path),
            "sha256": self.sha256,
            "steps": [s.as_json() for s in self.steps],
        }


def read_text(path: Path) -> tuple[str, str]:
    """(text with `\\n` line ends, sha256 of the bytes), or RunbookError for anything that is not a text runbook, or
    that someone other than you or root could change (`console.file_trust`)."""
    try:
        fd, _ = open_trusted(path, RUNBOOK)  # a runbook others could change chooses what its steps run: refused
        with os.fdopen(fd, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            data = f.read() if size <= MAX_BYTES else b""
    except UntrustedFile as exc:
        raise RunbookError(str(exc)) from None
    except OSError as exc:
        raise RunbookError(f"{path}: cannot read: {os_reason(exc)}") from None
    if size > MAX_BYTES:
        raise RunbookError(f"{path}: {size / 2**20:.1f} MiB is over the {MAX_BYTES // 2**20} MiB a runbook may have")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise RunbookError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); refused"
        ) from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise RunbookError(f"{path}: a NUL byte on line {line}: not a text runbook; refused")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    control = _CONTROL.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise RunbookError(f"{path}: a control character (0x{ord(control.group()):02x}) on line {line}; refused")
    return text, hashlib.sha256(data).hexdigest()


def load_runbook(path: Path | str, env: Mapping[str, str]) -> Runbook:
    """Read and parse one runbook file."""
    path = Path(path)
    text, digest = read_text(path)
    return parse_runbook(text, path, digest, env)


def parse_runbook(text: str, path: Path, digest: str, env: Mapping[str, str]) -> Runbook:
    doc = parse_markdown(text)
    book = Runbook(title=doc.title or path.name, path=path, sha256=digest, key=slug(path.stem) or "runbook")
    counters: dict[str, int] = {}
    taken: set[str] = set()
    other = OTHER_SQL.search(text)
    elsewhere = f"`{other.group()}` (line {text.count(chr(10), 0, other.start()) + 1})" if other else ""
    for block in doc.blocks:
        if not block.closed:
            book.warnings.append(f"{path}:{block.line}: the fence is never closed; the block runs to the end")
        first = ""
        for step in _steps(block, env, elsewhere):
            if step.split and step.split.part > 1:  # a later part of a split block: ID.N (a slug has no dot)
                step_id = f"{first}.{step.split.part}"
            else:
                base = slug(block.attrs.get("name", "")) or slug(block.section) or "top"
                counters[base] = counters.get(base, 0) + 1
                step_id = base if block.attrs.get("name") and counters[base] == 1 else f"{base}-{counters[base]}"
                while step_id in taken:
                    counters[base] += 1
                    step_id = f"{base}-{counters[base]}"
                taken.add(step_id)
                first = step_id
            split = Split(first, step.split.part, step.split.of) if step.split else None
            book.steps.append(_with(step, id=step_id, split=split))
    return book


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48].strip("-")


def _with(step: Step, **changes: Any) -> Step:
    return Step(**{**step.__dict__, **changes})


def _steps(block: Block, env: Mapping[str, str], elsewhere: str = "") -> list[Step]:
    """The steps of a block; `elsewhere`: the first word of the runbook naming a database that is not PostgreSQL
    (`D1` (line 69)), or ""."""
    first = block.line + block.fenced  # the file line of the block's first line of text
    base = Step(
        id="",
        section=block.section,
        line=first,
        kind="display",
        language=block.language,
        command=block.text,
        description=block.description,
        closed=block.closed,
        fence_line=block.line,
        outline=block.outline,
    )
    kind = kind_of(block)
    not_ours = not_postgres(block, elsewhere) if kind == "sql" or OTHER_SQL.fullmatch(block.language) else ""
    if not_ours:
        return [_with(base, display_reason=not_ours)]
    if kind == "shell":
        lines = block.text.split("\n")
        if block.language in session.SESSION_LANGUAGES and not session.has_prompts(lines, root=True):
            return [base]  # a console block without a prompt: output, shown and not run
        commands = session.split_shell(block.text, block.language)
        parts = split_script(commands[0].text) if len(commands) == 1 and commands[0].script else []
        steps = [
            _with(step, title=c.title) if c.title else step
            for c in parts or commands
            for step in _shell_steps(base, c, env, first + c.offset)
        ]
        steps = [
            _with(step, kind="display", display_reason="config text to paste into a file, not shell")
            if config_text(step.command)
            else step
            for step in steps
        ]
        if not steps:
            return [base]  # only comments: shown, not run
        bundled = len(steps)
        steps = [part for step in steps for part in (_unbundle(step, env) if step.kind == "shell" else [step])]
        if len(parts) > 1 or len(steps) > bundled:
            steps = [_with(step, split=Split("", n, len(steps))) for n, step in enumerate(steps, 1)]
    elif kind == "sql":
        commands = session.split_psql(block.text)
        parts = split_sql(commands[0].text) if len(commands) == 1 and not commands[0].offset else []
        steps = [
            _with(step, title=c.title) if c.title else step
            for c in parts or commands
            for step in [_sql_step(base, c, env, first + c.offset)]
        ]
        if len(parts) > 1:
            steps = [_with(step, split=Split("", n, len(steps))) for n, step in enumerate(steps, 1)]
    else:
        return [base] if block.text.strip() else []
    return [_risk(s, block.attrs.get("risk")) for s in steps]


def _unbundle(step: Step, env: Mapping[str, str]) -> list[Step]:
    """A shell step whose command never ends (`docker stats`, `npm run dev`, `tail -f`) with commands after it,
    which would never run: cut after it, the rest a step of its own when it stands alone, else shown with the
    reason; a step where the next command shares the endless one's line is shown whole, with the reason."""
    cut = unreached(step.command, step.params)
    if cut is None:
        return [step]
    if cut.same_line:
        return [_with(step, kind="display", display_reason=f"{cut.reason}: put each command on a line of its own")]
    lines = step.command.split("\n")
    head, rest = "\n".join(lines[: cut.line]), "\n".join(lines[cut.line :]).strip("\n")
    first = _shell(step, head, step.line, env, ())
    start = step.line + cut.line + next(i for i, row in enumerate(lines[cut.line :]) if row.strip())
    if not stand_alone([session.Command(head), session.Command(rest)]):
        why = (
            f"comes after `{cut.endless}`, which never ends on its own, so it would never run; nor is it run apart, "
            "since the lines before it change what it would run with (`cd`, `export`, a variable...): give it a "
            "block of its own"
        )
        shown = _with(step, kind="display", line=start, title="", command=rest, params=(), env_params=())
        return [*first, _with(shown, display_reason=why)]
    later = _shell(_with(step, title=""), rest, start, env, step.output_lines)
    return [*first, *(part for s in later for part in _unbundle(s, env))]


def _shell_steps(base: Step, command: session.Command, env: Mapping[str, str], line: int) -> list[Step]:
    """A command (whose first line is file line `line`) as a shell step, or split around Redis key deletions, which
    become flush steps."""
    steps: list[Step] = []
    pending: list[str] = []
    start = line
    for number, text in enumerate(command.text.split("\n"), line):
        flush = flush_of(text)
        if flush is None:
            start = number if not pending else start
            pending.append(text)
            continue
        steps += _shell(base, "\n".join(pending), start, env, ())
        pending = []
        pattern, db = flush
        params = tuple(find_params(pattern, env, shell=True))
        steps.append(
            _with(base, kind="flush", line=number, command=text.strip(), params=params, pattern=pattern, db=db)
        )
    steps += _shell(base, "\n".join(pending), start, env, tuple(command.output))
    if steps and command.output and steps[-1].kind == "flush":
        steps[-1] = _with(steps[-1], output_lines=tuple(command.output))
    return steps


def _shell(base: Step, text: str, line: int, env: Mapping[str, str], output: tuple[str, ...]) -> list[Step]:
    code = "\n".join(row for row in text.split("\n") if row.strip() and not row.lstrip().startswith("#"))
    if not code:
        return []
    skipped, text, title = _leading_notes(text, "#")
    params, from_env = scan(text, env, shell=True)
    return [
        _with(
            base,
            kind="shell",
            line=line + skipped,
            title=base.title or title,
            command=text,
            params=tuple(params),
            env_params=tuple(from_env),
            output_lines=output,
        )
    ]


def _leading_notes(text: str, marker: str) -> tuple[int, str, str]:
    """(how many lines lead the command before its first line of code, the text from that line, the first leading
    comment's words): a step's `line` is its command's line, and the note above it becomes its title."""
    lines = text.split("\n")
    skipped = next((i for i, row in enumerate(lines) if row.strip() and not row.lstrip().startswith(marker)), 0)
    notes = [row.lstrip().lstrip(marker).strip() for row in lines[:skipped] if row.strip()]
    title = next((note for note in notes if note and not note.startswith("!")), "")
    return skipped, "\n".join(lines[skipped:]).rstrip("\n"), title


def _sql_step(base: Step, command: session.Command, env: Mapping[str, str], line: int) -> Step:
    skipped, text, title = _leading_notes(command.text, "--")
    line += skipped
    base = _with(base, title=base.title or title)
    kind = "sql" if session.sql_code(text).strip().strip(";").strip() else "display"
    params = tuple(find_params(text, env, shell=False)) if kind == "sql" else ()
    return _with(base, kind=kind, line=line, command=text, params=params, output_lines=tuple(command.output))


def _risk(step: Step, attribute: str | None) -> Step:
    if step.kind == "display":
        return step
    if step.kind == "flush":
        risk, reason, mode, why = (
            Risk.DESTRUCTIVE,
            "destructive: deletes Redis keys (offered as flush-cache)",
            "run",
            "",
        )
    else:
        risk, reason, mode, why = infer(step.command, step.params, sql=step.kind == "sql")
    risk, reason = raise_to(risk, reason, attribute)
    return _with(step, risk=risk, risk_reason=reason, mode=mode, mode_reason=why)
