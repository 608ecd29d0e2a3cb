"""Risk inferred from a command's words, with the reason in words; a `risk=` attribute may raise it, never lower it.

SQL is judged by PostgreSQL's own parser (`console.runbooks.sql_risk`), never by these words.
"""

from __future__ import annotations

import re

from console.models import Risk
from console.runbooks.params import PLACEHOLDER, find_params, shell_regions, sql_text
from console.runbooks.session import sql_code


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


DESTRUCTIVE = _words(
    """delete drop truncate flush flushall flushdb kill pkill killall terminate rm rmdir restore rollback reset pause
    failover pg_terminate_backend pg_cancel_backend"""
)
READ_VERBS = _words("get describe list ls show status logs log top inspect cat version health info ps ping diff stats")
READ_TOOLS = _words(
    """cat ls grep egrep head tail less echo ps df du free uptime dig nslookup ping traceroute jq wc find date whoami
    hostname printenv which stat journalctl netstat ss lsof sort uniq awk watch true pwd [ [[ test printf"""
)
PREFIXES = _words("sudo env time nice nohup exec command do then else elif if while until ! { (")
FIND_ACTIONS = _words("-exec -execdir -ok -okdir -delete -fprint -fprintf -fls")
NEUTRAL = _words("export set unset cd sleep local true false fi done esac } )")
_MASK = "x"
ORDER = [Risk.READ, Risk.WRITE, Risk.DESTRUCTIVE]
_WORD = re.compile(r"(?<!\w)(" + "|".join(DESTRUCTIVE) + r"|--force)(?![\w-])", re.IGNORECASE)
_SPLIT = re.compile(r"\|\|?|&&|;|\n|\$\(|`|\)")
_WRITE_METHOD = re.compile(
    r"(?:^|\s)(?:-X\s*|--request[= ])(?!GET\b|HEAD\b)\S|(?:^|\s)(?:-d|--data\S*|-F|--form|-T|--upload-file)\b"
)
_REDIRECT = re.compile(r"(?<![0-9&])>>?\s*(?!&|/dev/null)\S")


def _code(text: str) -> str:
    """The text without shell comment lines (a `# delete old pods` note is not a command)."""
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))


def infer(text: str, *, sql: bool = False) -> tuple[Risk, str]:
    """(risk, reason) of a shell command or an SQL text."""
    if sql:
        return _sql(text)
    original = _code(text)
    # placeholders and continuations blanked at the same length, so a reason quotes the original text
    code = PLACEHOLDER.sub(lambda m: "X" * len(m.group()), original).replace("\\\n", "  ")
    found = _WORD.search(code)
    if found:
        return Risk.DESTRUCTIVE, f"destructive: contains `{found.group(1).lower()}`"
    masked = _mask(code)
    bounds = [0, *(i for m in _SPLIT.finditer(masked) for i in m.span()), len(code)]
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        simple = masked[start:end]
        if masked[start - 1 : start] in (")", "`") and not simple.replace(_MASK, "").strip():
            continue  # the rest of a quoted string after a `$(...)` in it
        words = [w for w in simple.split() if "=" not in w or w.startswith("-")]
        if words and words[0] in ("for", "case", "select"):
            continue  # the words that follow are values, not commands
        while words and words[0] in PREFIXES:
            words.pop(0)
        if not words or words[0] in NEUTRAL:
            continue
        shown = " ".join(original[start:end].replace("\\\n", " ").split())
        shown = shown if len(shown) <= 40 else shown[:39] + "…"
        if _REDIRECT.search(simple):
            return Risk.WRITE, f"write: `{shown}` writes to a file"
        if not _reads(words, simple):
            return Risk.WRITE, f"write: `{shown}` is not a known reading command"
    return Risk.READ, "read: only reading commands"


def _mask(code: str) -> str:
    """The code with every quoted character masked (same length), so `"a|b"` splits nothing."""
    regions = shell_regions(code)
    ends = [*regions.starts[1:], len(code)]
    return "".join(
        code[a:b] if kind == "plain" else _MASK * (b - a)
        for a, b, kind in zip(regions.starts, ends, regions.kinds, strict=True)
    )


def _reads(words: list[str], simple: str) -> bool:
    if words[0] in ("curl", "wget", "http"):
        return not _WRITE_METHOD.search(simple)
    if words[0] == "find":
        return not FIND_ACTIONS.intersection(words)
    return words[0] in READ_TOOLS or any(w.lower() in READ_VERBS for w in _positional(words[1:])[:2])


def _positional(words: list[str]) -> list[str]:
    """The words that are not options, nor the value of an option written apart (`-n NAMESPACE`)."""
    found: list[str] = []
    skip = False
    for word in words:
        if word.startswith("-"):
            skip = "=" not in word
        elif skip:
            skip = False
        else:
            found.append(word)
    return found


def _sql(text: str) -> tuple[Risk, str]:
    """An SQL step judged with each placeholder's own text as its value: a value is always a quoted literal, so no
    value can change the statements' shape (the plan judges the text again with the real values in place)."""
    from console.runbooks.sql_risk import judge_sql  # pglast is loaded when an SQL step is judged, not at start

    code = sql_code(text)
    params = find_params(code, {}, shell=False)
    return judge_sql(sql_text(code, params, {p.name: p.placeholders[0] for p in params}))


def raise_to(risk: Risk, reason: str, attribute: str | None) -> tuple[Risk, str]:
    """The inferred risk raised by the block's `risk=` attribute (an unknown or lower one changes nothing)."""
    try:
        wanted = Risk((attribute or "").strip().lower())
    except ValueError:
        return risk, reason
    if ORDER.index(wanted) > ORDER.index(risk):
        return wanted, f"{wanted.value}: raised by the block's risk attribute (inferred {reason})"
    return risk, reason
