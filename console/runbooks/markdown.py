"""Markdown into sections and code blocks (markdown-it-py, CommonMark): front matter, fences, attributes.

Front matter (`---` ... `---` at the very top) is skipped, its `title:` kept, with no YAML parser. A fence's info
string gives the language and Runme-style attributes, `{ name=restart-api }` or `{"name": "restart-api"}`.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark").disable("inline")  # headings and paragraphs are read as plain text
_FRONT_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """One code block: where it is (1-based line of its opening fence), its language, attributes and text."""

    section: str
    line: int
    language: str
    attrs: dict[str, str]
    text: str
    description: str = ""
    fenced: bool = True
    closed: bool = True
    outline: tuple[str, ...] = ()  # the H2 and H3 headings it is under (the parts of the runbook triage offers)


@dataclass
class Document:
    """What the markdown holds: its title (or "" when it has none) and its code blocks in order."""

    title: str
    blocks: list[Block] = field(default_factory=list)


def front_matter(text: str) -> tuple[str, int, str]:
    """(the text after the front matter, how many lines it took, its title or "")."""
    if not text.startswith("---\n"):
        return text, 0, ""
    end = _FRONT_END.search(text, 4)
    if end is None:
        return text, 0, ""
    head = text[4 : end.start()]
    rest = text[end.end() + 1 :] if end.end() < len(text) else ""
    title = _TITLE.search(head)
    return rest, head.count("\n") + 2, _unquote(title.group(1)) if title else ""


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def info_string(info: str) -> tuple[str, dict[str, str]]:
    """The language and the attributes of a fence's info string; unreadable attributes are ignored."""
    info = info.strip()
    brace = info.find("{")
    head, attrs_text = (info[:brace], info[brace:]) if brace >= 0 else (info, "")
    words = head.split()
    language = words[0].lower() if words else ""
    return language, _attributes(attrs_text.strip())


def _attributes(text: str) -> dict[str, str]:
    if not text.startswith("{"):
        return {}
    try:
        data = json.loads(text)
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except ValueError:
        pass
    try:
        words = shlex.split(text.strip("{} \t"))
    except ValueError:
        return {}
    return {k.strip(): v for k, eq, v in (w.partition("=") for w in words) if eq and k.strip()}


def parse_markdown(text: str) -> Document:
    """Sections and blocks of a markdown text already normalised to `\\n` line ends."""
    body, offset, title = front_matter(text)
    tokens = _MD.parse(body)
    lines = body.split("\n")
    doc = Document(title=title)
    section, paragraph = "", ""
    headings: dict[int, str] = {}  # level -> the heading in effect
    for index, token in enumerate(tokens):
        if token.type == "inline" and index and tokens[index - 1].type == "heading_open":
            section, paragraph = " ".join(token.content.split()), ""
            level = int(tokens[index - 1].tag[1])
            headings = {n: title for n, title in headings.items() if n < level} | {level: section}
            if not doc.title and level == 1:
                doc.title = section
        elif token.type == "inline" and index and tokens[index - 1].type == "paragraph_open":
            paragraph = " ".join(token.content.split())
        elif token.type in ("fence", "code_block") and token.map:
            fenced = token.type == "fence"
            language, attrs = info_string(token.info) if fenced else ("", {})
            closed = not fenced or _closed(lines, token.map, token.markup)
            doc.blocks.append(
                Block(
                    section=section,
                    line=token.map[0] + 1 + offset,
                    language=language,
                    attrs=attrs,
                    text=token.content.removesuffix("\n"),
                    description=paragraph,
                    fenced=fenced,
                    closed=closed,
                    outline=tuple(headings[n] for n in (2, 3) if n in headings),
                )
            )
            paragraph = ""
    return doc


def _closed(lines: list[str], span: list[int], markup: str) -> bool:
    """Whether the fence spanning these line indexes ends with a closing fence of its kind, at least as long."""
    start, end = span
    last = lines[end - 1].strip() if start < end - 1 < len(lines) else ""
    if not last:
        return False
    stripped = last.lstrip(markup[0])
    return not stripped.strip() and len(last) - len(stripped) >= len(markup)
