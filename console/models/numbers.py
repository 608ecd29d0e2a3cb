"""Numbers where the runbooks have them: JMESPath (or dotted) paths, strings with units, Prometheus vectors.

`compile_path` accepts today's dotted form (`errorRate`, `items.0.value`) and any JMESPath expression;
`read_number` finds the value at a path and converts it to the metric's unit, or says in words why not.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from console import outside_json

# The factor to a base unit, per dimension: seconds, bytes (KB = 1000, KiB = 1024), percent.
_SCALES: dict[str, tuple[str, float]] = {
    **{u: ("time", f) for u, f in (("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0))},
    **{u: ("time", f) for u, f in (("sec", 1.0), ("min", 60.0), ("h", 3600.0))},
    **{u: ("bytes", 1000.0**i) for i, u in enumerate(("B", "KB", "MB", "GB", "TB"))},
    **{u: ("bytes", 1024.0**i) for i, u in enumerate(("B", "KiB", "MiB", "GiB", "TiB")) if i},
    "kB": ("bytes", 1000.0),
    "%": ("percent", 1.0),
}
# "42ms", "1.5 s", "<50ms", "~ 3", "1.2GiB / 4GiB" (used / limit: the first quantity is read).
_QUANTITY = re.compile(
    r"\s*(?:[<>]=?|~|≤|≥)?\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d/][^\s/]*)?\s*(?:/.*)?", re.DOTALL
)
# Today's dotted form: keys (spaces allowed: "error rate.p95") and indexes between dots, none of JMESPath's syntax.
_DOTTED = re.compile(r"[^.\[\]|*@()&{}\"'`!?<>=,:\t\n\r]+(?:\.[^.\[\]|*@()&{}\"'`!?<>=,:\t\n\r]+)*")


def compile_path(path: str, what: str = "path") -> ParsedResult:
    """A JMESPath expression for `path`; the dotted form with numeric segments becomes `items[0].value`.

    Raises ValueError naming the problem (and `what` the text is: a path, a column) when JMESPath cannot parse it.
    """
    try:
        return _compile(path)
    except JMESPathError as exc:
        reason = str(exc).splitlines()[0].rstrip(":")
        raise ValueError(f"{what} {path!r} is not a JMESPath expression: {reason}") from None


@lru_cache(maxsize=4096)
def _compile(path: str) -> ParsedResult:
    if not _DOTTED.fullmatch(path):
        return jmespath.compile(path)
    return jmespath.compile(
        "".join(
            f"[{part}]" if part.lstrip("-").isdigit() else f'{"." if i else ""}"{part}"'
            for i, part in enumerate(path.split("."))
        )
    )


def unit_of(unit: str) -> tuple[str, float] | None:
    """(dimension, factor to the base unit) for a unit the console converts, else None."""
    return _SCALES.get(unit.strip())


def to_number(node: Any, unit: str = "") -> tuple[float | None, str]:
    """A JSON value as a number in `unit`: (value, "") or (None, why not).

    Numbers are taken as they are; a string is read with its unit and converted when both units are known and of
    one dimension; a Prometheus response, result list or sample yields its (first) sample's value.
    """
    node = _prometheus_value(node)
    if isinstance(node, bool) or node is None:
        return None, "not a number"
    if isinstance(node, int | float):
        return float(node), ""
    if not isinstance(node, str) or not (found := _QUANTITY.fullmatch(node)):
        return None, "not a number"
    value, written = float(found.group(1)), (found.group(2) or "")
    if not written or not unit or written == unit:
        return value, ""
    have, want = unit_of(written), unit_of(unit)
    if have is None or want is None or have[0] != want[0]:
        return None, f"{node!r} is in {written}, which does not convert to {unit}"
    return value * have[1] / want[1], ""


def magnitude(node: Any) -> float | None:
    """A value in its dimension's base unit ("2.4s" > "120ms"), to order a column; None when not a number."""
    value, _ = to_number(node)
    if value is None or not isinstance(node, str) or not (found := _QUANTITY.fullmatch(node)):
        return value
    scale = unit_of(found.group(2) or "")
    return value * scale[1] if scale else value


def read_number(document: Any, path: str | None, unit: str = "") -> tuple[float | None, str]:
    """The number at `path` (the whole document when None) in `unit`: (value, "") or (None, reason in words)."""
    where = f"at {path}" if path else "in the body"
    node = document if path is None else compile_path(path).search(document)
    value, problem = to_number(node, unit)
    if value is None:
        return None, f"no number {where}" if problem == "not a number" else f"{where}: {problem}"
    return value, ""


def _prometheus_value(node: Any) -> Any:
    """`{"data": {"result": [{"value": [ts, "0.5"]}]}}`, its result list or one sample -> "0.5"; else `node`."""
    if isinstance(node, dict) and isinstance(node.get("data"), dict) and "result" in node["data"]:
        node = node["data"]["result"]
    if isinstance(node, list) and node and isinstance(node[0], dict) and "value" in node[0]:
        node = node[0]
    if isinstance(node, dict) and isinstance(sample := node.get("value"), list) and len(sample) == 2:
        return sample[1]
    return node


def read_output(data: bytes, *, path: str | None, pattern: str | None, unit: str = "") -> tuple[float | None, str]:
    """The number in a response body or a command's stdout: by `pattern` (its one group), else from the JSON
    (one document, or JSON lines as a list, as `docker stats --format '{{json .}}'` prints) at `path`; with
    neither, the whole text may be a bare quantity (`42ms`)."""
    text = data.decode("utf-8", "replace")
    if pattern is not None:
        found = re.search(pattern, text)
        if found is None:
            return None, f"pattern {pattern!r} not found"
        value, problem = to_number(found.group(1), unit)
        return (value, "") if value is not None else (None, f"pattern matched {found.group(1)!r}: {problem}")
    document = parse_json_or_lines(text)
    if document is not None:
        return read_number(document, path, unit)
    bare = to_number(text, unit) if path is None else (None, "")
    return bare if bare[0] is not None else (None, bare[1] if "convert" in bare[1] else "not JSON")


def parse_json_or_lines(text: str) -> Any:
    """One JSON document, or a list of one per line (JSON lines); None when it is neither (or blank)."""
    try:
        return outside_json.loads(text)
    except ValueError:
        pass
    try:
        lines = [outside_json.loads(line) for line in text.split("\n") if line.strip()]
    except ValueError:
        return None
    return lines or None
