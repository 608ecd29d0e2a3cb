"""The configured runbooks: `[[runbooks]] path = "..."` (files or folders of `*.md`, relative to the config file)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from console.config import Config
from console.file_trust import RUNBOOK, UntrustedFile, check_folder
from console.runbooks.model import Runbook, RunbookError, load_runbook

SUFFIXES = (".md", ".markdown")


def runbook_files(config: Config) -> tuple[list[Path], list[str]]:
    """Every configured runbook file (a folder's files in name order, subfolders too), and one line per problem (a
    folder others could change is left out whole: `console.file_trust`)."""
    files: list[Path] = []
    problems: list[str] = []
    for source in config.runbooks:
        path = (config.base_dir / source.path).expanduser()
        if path.is_dir():
            try:
                check_folder(path, RUNBOOK)
            except UntrustedFile as exc:
                problems.append(f"{exc} (left out until fixed)")
                continue
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"runbooks: {path} is neither a file nor a folder")
    return files, problems


def load_runbooks(config: Config, env: Mapping[str, str]) -> tuple[list[Runbook], list[str]]:
    """Every configured runbook, parsed, each with a unique key; a file that cannot be used is a problem line."""
    files, problems = runbook_files(config)
    books: list[Runbook] = []
    keys: set[str] = set()
    for file in files:
        try:
            book = load_runbook(file, env)
        except RunbookError as exc:
            problems.append(f"{exc} (left out until fixed)")
            continue
        base, n = book.key, 1
        while book.key in keys:
            n += 1
            book.key = f"{base}-{n}"
        keys.add(book.key)
        books.append(book)
        problems += book.warnings
    return books, problems
