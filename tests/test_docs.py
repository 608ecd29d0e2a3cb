"""docs/config.md and `incident-console config schema` agree: the doc names every key the schema knows, in one section
per config section in the schema's order; its TOML examples (and the README's) use only keys the schema knows and
each loads as a config; every link into it reaches a heading."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from console.config import ConfigError, loads
from console.starter import config_schema

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "config.md"
README = ROOT / "README.md"
SCHEMA = config_schema()
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```$", re.S | re.M)
SECTION = re.compile(r"^## `\[\[?(\w+)")  # "## `[[health]]`" documents the section `health`
URLS = {
    "DATABASE_URL": "postgresql://ic@db.internal/app",
    "REDIS_URL": "redis://cache.internal:6379/0",
    **{
        f"{hook}_URL": f"https://hooks.example.com/{hook.lower()}"
        for hook in ("SLACK_WEBHOOK", "TEAMS_WEBHOOK", "HOOK")
    },
}


def schema_paths(node: dict[str, Any], path: str = "") -> Iterator[str]:
    """Every key the schema knows, by path: `console.refresh`, `health[].warn_ms`, `actions.*.params.*.secret`."""
    for shape in _shapes(node):
        if shape.get("type") == "array":
            yield from schema_paths(shape.get("items", {}), f"{path}[]")
        for key, sub in shape.get("properties", {}).items():
            yield f"{path}.{key}" if path else key
            yield from schema_paths(sub, f"{path}.{key}" if path else key)
        if isinstance(shape.get("additionalProperties"), dict):
            yield from schema_paths(shape["additionalProperties"], f"{path}.*")


def example_paths(value: Any, node: dict[str, Any], path: str, unknown: list[str]) -> Iterator[str]:
    """The schema paths a parsed TOML value uses; a key the schema does not know goes to `unknown`."""
    shapes = _shapes(node)
    if isinstance(value, list):
        for shape in shapes:
            if shape.get("type") == "array":
                for item in value:
                    yield from example_paths(item, shape.get("items", {}), f"{path}[]", unknown)
        return
    tables = [shape for shape in shapes if shape.get("type", "object") == "object"]
    if not isinstance(value, dict) or not tables:
        return
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        known = [s["properties"][key] for s in tables if key in s.get("properties", {})]
        named = [s["additionalProperties"] for s in tables if isinstance(s.get("additionalProperties"), dict)]
        if known:
            yield where
            yield from example_paths(item, known[0], where, unknown)
        elif named:  # a table of any names: `[actions.NAME]`, `params.NAME`
            yield from example_paths(item, named[0], f"{path}.*", unknown)
        elif not any(s.get("additionalProperties") is True for s in tables):  # `[[playbook]]` takes any key
            unknown.append(where)


def _shapes(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The schemas a node may take: its `$ref` followed, each branch of an `anyOf` or a `oneOf` (a table chosen by its
    `kind`, `[[channel]]`)."""
    if "$ref" in node:
        return _shapes(SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]])
    for union in ("anyOf", "oneOf"):
        if union in node:
            return [shape for branch in node[union] for shape in _shapes(branch)]
    return [node]


def toml_examples(text: str) -> Iterator[tuple[int, str]]:
    """Each ```toml block of a Markdown text with the line it starts on."""
    for match in FENCE.finditer(text):
        if match[1] == "toml":
            yield text.count("\n", 0, match.start()) + 1, match[2]


def used_and_wrong(file: Path) -> tuple[set[str], list[str]]:
    """The schema paths a Markdown file's TOML examples use, and what is wrong in them: a block that is not TOML,
    a key the schema does not know (each with the line its block starts on)."""
    used: set[str] = set()
    wrong: list[str] = []
    for line, block in toml_examples(file.read_text()):
        try:
            example = tomllib.loads(block)
        except tomllib.TOMLDecodeError as exc:
            wrong.append(f"{file.name} line {line}: not TOML: {exc}")
            continue
        unknown: list[str] = []
        used.update(example_paths(example, SCHEMA, "", unknown))
        wrong += [f"{file.name} line {line}: {path}" for path in unknown]
    return used, wrong


def sections(text: str) -> dict[str, str]:
    """The prose (code blocks left out) of each `## ` section that documents a config section, by its name."""
    found: dict[str, str] = {}
    for part in re.split(r"^(?=## )", FENCE.sub("", text), flags=re.M):
        if match := SECTION.match(part):
            found[match[1]] = part
    return found


def test_every_key_of_the_schema_is_in_the_doc() -> None:
    text = DOC.read_text()
    used, _ = used_and_wrong(DOC)
    named = {
        name: {word for span in re.findall(r"`([^`\n]+)`", prose) for word in re.findall(r"\w+", span)}
        for name, prose in sections(text).items()
    }
    missing = [
        path
        for path in dict.fromkeys(schema_paths(SCHEMA))
        if path not in used and re.findall(r"\w+", path)[-1] not in named.get(re.match(r"\w+", path)[0], set())
    ]
    assert not missing, f"{DOC.name} names none of these keys (in a TOML example or in backticks): {missing}"


def test_one_doc_section_per_config_section_in_the_schemas_order() -> None:
    order = list(SCHEMA["properties"])
    assert list(sections(DOC.read_text())) == order, f"one `## ` heading per section, in this order: {order}"


def test_the_examples_are_toml_with_only_keys_the_schema_knows() -> None:
    wrong = [problem for file in (DOC, README) for problem in used_and_wrong(file)[1]]
    assert not wrong, f"TOML examples that are not TOML or use keys the schema does not know: {wrong}"


def test_every_example_is_a_valid_config_on_its_own() -> None:
    """Values too: a crit on the wrong side of its warn, a bad duration or URL in an example fails here."""
    invalid = []
    for file in (DOC, README):
        for line, block in toml_examples(file.read_text()):
            environ = {name: URLS.get(name, "a-secret-of-20-chars") for name in re.findall(r"\$\{(\w+)\}", block)}
            try:
                loads(block, environ=environ)
            except ConfigError as exc:
                invalid.append(f"{file.name} line {line}: {exc}")
    assert not invalid, f"examples that are not a valid config: {invalid}"


def test_links_into_the_doc_reach_a_heading() -> None:
    anchors = {_anchor(heading) for heading in re.findall(r"^#+ (.+)$", FENCE.sub("", DOC.read_text()), re.M)}
    links = [f"README.md: docs/config.md#{a}" for a in re.findall(r"docs/config\.md#([\w-]+)", README.read_text())]
    links += [f"config.md: #{anchor}" for anchor in re.findall(r"\]\(#([\w-]+)\)", DOC.read_text())]
    broken = [link for link in links if link.rsplit("#", 1)[1] not in anchors]
    assert len(links) > 20 and not broken, f"links to no heading: {broken}"


def _anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_the_readme_says_how_every_builtin_action_is_confirmed() -> None:
    """The Safety section's table has a row for each built-in action: a new one lands with its confirmation rule."""
    from actions.alertmanager import alertmanager_actions
    from actions.postgres import postgres_actions
    from actions.redis import redis_actions

    text = README.read_text()
    table = text[text.index("| action | risk | confirmation") :].split("\n\n")[0]
    named = set(re.findall(r"`([a-z-]+)`", " ".join(line.split("|")[1] for line in table.splitlines()[2:])))
    assert {a.name for a in [*postgres_actions(), *redis_actions(), *alertmanager_actions()]} <= named
