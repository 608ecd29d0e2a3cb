"""The playbook format (pydantic, extra keys forbidden), loading from the config and playbook folders, validation.

A playbook in TOML (in the config or in a `*.toml` file of a folder named by `[console] playbooks`):

    [[playbook]]
    name = "api-down"
    title = "The API is down"
    when = "health.api is down"
    severity = "SEV-2"

    [[playbook.steps]]
    kind = "check"
    id = "db"
    condition = "postgres.connections >= 80%"
    on_fail = "done"

Step kinds: check, look, ask, action, verify, capture, update, done. Each step may have an `id` (default `step-N`),
a `title`, and `next`; checks and verifies branch with `on_pass` / `on_fail`, answers with their choice's `next`.
The target `done` ends the run; without a target the next step in the list follows.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError, model_validator

from console.config import Config
from console.config.reading import ConfigError, decode_text, parse_toml, plain_message
from console.file_trust import PLAYBOOK, UntrustedFile, check_folder, os_reason, read_trusted
from console.timeparse import parse_duration
from console.triage.conditions import ConditionError, names, parse
from console.triage.resolve import LIVE_REFERENCES, Scalar, references

END = "done"
KINDS = ("check", "look", "ask", "action", "verify", "capture", "update", "done")
BUILTIN_ACTIONS = ("kill-idle", "cancel-query", "terminate", "flush-cache")
FIXED_CHECKS = {
    "postgres": ("connection", "connections", "long-running", "blocked", "cache hit"),
    "redis": ("ping", "memory", "hit ratio"),
}
# Durations are written as text ("5m") and dumped as milliseconds text, so a journaled definition reads back.
Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(lambda s: f"{s * 1000:.0f}ms")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Step(_Model):
    id: str = ""
    title: str = ""
    next: str | None = None


class CheckStep(_Step):
    """Evaluate a condition (held `for` a while when given) and branch on it; UNKNOWN follows `on_fail`."""

    kind: Literal["check"]
    condition: str
    for_: Duration = Field(0.0, alias="for")
    on_pass: str | None = None
    on_fail: str | None = None


class LookStep(_Step):
    """Show a pane (optionally filtered) and wait for the operator to continue."""

    kind: Literal["look"]
    pane: Literal["logs", "postgres", "redis", "health"]
    filter: str = ""


class Choice(_Model):
    label: str = Field(min_length=1)
    next: str | None = None


class AskStep(_Step):
    """A question with choices, or free text (no choices) stored under `capture` for later `{name}` references."""

    kind: Literal["ask"]
    question: str
    choices: list[Choice] = Field(default_factory=list)
    capture: str | None = None


class ActionStep(_Step):
    """Propose an action; params are constants, `{capture}` or live references such as `{postgres.top_blocker.pid}`."""

    kind: Literal["action"]
    action: str
    params: dict[str, Scalar] = Field(default_factory=dict)
    on_pass: str | None = None
    on_fail: str | None = None


class VerifyStep(_Step):
    """Wait up to `within` for a condition to have held `for` a while; pass or fail and branch."""

    kind: Literal["verify"]
    condition: str
    within: Duration = 300.0
    for_: Duration = Field(0.0, alias="for")
    on_pass: str | None = None
    on_fail: str | None = None


class CaptureStep(_Step):
    """Store a value as `name`: a regex group (`output`) of the last action's output, or a `json` path into the live
    model of `feed` (e.g. feed = "metric:error rate", json = "value")."""

    kind: Literal["capture"]
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    output: str | None = None
    json_path: str | None = Field(None, alias="json")
    feed: str | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> CaptureStep:
        if (self.output is None) == (self.json_path is None):
            raise ValueError("give exactly one of output (a regex) or json (a path)")
        if self.json_path is not None and not self.feed:
            raise ValueError('json needs feed, e.g. feed = "health:api"')
        if self.output is not None:
            try:
                re.compile(self.output)
            except re.error as exc:
                raise ValueError(f"output is not a regular expression: {exc}") from None
        return self


class UpdateStep(_Step):
    """Open the status update template (the caller does), first moving the incident to `status` when given
    (e.g. "mitigated"); the operator continues when posted."""

    kind: Literal["update"]
    note: str = ""
    status: Literal["investigating", "identified", "mitigated", "resolved"] | None = None


class DoneStep(_Step):
    """End the run with an outcome."""

    kind: Literal["done"]
    outcome: str = "completed"


Step = Annotated[
    CheckStep | LookStep | AskStep | ActionStep | VerifyStep | CaptureStep | UpdateStep | DoneStep,
    Field(discriminator="kind"),
]


class Playbook(_Model):
    """A named, ordered list of steps offered when `when` holds. `origin` says where it was defined."""

    name: str = Field(min_length=1)
    title: str
    when: str
    severity: str | None = None
    steps: list[Step] = Field(min_length=1)
    origin: str = "config"

    @model_validator(mode="before")
    @classmethod
    def _step_ids(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("steps"), list):
            steps = [
                {**s, "id": s.get("id") or f"step-{i + 1}"} if isinstance(s, dict) else s
                for i, s in enumerate(data["steps"])
            ]
            data = {**data, "steps": steps}
        return data

    def step(self, step_id: str) -> Any:
        return next((s for s in self.steps if s.id == step_id), None)

    def following(self, step_id: str) -> str:
        """The id of the step after `step_id` in the list, or END after the last."""
        ids = [s.id for s in self.steps]
        index = ids.index(step_id) + 1
        return ids[index] if index < len(ids) else END

    def definition(self) -> dict[str, Any]:
        """The playbook as plain data (without origin): what a run journals and keeps."""
        return self.model_dump(mode="json", by_alias=True, exclude={"origin"})

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(json.dumps(self.definition(), sort_keys=True).encode()).hexdigest()


def targets(step: Any) -> list[str]:
    """Every explicit branch target of a step."""
    found = [step.next, getattr(step, "on_pass", None), getattr(step, "on_fail", None)]
    found += [c.next for c in getattr(step, "choices", [])]
    return [t for t in found if t]


def successors(playbook: Playbook, step: Any) -> set[str]:
    """The steps a step can lead to (explicit targets, else the next in the list); END excluded."""
    if step.kind == "done":
        return set()
    found = set(targets(step))
    implicit = step.next is None and (
        step.kind not in ("check", "verify", "action") or not (step.on_pass and step.on_fail)
    )
    if step.kind == "ask" and step.choices and all(c.next for c in step.choices):
        implicit = False
    if implicit:
        found.add(playbook.following(step.id))
    return found - {END}


# -- loading --------------------------------------------------------------------------------------


def _error_line(exc: ValidationError, origin: str, name: str) -> str:
    error = exc.errors()[0]
    loc = list(error["loc"])
    where = f"playbook {name}"
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        where += f": step {loc[1] + 1}"
        loc = loc[3:] if len(loc) > 2 and loc[2] in KINDS else loc[2:]
    message = plain_message(error)
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        message = f"kind must be one of {', '.join(KINDS)}"
    elif loc and error["type"] not in ("extra_forbidden", "missing"):
        message = f"{'.'.join(map(str, loc))}: {message}"
    return f"{origin}: {where}: {message}"


def parse_playbooks(raw: list[Any], origin: str) -> tuple[list[Playbook], list[str]]:
    """Playbooks from `[[playbook]]` tables; one problem line for each table that is not a valid playbook."""
    found: list[Playbook] = []
    problems: list[str] = []
    for index, table in enumerate(raw):
        name = str(table.get("name") or f"#{index + 1}") if isinstance(table, dict) else f"#{index + 1}"
        try:
            found.append(Playbook.model_validate({**table, "origin": origin}))
        except (ValidationError, TypeError) as exc:
            problems.append(
                _error_line(exc, origin, name) if isinstance(exc, ValidationError) else f"{origin}: not a table"
            )
    return found, problems


def load_playbooks(config: Config) -> tuple[list[Playbook], list[str]]:
    """Every configured playbook (`[[playbook]]` in the config, then each folder's `*.toml` files in name order)."""
    origin = str(config.source) if config.source else "<config>"
    playbooks, problems = parse_playbooks(list(config.playbook), origin)
    for folder in config.console.playbooks:
        directory = (config.base_dir / folder).expanduser()
        if not directory.is_dir():
            problems.append(f"{origin}: console.playbooks: {directory} is not a folder")
            continue
        try:
            check_folder(directory, PLAYBOOK)
        except UntrustedFile as exc:
            problems.append(f"{exc} (left out until fixed)")
            continue
        for file in sorted(directory.glob("*.toml")):
            try:
                data, _ = read_trusted(file, PLAYBOOK)
                raw = parse_toml(decode_text(data, str(file)), str(file))
            except (UntrustedFile, OSError, ConfigError) as exc:  # others could change it, unreadable, not TOML
                reason = f"{file}: cannot read: {os_reason(exc)}" if isinstance(exc, OSError) else str(exc)
                problems.append(f"{reason} (left out until fixed)")
                continue
            unknown = sorted(set(raw) - {"playbook"})
            if unknown:
                problems.append(f"{file}: unknown key {unknown[0]!r} (a playbook file holds [[playbook]] tables)")
            found, more = parse_playbooks(raw.get("playbook", []), str(file))
            playbooks += found
            problems += more
    return playbooks, problems


# -- validation -----------------------------------------------------------------------------------


def known_checks(config: Config) -> dict[str, set[str]]:
    """Check names per configured source."""
    known: dict[str, set[str]] = {}
    for section in ("health", "metric", "logs"):
        if getattr(config, section):
            known[section] = {item.name for item in getattr(config, section)}
    for section, checks in FIXED_CHECKS.items():
        if getattr(config, section) is not None:
            known[section] = set(checks)
    return known


def _conditions(step: Any) -> list[tuple[str, str]]:
    return [("condition", step.condition)] if step.kind in ("check", "verify") else []


def _condition_problems(text: str, known: dict[str, set[str]]) -> list[str]:
    try:
        expr = parse(text)
    except ConditionError as exc:
        return [f"bad condition {text!r}: {exc}"]
    return [
        f"unknown check {source}.{name!r} (known: {', '.join(sorted(known[source]))})"
        for source, name in names(expr)
        if name is not None and source in known and name not in known[source]
    ]


def _loops(playbook: Playbook) -> list[list[str]]:
    """Every strongly connected group of steps that can repeat (Tarjan), as lists of ids."""
    graph = {s.id: sorted(successors(playbook, s)) for s in playbook.steps}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in graph.get(node, []):
            if succ not in graph:
                continue
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


RUNBOOK_ACTION = "runbook:"  # a runbook's steps: generated with the runbook, registered by the runner with it


def validate(playbooks: list[Playbook], config: Config) -> list[str]:
    """One line per problem: where (file, playbook, step) and what is wrong; empty when every playbook is sound."""
    known = known_checks(config)
    actions = set(BUILTIN_ACTIONS) | set(config.actions)
    problems: list[str] = []
    seen_names: set[str] = set()
    for book in playbooks:
        where = f"{book.origin}: playbook {book.name}"
        if book.name in seen_names:
            problems.append(f"{where}: the name is used by another playbook")
        seen_names.add(book.name)
        if book.when.strip():  # an empty `when`: never suggested, started by hand (a runbook's playbook)
            problems += [f"{where}: when: {p}" for p in _condition_problems(book.when, known)]
        ids = [s.id for s in book.steps]
        captures = {s.name for s in book.steps if s.kind == "capture"} | {
            s.capture for s in book.steps if s.kind == "ask" and s.capture
        }
        for step in book.steps:
            at = f"{where}: step {step.id}"
            if ids.count(step.id) > 1 and ids.index(step.id) != book.steps.index(step):
                problems.append(f"{at}: duplicate step id")
            if step.id == END:
                problems.append(f"{at}: {END!r} is reserved for the end of the run")
            for field, text in _conditions(step):
                problems += [f"{at}: {field}: {p}" for p in _condition_problems(text, known)]
            problems += [f"{at}: branches to missing step {t!r}" for t in targets(step) if t != END and t not in ids]
            if step.kind == "action":
                if step.action not in actions and not step.action.startswith(RUNBOOK_ACTION):
                    problems.append(f"{at}: unknown action {step.action!r} (actions: {', '.join(sorted(actions))})")
                problems += [f"{at}: params.{k}: {p}" for k, p in _param_problems(step.params, captures)]
        for group in _loops(book) if len(set(ids)) == len(ids) else []:
            kinds = {book.step(i).kind for i in group}
            if not kinds & {"ask", "verify"}:
                problems.append(f"{where}: steps {', '.join(group)} loop with no ask or verify to stop them")
    return problems


def _param_problems(params: dict[str, Scalar], captures: set[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for key, value in params.items():
        try:
            refs = references(value)
        except ValueError as exc:
            problems.append((key, f"{exc} (write {{{{ and }}}} for literal braces)"))
            continue
        problems += [(key, f"unknown reference {{{r}}}") for r in refs if r not in captures | set(LIVE_REFERENCES)]
    return problems
