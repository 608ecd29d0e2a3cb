"""`[actions.NAME]` command actions in the config: the argv template or bash script, its typed params and where
values go."""

from __future__ import annotations

import functools
import json
import re
import string
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote

from pydantic import (
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import SchemaError

from console.config.reading import plain_message
from console.config.types import Model, Period
from console.judge.placeholders import Param, shell_regions, shell_script
from console.models import Risk

if TYPE_CHECKING:
    from console.judge.shell import ShellJudgement

# Where a value goes: `{msg|json}` is a JSON string (quotes included), `{x|url}` is escaped for a URL component.
FILTERS: dict[str, Callable[[str], str]] = {
    "json": lambda value: json.dumps(value, ensure_ascii=False),
    "url": lambda value: quote(value, safe=""),
}
_TYPES: dict[str, type] = {"str": str, "int": int, "float": float}
# Programs that interpret one of their arguments as code, and the option that names it: a value placed inside that
# argument would be read as code, so placeholders there are refused (a value goes in as a positional argument).
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox"})
INTERPRETERS: dict[str, tuple[str, ...]] = {
    **{shell: ("-c",) for shell in SHELLS},
    "su": ("-c", "--command"),
    "python": ("-c",),
    "python3": ("-c",),
    "perl": ("-e", "-E"),
    "ruby": ("-e",),
    "node": ("-e", "--eval", "-p", "--print"),
    "psql": ("-c", "--command"),
}
# `{name}` in a script is a param's value (or the environment's), written exactly so: not `${name}` (bash's own) nor
# `{{name}}` (a Go template); any other brace is the script's (`awk '{ print }'`, `jq '{a: .b}'`, `{1..3}`).
SCRIPT_PLACEHOLDER = re.compile(r"(?<![{$])\{(?P<name>[A-Za-z_]\w*)(?:\|(?P<filter>[^{}|\s]*))?\}(?!\})")


class ParamSpec(Model):
    """A typed parameter of a command action: one of `choices`, or a `type` (a str matching `pattern` whole)."""

    description: str = ""
    type: Literal["str", "int", "float"] = "str"
    pattern: str | None = None
    choices: list[str] | None = Field(default=None, min_length=1)
    default: str | None = None
    secret: bool = False  # asked without echo, masked in the plan, the journal, on screen and in the output

    @property
    def annotation(self) -> Any:
        """The type a value is validated against (the pattern is matched by pydantic's regex engine)."""
        if self.choices:
            return Literal[tuple(self.choices)]
        if self.pattern is not None:
            return Annotated[str, StringConstraints(pattern=f"^(?:{self.pattern})$")]
        return _TYPES[self.type]

    def typed_default(self) -> Any:
        """The default converted to the param's type, or `...` (required) when there is none."""
        return ... if self.default is None else TypeAdapter(self.annotation).validate_python(self.default)

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        if self.pattern is not None and self.choices:
            raise ValueError("give choices or pattern, not both")
        if self.pattern is not None and self.type != "str":
            raise ValueError(f'pattern applies to type "str" only (a {self.type} is checked as a number)')
        try:
            adapter = TypeAdapter(self.annotation)
        except SchemaError as exc:
            reason = str(exc).rsplit("error: ", 1)[-1].strip()
            raise ValueError(
                f"pattern {self.pattern!r} is not a regular expression: {reason} (fix it: Rust regex syntax, "
                "no look-around or back-references, braces are not doubled here)"
            ) from None
        if self.default is not None:
            try:
                adapter.validate_python(self.default)
            except ValidationError as exc:
                reason = plain_message(exc.errors()[0])
                raise ValueError(f"default: {reason} (fix the default or the param)") from None
        return self


def interpreted(command: list[str]) -> tuple[int, str] | None:
    """(index of the argument interpreted as code, the program that interprets it), or None: `sh -c SCRIPT` anywhere
    in the argv (after `sudo`, `kubectl exec … --`, `docker compose exec SVC`), `python -c`, `psql -c`, and the remote
    command of `ssh HOST …`, which the remote shell parses again."""
    for i, word in enumerate(command):
        program = word.rsplit("/", 1)[-1]
        if program == "ssh" and i == 0:
            return _ssh_command(command)
        options = INTERPRETERS.get(program)
        if options is None:
            continue
        for j in range(i + 1, len(command)):
            arg = command[j]
            if arg in options or (
                program in SHELLS and arg.startswith("-") and not arg.startswith("--") and arg.endswith("c")
            ):
                return (j + 1, program) if j + 1 < len(command) else None
            if not arg.startswith("-"):
                break
    return None


def _ssh_command(command: list[str]) -> tuple[int, str] | None:
    """Where ssh's remote command starts (the first word after the host), or None when there is none."""
    takes_value = set("BbcDEeFIiJLlmOoPpQRSWw")
    i = 1
    while i < len(command) and command[i].startswith("-"):
        flag = command[i]
        i += 2 if len(flag) == 2 and flag[1] in takes_value else 1
    return (i + 1, "ssh") if i + 1 < len(command) else None


class CommandAction(Model):
    """`[actions.NAME]`: an argv template run without a shell (rollback, scale, maintenance mode...), or a bash
    script run as a runbook shell step is (its placeholders passed as quoted environment variables)."""

    command: list[str] | None = Field(default=None, min_length=1)
    script: str | None = None
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    # a command's risk (write when not given); a script's is judged from its text, and this may only raise it
    risk: Risk | None = None
    timeout: Period = 600.0
    description: str = ""
    stdin: str | None = None  # a template like the arguments, fed to the command's standard input
    env: dict[str, str] = Field(default_factory=dict)  # templates like the arguments, added to its environment

    @field_validator("params", mode="before")
    @classmethod
    def _short_params(cls, params: Any) -> Any:
        if isinstance(params, dict):
            return {k: {"description": v} if isinstance(v, str) else v for k, v in params.items()}
        return params

    @model_validator(mode="after")
    def _declared_placeholders(self) -> CommandAction:
        if (self.command is None) == (self.script is None):
            raise ValueError(
                "give command (an argv, run without a shell) or script (a bash script), not both"
                if self.command is not None
                else "required key 'command' is missing (an argv, run without a shell; or give script, a bash script)"
            )
        if self.script is not None:
            self._check_script(self.script)
        allowed = {"environment", *self.params}
        command = self.command or []
        templates = [(f"command[{i}]", arg) for i, arg in enumerate(command)]
        code = interpreted(command)
        remote = {f"command[{i}]" for i in range(code[0], len(command))} if code else set()
        templates += [("stdin", self.stdin)] if self.stdin is not None else []
        templates += [(f"env.{name}", value) for name, value in self.env.items()]
        for where, template in templates:
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
            except ValueError as exc:
                raise ValueError(f"{where} {template!r}: {exc} (write {{{{ and }}}} for literal braces)") from None
            for field in fields:
                name, _, wanted = field.partition("|")
                if name not in allowed:
                    declared = ", ".join(sorted(self.params)) or "none"
                    raise ValueError(
                        f"{where} uses {{{name}}}, which is not declared in params "
                        f"(declared: {declared}; {{environment}} is always available)"
                    )
                if wanted and wanted not in FILTERS:
                    raise ValueError(f"{where} uses {{{field}}}: unknown filter {wanted!r} (filters: json, url)")
                if code is not None and (where == f"command[{code[0]}]" or (code[1] == "ssh" and where in remote)):
                    raise ValueError(_interpreted_error(where, name, code[1]))
                if where.startswith("command[") and name in self.params and self.params[name].secret:
                    raise ValueError(
                        f"{where} puts the secret param {{{name}}} on the command line, where every local user can "
                        f'read it (ps, /proc/PID/cmdline): pass it on standard input (stdin = "{{{name}}}", e.g. with '
                        f'`curl -K -` or `-H @-`) or in the environment (env = {{ {name.upper()} = "{{{name}}}" }})'
                    )
        return self

    def script_params(self) -> list[Param]:
        """The params the script uses, in order of first use, each passed to it as the variable `RB_NAME`."""
        assert self.script is not None
        regions = shell_regions(self.script)
        used = dict.fromkeys(
            m["name"] for m in SCRIPT_PLACEHOLDER.finditer(self.script) if regions.at(m.start()) != "comment"
        )
        secret = {name for name, spec in self.params.items() if spec.secret}
        return [Param(name, (f"{{{name}}}",), secret=name in secret) for name in used]

    def bash(self) -> str:
        """The script as bash runs it: each placeholder a quoted reference to its variable (`"${RB_NAME}"`)."""
        assert self.script is not None
        return shell_script(self.script, self.script_params(), SCRIPT_PLACEHOLDER)

    @functools.cached_property
    def template(self) -> ShellJudgement:
        """The script judged by the shell parser without values (`<name>` in their place), once per config: its
        mode is checked when the config loads, its risk is the action's."""
        from console.judge.shell import judge_shell  # the parser is loaded when a config has a script

        return judge_shell(self.bash())

    def _check_script(self, script: str) -> None:
        """Every placeholder declared, plain (no filter) and where bash expands it; no secret param in a program's
        arguments; the script needs no terminal and ends."""
        if not script.strip():
            raise ValueError("script is empty (give the bash commands to run)")
        regions = shell_regions(script)
        declared = ", ".join(sorted(self.params)) or "none"
        for m in SCRIPT_PLACEHOLDER.finditer(script):
            where, name, line = regions.at(m.start()), m["name"], script.count("\n", 0, m.start()) + 1
            if where == "comment":
                continue
            if name != "environment" and name not in self.params:
                raise ValueError(
                    f"script line {line} uses {{{name}}}, which is not declared in params (declared: {declared}; "
                    f"{{environment}} is always available); braces with a space inside stay as written: {{ {name} }}"
                )
            if m["filter"] is not None:
                raise ValueError(
                    f"script line {line} uses {m.group()}: filters are for command arguments; in a script the value "
                    f'arrives as a quoted variable ("${{RB_{name.upper()}}}"): encode it in the script '
                    f"(jq --arg {name} {{{name}}}, curl --data-urlencode)"
                )
            if where == "literal":
                raise ValueError(
                    f"script line {line} puts {{{name}}} in a heredoc with a quoted delimiter (<<'EOF'), where bash "
                    "expands nothing: unquote the delimiter (<<EOF)"
                )
        used = self.script_params()
        variables = {p.env: p.name for p in used}
        if len(variables) < len(used):
            a, b = [p for p in used if sum(q.env == p.env for q in used) > 1][:2]
            raise ValueError(f"params {a.name} and {b.name} are both passed as {a.env}: rename one")
        for name in self.env:
            if name in variables:
                raise ValueError(f"env.{name} would replace {{{variables[name]}}}, passed as {name}; rename it")
        judged = self.template
        for param in (p for p in used if p.secret and p.env in judged.arguments):
            program = judged.arguments[param.env]
            raise ValueError(
                f"script gives the secret param {{{param.name}}} to `{program}` as an argument, where every local "
                f"user can read it (ps, /proc/PID/cmdline): feed it on standard input (printf '%s\\n' "
                f'"{{{param.name}}}" | {program} … reading -) or in its environment for that command alone '
                f'(NAME="{{{param.name}}}" {program} …)'
            )
        if judged.mode != "run":
            follows = "never ends (it follows)" if judged.endless else "follows its output until `timeout` ends it"
            needs = "needs the terminal" if judged.mode == "interactive" else follows
            raise ValueError(
                f"script runs `{judged.mode_command}`, which {needs}: an action's script runs without a terminal, "
                "is not followed and must simply end (run it in your own shell, or give it an end, e.g. tail -n 200)"
            )


def _interpreted_error(where: str, name: str, program: str) -> str:
    """Why a placeholder may not stand in code another program reads, and how to pass the value instead."""
    if program == "ssh":
        return (
            f"{where} puts {{{name}}} in the command ssh sends to the remote shell, which parses it again: a value "
            "would be read as shell code there; pass it on standard input (stdin = ...) to a fixed remote command"
        )
    if program == "psql":
        return (
            f"{where} puts {{{name}}} inside the SQL psql -c runs: a value would be read as SQL; pass it as a psql "
            f'variable ("-v", "{name}={{{name}}}" and :\'{name}\' in the SQL)'
        )
    return (
        f"{where} puts {{{name}}} inside the code {program} runs: a value would be read as code; pass it as a "
        f'positional argument (["sh", "-c", "echo \\"$1\\"", "sh", "{{{name}}}"] for a shell)'
    )
