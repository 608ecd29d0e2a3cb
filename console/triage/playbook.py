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

Step kinds are `console.triage.steps` (check, look, ask, action, verify, capture, pick, update, done). Each step
may have an `id` (default `step-N`), a `title`, and `next`; checks, verifies and picks branch with `on_pass` /
`on_fail`, answers with their choice's `next`. The target `done` ends the run; without a target the next step in
the list follows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Set
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from console.config import Config
from console.config.reading import ConfigError, decode_text, parse_toml, plain_message
from console.file_trust import PLAYBOOK, UntrustedFile, check_folder, os_reason, read_trusted
from console.models.severity import SCHEMES
from console.sources.base import BY_NAME, check_units, known_checks
from console.triage import conditions
from console.triage.steps import END, KINDS, Checking, Step, StepKind

__all__ = ["END", "Playbook", "load_playbooks", "validate"]


class Playbook(BaseModel):
    """A named, ordered list of steps offered when `when` holds. `origin` says where it was defined."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    title: str
    when: str
    severity: str | None = None
    fixes: list[str] = Field(default_factory=list)  # checks its steps bring back ("metric.error rate"): it ranks higher
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

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def following(self, step_id: str) -> str:
        """The id of the step after `step_id` in the list, or END after the last."""
        ids = [s.id for s in self.steps]
        index = ids.index(step_id) + 1
        return ids[index] if index < len(ids) else END

    def definition(self) -> dict[str, Any]:
        """The playbook as plain data (without origin): what a run journals and keeps. An empty `fixes` is left out,
        so a playbook written before it existed keeps its digest."""
        left_out = {"origin"} | (set() if self.fixes else {"fixes"})
        return self.model_dump(mode="json", by_alias=True, exclude=left_out)

    def fixed_checks(self) -> list[tuple[str, str]]:
        """`fixes` as (section, check name): "metric.error rate" -> ("metric", "error rate"); unknown sources left
        out (`validate` names them)."""
        found = []
        for entry in self.fixes:
            source, _, name = entry.partition(".")
            if source in BY_NAME and name:
                found.append((BY_NAME[source].section, name))
        return found

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(json.dumps(self.definition(), sort_keys=True).encode()).hexdigest()


def successors(playbook: Playbook, step: StepKind) -> set[str]:
    """The steps a step can lead to (explicit targets, else the next in the list); END excluded."""
    return step.successors(playbook.following(step.id)) - {END}


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


def _fixes_problems(fixes: list[str], known: dict[str, set[str]]) -> list[str]:
    """What is wrong with the checks a playbook says it fixes ("SOURCE.CHECK", as conditions name them)."""
    found = []
    for entry in fixes:
        source, _, name = entry.partition(".")
        kind = BY_NAME.get(source)
        if kind is None or not name:
            sources = ", ".join(BY_NAME)
            found.append(f"{entry!r} is not SOURCE.CHECK with a source of {sources} (e.g. metric.error rate)")
        elif kind.section in known and name not in known[kind.section]:
            found.append(f"unknown check {source}.{name!r} (known: {', '.join(sorted(known[kind.section]))})")
    return found


def validate(playbooks: list[Playbook], config: Config, actions: Set[str]) -> list[str]:
    """One line per problem: where (file, playbook, step) and what is wrong; empty when every playbook is sound.
    `actions` are the names a playbook may use (`actions.registry.action_names`); runbook steps go by their prefix."""
    known, units = known_checks(config), check_units(config)
    levels = tuple(SCHEMES[config.incident.scheme_key].names)
    problems: list[str] = []
    seen_names: set[str] = set()
    for book in playbooks:
        where = f"{book.origin}: playbook {book.name}"
        if book.name in seen_names:
            problems.append(f"{where}: the name is used by another playbook")
        seen_names.add(book.name)
        if book.when.strip():  # an empty `when`: never suggested, started by hand (a runbook's playbook)
            problems += [f"{where}: when: {p}" for p in conditions.problems(book.when, known, units, levels)]
        problems += [f"{where}: fixes: {p}" for p in _fixes_problems(book.fixes, known)]
        ids = [s.id for s in book.steps]
        captures = {name for step in book.steps for name in step.captures()}
        checking = Checking(known, actions, captures, units, levels)
        for index, step in enumerate(book.steps):
            at = f"{where}: step {step.id}"
            if ids.index(step.id) != index:
                problems.append(f"{at}: duplicate step id")
            if step.id == END:
                problems.append(f"{at}: {END!r} is reserved for the end of the run")
            problems += [f"{at}: {p}" for p in step.problems(checking)]
            problems += [f"{at}: branches to missing step {t!r}" for t in step.targets() if t != END and t not in ids]
        for group in _loops(book) if len(set(ids)) == len(ids) else []:
            if not any(book.steps[ids.index(i)].stops_loops for i in group):
                problems.append(f"{where}: steps {', '.join(group)} loop with no ask or verify to stop them")
    return problems
