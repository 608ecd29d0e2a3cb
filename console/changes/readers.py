"""One read of a `[[changes]]` source: the git binary on a local clone, an HTTP JSON endpoint, a program printing
JSON. Each returns its changes or raises `ReadError` with the reason in words (never a traceback, never a secret:
the caller redacts). Every program runs without a shell, in its own process group, killed past its timeout."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console import outside_json
from console import proc as processes
from console.changes.mapping import MAX_TEXT, changes_from
from console.changes.model import Change
from console.config.changes import CommandChanges, GitChanges, HttpChanges
from console.http import HttpClient, fetch
from console.models import format_duration
from console.models.health import MAX_BODY, OVERSIZE
from console.redact import make_safe
from console.timeparse import parse_timestamp

MAX_COMMITS = 200
KILL_GRACE = 0.5
STDERR_TAIL = 4096
# git reads the clone and never writes to it: no optional locks (an index refresh), no prompt, no pager
GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C"}
_FIELD, _RECORD = "\x1f", "\x1e"


class ReadError(Exception):
    """A source that could not be read; str() is one line."""


@dataclass(frozen=True)
class Reader:
    """A source as the ledger reads it: its name, how often, within what, how far back its changes are journaled,
    and the read (its changes; ReadError with why it could not)."""

    name: str
    read: Callable[[], Awaitable[tuple[list[Change], str | None]]]  # its changes, and a problem in words
    interval: float = 60.0
    timeout: float = 10.0
    horizon: float = 86400.0


async def run(argv: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> bytes:
    """A program's stdout (at most MAX_BODY); ReadError when it cannot start, times out, exits non-zero or prints
    too much."""
    program = argv[0]
    try:
        proc = await processes.spawn(argv, cwd, merge_stderr=False, env=env)
    except OSError as exc:
        raise ReadError(f"cannot run {program}: {exc.strerror or exc}") from None
    try:
        async with asyncio.timeout(timeout):
            (stdout, over), (stderr, _) = await asyncio.gather(
                _read(proc.stdout, MAX_BODY), _read(proc.stderr, STDERR_TAIL, tail=True)
            )
            if over:
                raise ReadError(f"{program}: stdout {OVERSIZE}")
            code = await proc.wait()
    except TimeoutError:
        await processes.kill_group(proc, KILL_GRACE)
        raise ReadError(f"{program} timed out after {format_duration(timeout)}") from None
    finally:
        if proc.returncode is None:  # cancelled, or stopped reading past the cap: nothing outlives the read
            await processes.kill_group(proc, 0, signal.SIGKILL)
    if code != 0:
        last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        said = f": {make_safe(last[0])[:200]}" if last[0] else ""
        raise ReadError(f"{program} exited {code}{said}")
    return stdout


async def _read(pipe: asyncio.StreamReader | None, limit: int, *, tail: bool = False) -> tuple[bytes, bool]:
    assert pipe is not None  # spawn pipes stdout and stderr
    data = bytearray()
    over = False
    while chunk := await pipe.read(65536):
        data += chunk
        if len(data) > limit:
            over = True
            if not tail:
                break
            del data[:-limit]
    return bytes(data), over


def _json(data: bytes, what: str) -> Any:
    try:
        return outside_json.loads(data)
    except ValueError as exc:
        raise ReadError(f"{what} is not JSON: {make_safe(str(exc).splitlines()[0])[:120]}") from None


async def read_http(client: HttpClient, settings: HttpChanges) -> tuple[list[Change], str | None]:
    """GET (or as configured) the endpoint and map its JSON."""
    result = await fetch(client, settings.url, settings.timeout, **settings.request())
    if result.error is not None:
        raise ReadError(result.error)
    if result.status_code is None or not 200 <= result.status_code < 300:
        raise ReadError(f"HTTP {result.status_code}")
    if result.oversize:
        raise ReadError(OVERSIZE)
    return changes_from(_json(result.body, "the answer"), settings)


async def read_command(settings: CommandChanges, base_dir: Path) -> tuple[list[Change], str | None]:
    """Run the argv (a relative program path from the config's folder) and map the JSON it printed."""
    program = settings.command[0]
    argv = [str(base_dir / program) if "/" in program and not program.startswith("/") else program]
    stdout = await run([*argv, *settings.command[1:]], base_dir, settings.timeout, settings.env or None)
    return changes_from(_json(stdout, f"what {program} printed"), settings)


async def read_git(settings: GitChanges) -> tuple[list[Change], str | None]:
    """The last MAX_COMMITS commits of `ref` and the tags matching `tags` (deploys), read with `git`; a tagged
    commit is listed once, as its tag."""
    repo = settings.repo
    if not (repo / ".git").exists() and not (repo / "HEAD").is_file():
        raise ReadError(f"{repo} is not a git repository (repo: a local clone)")
    git = ["git", "--no-pager", "-C", str(repo)]
    fields = _FIELD.join(("%H", "%ct", "%an", "%ae", "%s")).replace(_FIELD, "%x1f") + "%x1e"
    log = await run(
        [*git, "log", "--no-color", f"-n{MAX_COMMITS}", f"--format={fields}", settings.ref, "--"],
        repo,
        settings.timeout,
        GIT_ENV,
    )
    tags: list[tuple[str, Change]] = []  # (the commit it points at, the tag as a change)
    if settings.tags is not None:
        tag_format = "%1f".join(
            (
                "%(refname:strip=2)",
                "%(creatordate:unix)",
                "%(if)%(*objectname)%(then)%(*objectname)%(else)%(objectname)%(end)",
                "%(if)%(taggeremail)%(then)%(taggeremail:trim)%(else)%(authoremail:trim)%(end)",
                "%(contents:subject)",
            )
        )
        listed = await run(
            [*git, "for-each-ref", f"--format={tag_format}%1e", f"refs/tags/{settings.tags}"],
            repo,
            settings.timeout,
            GIT_ENV,
        )
        tags = [pair for record in _records(listed) if (pair := _tag(record, settings)) is not None]
    tagged = {sha for sha, _ in tags}
    commits = [c for record in _records(log) if (c := _commit(record, settings)) is not None and c.id not in tagged]
    return [change for _, change in tags] + commits, None


def _records(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8", "replace")
    return [record.strip("\n").split(_FIELD) for record in text.split(_RECORD) if record.strip()]


def _commit(fields: list[str], settings: GitChanges) -> Change | None:
    if len(fields) != 5 or (time := parse_timestamp(_int(fields[1]))) is None:
        return None
    sha, _, name, email, subject = fields
    return Change(
        id=sha,
        source=settings.name,
        kind=settings.change_kind,
        time=time,
        service=settings.service,
        version=sha[:12],
        summary=subject[:MAX_TEXT],
        author=(email or name)[:MAX_TEXT] or None,
    )


def _tag(fields: list[str], settings: GitChanges) -> tuple[str, Change] | None:
    if len(fields) != 5 or (time := parse_timestamp(_int(fields[1]))) is None:
        return None
    name, _, sha, email, subject = fields
    return sha, Change(
        id=f"tag:{name}",
        source=settings.name,
        kind="deploy",
        time=time,
        service=settings.service,
        version=name[:MAX_TEXT],
        summary=subject[:MAX_TEXT],
        author=email.strip("<>")[:MAX_TEXT] or None,
    )


def _int(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None
