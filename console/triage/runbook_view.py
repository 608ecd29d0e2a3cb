"""A runbook as a triage playbook, so the triage screen can guide it like any other.

A runbook with several parts (its H2 / H3 headings) opens with a question: which part to follow (type to filter);
each part is a checklist of its steps that comes back to that question at its end, and a reference part ("Useful
Commands", "Debug Commands", "Quick Reference") is a menu: pick a command, run it, come back to the menu. Each
runnable step becomes an `action` step naming the step's runbook action, its params `{name}` references to
answers; each parameter is first asked once in its part (an `ask` step with `capture`), except a secret one: an
answer is journaled, so a secret is left to the action form, which asks for it without echo. A display block becomes an
`ask` step with one choice ("continue"): the text is shown and the operator moves on. The playbook's `when` is empty,
so it is never suggested; the operator picks it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from console.config import Config
from console.runbooks.library import load_runbooks
from console.runbooks.model import Runbook, RunbookError, Step, slug
from console.triage.playbook import Playbook
from console.triage.steps.action import RUNBOOK_ACTION, ActionStep

CONTINUE = "continue"
QUESTION_CHARS = 2000
SECTIONS = "sections"  # the first step of a runbook with several parts: which one to follow
DONE = "done with the runbook"
BACK = "back to the parts of the runbook"
REFERENCE = re.compile(r"\b(commands?|reference)\b", re.IGNORECASE)  # "Useful Commands": a menu, not a checklist


def as_playbook(book: Runbook, *, when: str = "") -> Playbook:
    """The playbook view of a parsed runbook (RunbookError when it has no code block at all)."""
    if not book.steps:
        raise RunbookError(f"{book.path}: no code blocks: nothing to guide")
    parts: dict[tuple[str, ...], list[Step]] = {}  # by the headings they are under, the deepest naming the part
    for step in book.steps:
        parts.setdefault(step.outline or (step.section or book.title,), []).append(step)
    if len(parts) == 1:
        steps = _walk(book, next(iter(parts.values())), None)
    else:
        steps = [_chooser(book, parts)]
        for outline, members in parts.items():
            reference = REFERENCE.search(" ".join(outline))
            steps += _menu(book, outline[-1], members) if reference else _walk(book, members, SECTIONS)
    return Playbook.model_validate(
        {"name": f"runbook:{book.key}", "title": book.title, "when": when, "steps": steps, "origin": str(book.path)}
    )


def _chooser(book: Runbook, parts: dict[tuple[str, ...], list[Step]]) -> dict[str, Any]:
    """The first step of a runbook with several parts: which part to follow (each comes back here), or done. A
    heading the runbook repeats is told apart by its line."""
    titles = [outline[-1] for outline in parts]
    choices = [
        {
            "label": outline[-1] if titles.count(outline[-1]) == 1 else f"{outline[-1]} (line {members[0].line})",
            "next": _first(book, members[0]),
        }
        for outline, members in parts.items()
    ]
    return {
        "kind": "ask",
        "id": SECTIONS,
        "title": f"{book.title}: which part?",
        "question": f"Which part of {book.title}? (type to filter)",
        "choices": [*choices, {"label": DONE, "next": "done"}],
    }


def _first(book: Runbook, step: Step) -> str:
    """The id of the first playbook step a runbook step becomes (its first parameter's question, or itself)."""
    return str(_steps_of(book, step, set())[0]["id"])


def _walk(book: Runbook, members: list[Step], back: str | None) -> list[dict[str, Any]]:
    """A part as a checklist: its steps in order (each parameter asked once), then back to `back` (None: on)."""
    steps: list[dict[str, Any]] = []
    asked: set[str] = set()
    before: Step | None = None
    for step in members:
        steps += _steps_of(book, step, asked, before)
        before = step if step.runnable else before
    if back is not None:
        steps[-1]["next"] = back
    return steps


def _menu(book: Runbook, title: str, members: list[Step]) -> list[dict[str, Any]]:
    """A reference part ("Useful Commands") as a menu: pick a command, run it, come back to the menu."""
    menu_id = f"{slug(title) or 'part'}--menu-{members[0].line}"
    items = [step for step in members if step.runnable] or members
    steps: list[dict[str, Any]] = []
    for step in items:
        own = _steps_of(book, step, set())
        own[-1]["next"] = menu_id
        steps += own
    choices = [
        {
            "label": (f"{step.title}: " if step.title else "") + f"{_first_line(step)} (line {step.line})",
            "next": _first(book, step),
        }
        for step in items
    ]
    menu = {
        "kind": "ask",
        "id": menu_id,
        "title": f"{title}: pick a command",
        "question": f"{title}: which command? (type to filter)",
        "choices": [*choices, {"label": BACK, "next": SECTIONS}],
    }
    return [menu, *steps]


def _first_line(step: Step) -> str:
    line = next((x.strip() for x in step.command.split("\n") if x.strip()), "")
    return line if len(line) <= 60 else line[:59] + "…"


def _steps_of(book: Runbook, step: Step, asked: set[str], before: Step | None = None) -> list[dict[str, Any]]:
    """One runbook step as playbook steps: its parameters not yet `asked` (each an ask with capture; after a runnable
    step `before`, a pick from its output first, the ask only when there is nothing to pick), then the action; a
    display block is read and continued."""
    if not step.runnable:
        return [_read(step)]
    steps: list[dict[str, Any]] = []
    for param in step.params:
        if param.name not in asked and not param.secret:
            asked.add(param.name)
            ask_id = f"{step.id}--{param.name}"
            if before is not None:
                steps.append(_pick(step, param.name, ask_id, before))
            steps.append(
                {
                    "kind": "ask",
                    "id": ask_id,
                    "title": f"{_title(step)}: --{param.name}",
                    "question": f"Value for --{param.name} (replaces {' '.join(param.placeholders)})",
                    "capture": param.name,
                }
            )
    for index, pick in enumerate(steps):  # picked: past the ask that follows it, to the next parameter or the action
        if pick["kind"] == "pick":
            pick["on_pass"] = steps[index + 2]["id"] if index + 2 < len(steps) else step.id
    return [
        *steps,
        {
            "kind": "action",
            "id": step.id,
            "title": _title(step),
            "action": book.action_name(step),
            "params": {p.name: "{" + p.name + "}" for p in step.params if not p.secret},
        },
    ]


def _pick(step: Step, name: str, ask_id: str, before: Step) -> dict[str, Any]:
    """A value for --name picked from the output of the step before (the first word of a line), else asked."""
    return {
        "kind": "pick",
        "id": f"{ask_id}--pick",
        "title": f"{_title(step)}: --{name} from the output of line {before.line}",
        "name": name,
        "question": f"--{name}: pick it from the output of `{_first_line(before)}` (the first word of the line)",
        "output": r"^\s*(\S+)",
        "on_fail": ask_id,
    }


def _title(step: Step) -> str:
    where = (step.section or "top") + (f": {step.title}" if step.title else "")
    return f"{where} (line {step.line})"


def _read(step: Step) -> dict[str, Any]:
    why = f"Not run: {step.display_reason}" if step.display_reason else ""
    text = "\n".join(x for x in (step.description, why, step.command) if x)
    if len(text) > QUESTION_CHARS:
        text = text[: QUESTION_CHARS - 1] + "…"
    return {
        "kind": "ask",
        "id": step.id,
        "title": f"Read: {_title(step)}",
        "question": text,
        "choices": [{"label": CONTINUE}],
    }


def runbook_playbooks(config: Config, env: Mapping[str, str]) -> tuple[list[Playbook], list[str]]:
    """The playbook view of every configured runbook (`[[runbooks]]`), and one line per file that cannot be used."""
    books, problems = load_runbooks(config, env)
    playbooks: list[Playbook] = []
    for book in books:
        try:
            playbooks.append(as_playbook(book))
        except RunbookError as exc:
            problems.append(str(exc))
    return playbooks, problems


def reference_problems(playbooks: list[Playbook]) -> list[str]:
    """One line per action step naming a runbook step (`runbook:FILE:STEP`) that the runbooks' own playbooks do not
    have; a split block's id is answered with its parts (`triage check`)."""
    known = [
        s.action for p in playbooks if p.name.startswith(RUNBOOK_ACTION) for s in p.steps if isinstance(s, ActionStep)
    ]
    problems: list[str] = []
    for book in playbooks:
        for step in book.steps:
            if not isinstance(step, ActionStep) or not step.action.startswith(RUNBOOK_ACTION) or step.action in known:
                continue
            at = f"{book.origin}: playbook {book.name}: step {step.id}: {step.action}"
            parts = [a for a in known if a.startswith(step.action + ".")]
            runbook = step.action.rsplit(":", 1)[0] + ":"
            steps = [a.removeprefix(runbook) for a in known if a.startswith(runbook)]
            if parts:
                problems.append(f"{at} was split into {', '.join(parts)}: name one of them")
            elif steps:
                problems.append(f"{at}: no such step (runnable steps: {', '.join(steps)})")
            else:
                books = sorted({a.rsplit(":", 1)[0] for a in known}) or ["none configured"]
                problems.append(f"{at}: no such runbook with runnable steps (runbooks: {', '.join(books)})")
    return problems
