"""`[keys]` and `[console] theme` judged without the TUI: every binding id the console defines, the key grammar, and
the theme names, so `check`, `status` and `run` refuse what the TUI would (tests/test_keys.py holds the TUI's
bindings and themes to these lists)."""

from __future__ import annotations

import itertools
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator

THEME_NAMES = ("incident-dark", "incident-light", "incident-mono")
# Every key a dashboard pane can take: the registry's rows with a pane, and the timeline, take the first ones in order
# (console.sources.base.PANE_KEYS), so a new row with a pane needs no new binding id here.
PANE_KEY_DIGITS = "123456789"
ThemeName = Literal["incident-dark", "incident-light", "incident-mono"]

BINDING_IDS = frozenset(
    {
        *("app.palette", "app.help", "app.quit", "app.interrupt", "app.quit_anywhere"),
        *("app.incident", "app.note", "app.triage", "app.page"),
        *(f"pane.{key}" for key in PANE_KEY_DIGITS),  # a pane's key that no pane takes yet does nothing, as a
        # key whose section is not configured does
        *("table.filter", "table.sort", "table.reverse", "table.mark", "table.copy"),
        *("timeline.kind", "timeline.pin", "alerts.silence", "redis.flush"),
        *("pg.cancel", "pg.terminate", "pg.kill_idle"),
        *("logs.follow", "logs.filter", "logs.next", "logs.prev", "logs.trace", "logs.copy", "logs.detail"),
        *("logs.up", "logs.down", "logs.page_up", "logs.page_down", "logs.top", "logs.bottom"),
        *("logs.left", "logs.right"),
        *("form.submit", "form.cancel", "action.confirm", "action.replan", "action.output", "action.close"),
        *("action.panel", "action.close_finished"),
        *("output.copy_all", "output.close", "follow.close", "detail.copy", "detail.close", "help.close"),
        *("pick.cancel", "prompt.cancel", "declare.cancel", "declare.submit", "update.cancel", "update.post"),
        *("pick.filter",),
        *("incident.back", "incident.declare", "incident.severity", "incident.status", "incident.note"),
        *("incident.decision", "incident.role", "incident.update", "incident.export"),
        *("triage.close", "triage.start", "triage.do", "triage.skip", "triage.previous", "triage.note"),
        *("triage.abandon", "triage.filter", "triage.choice_up", "triage.choice_down", "wall.help"),
        *("replay.sample_back", "replay.sample_forward", "replay.minute_back", "replay.minute_forward"),
        *("replay.entry_back", "replay.entry_forward", "replay.goto", "replay.play", "replay.speed"),
        *("dashboard.chart", "chart.close", "chart.range", "chart.zoom_in", "chart.zoom_out", "chart.earlier"),
        *("chart.later", "chart.latest"),
    }
)

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
NAMED_KEYS = frozenset(
    {
        *("escape", "enter", "tab", "space", "backspace", "delete", "insert", "home", "end", "pageup", "pagedown"),
        *("up", "down", "left", "right"),
        *(f"f{n}" for n in range(1, 25)),
    }
)
# Textual's short names for characters whose Unicode names are long (its keys.KEY_NAME_REPLACEMENTS)
SHORT_NAMES = frozenset({"slash", "backslash", "at", "minus", "plus", "underscore"})


def key_problem(key: str) -> str | None:
    """Why `key` (one key: `ctrl+p`, `question_mark`, `K`) is no key the terminal can send, or None."""
    *modifiers, base = key.split("+")
    unknown = [m for m in modifiers if m not in MODIFIERS]
    if unknown:
        return f"{unknown[0]!r} is not a modifier ({', '.join(MODIFIERS)}); write the + key as plus"
    if len(base) == 1 and base.isprintable() and not base.isspace():
        return None
    if base in NAMED_KEYS or base in SHORT_NAMES or _character_name(base):
        return None
    if not base:
        return "a key is missing after the last +; write the + key as plus"
    return (
        f"{base!r} is not a key: use a character (K, ?), a name such as escape, enter, space, f5, pageup, "
        "question_mark or colon"
    )


def _character_name(name: str) -> bool:
    """`question_mark`, `colon`, `less_than_sign`: the Unicode name of one printable character, as Textual names keys
    (its spaces and hyphens both made `_`: each `_` is tried as either)."""
    words = name.upper().split("_")
    if len(words) > 6:  # no printable character's name has more words than a key would need
        return False
    for joins in itertools.product(" -", repeat=len(words) - 1):
        spelled = words[0] + "".join(join + word for join, word in zip(joins, words[1:], strict=True))
        try:
            return unicodedata.lookup(spelled).isprintable()
        except KeyError:
            continue
    return False


def _known_id(binding_id: str) -> str:
    if binding_id not in BINDING_IDS:
        raise ValueError(
            "no binding has this id (run the console and press ? for every binding and its id, "
            "or see the README's Keys table)"
        )
    return binding_id


def _keys(keys: str) -> str:
    """A comma-separated list of keys (`ctrl+p,colon`), each one the terminal can send."""
    for key in (k.strip() for k in keys.split(",")):
        if problem := ("no key given (write the , key as comma)" if not key else key_problem(key)):
            raise ValueError(f"{keys!r}: {problem}")
    return keys


BindingId = Annotated[str, AfterValidator(_known_id)]
KeyList = Annotated[str, AfterValidator(_keys)]
