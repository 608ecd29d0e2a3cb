"""A runbook as a triage playbook, so the triage screen can guide it like any other.

Each runnable step becomes an `action` step naming the step's runbook action, its params `{name}` references to
answers; each parameter is first asked once (an `ask` step with `capture`), except a secret one: an answer is
journaled, so a secret is left to the action form, which asks for it without echo. A display block becomes an
`ask` step with one choice ("continue"): the text is shown and the operator moves on. The playbook's `when` is empty,
so it is never suggested; the operator picks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.config import Config
from console.runbooks.library import load_runbooks
from console.runbooks.model import Runbook, RunbookError, Step
from console.triage.playbook import Playbook
from console.triage.steps.action import RUNBOOK_ACTION, ActionStep

CONTINUE = "continue"
QUESTION_CHARS = 2000


def as_playbook(book: Runbook, *, when: str = "") -> Playbook:
    """The playbook view of a parsed runbook (RunbookError when it has no code block at all)."""
    if not book.steps:
        raise RunbookError(f"{book.path}: no code blocks: nothing to guide")
    steps: list[dict[str, Any]] = []
    asked: set[str] = set()
    for step in book.steps:
        if not step.runnable:
            steps.append(_read(step))
            continue
        for param in step.params:
            if param.name not in asked and not param.secret:
                asked.add(param.name)
                steps.append(
                    {
                        "kind": "ask",
                        "id": f"{step.id}--{param.name}",
                        "title": f"{_title(step)}: --{param.name}",
                        "question": f"Value for --{param.name} (replaces {' '.join(param.placeholders)})",
                        "capture": param.name,
                    }
                )
        steps.append(
            {
                "kind": "action",
                "id": step.id,
                "title": _title(step),
                "action": book.action_name(step),
                "params": {p.name: "{" + p.name + "}" for p in step.params if not p.secret},
            }
        )
    return Playbook.model_validate(
        {"name": f"runbook:{book.key}", "title": book.title, "when": when, "steps": steps, "origin": str(book.path)}
    )


def _title(step: Step) -> str:
    where = (step.section or "top") + (f": {step.title}" if step.title else "")
    return f"{where} (line {step.line})"


def _read(step: Step) -> dict[str, Any]:
    text = "\n".join(x for x in (step.description, step.command) if x)
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
