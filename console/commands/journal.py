"""`journal verify|show|export|archive`: the chain and its anchors, the entries one per line, the post-mortem, the
entries before the last resolved incident moved to an archive."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from actions.registry import open_journal
from console.commands import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from console.commands import fail as _err
from console.config import Config
from console.file_trust import JOURNAL, read_problem
from console.incident.state import KINDS, describe
from console.journal import Journal, JournalError, default_journal_path
from console.journal.archive import ArchiveRefused, archive
from console.journal.verify import Anchor, anchor_text
from console.output import json_text, out
from console.redact import make_safe


def journal_command(args: argparse.Namespace, config: Config | None) -> int:
    """`journal verify|show|export|archive`: a journal that is missing, cannot be read or is no file is one line and
    exit 2, in the same words for all of them."""
    if args.journal:
        journal = Journal(Path(args.journal).expanduser())
    elif config is not None:
        journal = open_journal(config)
    else:
        journal = Journal(default_journal_path())
    if args.journal_command == "show" and (problem := _kind_problem(args.kind)):
        _err(problem)
        return EXIT_USAGE
    try:
        problem = read_problem(journal.path, JOURNAL)
    except FileNotFoundError:
        problem = (
            f"{journal.path}: no journal here (nothing has been journaled there yet; name one with --journal FILE "
            "or the config's [console] journal)"
        )
    if problem:
        _err(f"journal {problem}")
        return EXIT_USAGE
    try:
        if args.journal_command == "verify":
            return _verify(journal, args.anchor)
        if args.journal_command == "show":
            return _show(journal, args.kind, args.json)
        if args.journal_command == "archive":
            return _archive(journal)
        from console.postmortem.document import export, recorded

        return export(journal, fmt=args.format, incident=args.incident, recording=recorded(config))
    except JournalError as exc:
        _err(str(exc))
        return EXIT_USAGE


def _verify(journal: Journal, anchors: list[Anchor]) -> int:
    """Walk the chain, check each anchor, and say which guarantees that gives and which it cannot."""
    result = journal.verify(anchors)
    if result.ok:
        out(f"{journal.path}: ok, {result.count} entries, head {result.head}")
        out("  checked: chain intact: the file is self-consistent (every entry hashes to itself and its predecessor)")
        for name in result.archives:
            out(f"  checked: archive {make_safe(name)}: intact, and what follows it chains to its head")
    else:
        out(f"{journal.path}: BAD at seq {result.bad_seq}: {result.reason}")
    for check in result.anchors:
        out(f"  {'checked' if check.held else 'FAILED'}: anchor {check.anchor}: {check.detail}")
    if result.ok and not result.anchors:
        out(
            "  not checked: without an anchor, a rewrite that re-hashes the whole chain, or a cut tail, cannot be "
            "detected (pass --anchor SEQ:HASH, e.g. from a posted status update)"
        )
    elif result.anchored:
        latest = max(check.anchor.seq for check in result.anchors)
        out(f"  not checked: entries after seq {latest} (the latest anchor) may be rewritten and re-hashed, or cut")
    if result.anchored and result.head is not None:
        out(f"  {anchor_text(result.last_seq, result.head)} (keep it elsewhere to check this journal later)")
    return EXIT_OK if result.anchored else EXIT_FAIL


def _archive(journal: Journal) -> int:
    """`journal archive`: one line saying what moved where, or why nothing did (exit 2)."""
    try:
        done = archive(journal)
    except ArchiveRefused as exc:
        _err(str(exc))
        return EXIT_USAGE
    out(
        f"archived {done.entries} entries (seq {done.first}-{done.last}) to {done.path}; the journal goes on from seq "
        f"{done.last + 1}, and its entry #{done.entry['seq']} records the archive's head {done.head}"
    )
    return EXIT_OK


def _kind_problem(kind: str | None) -> str | None:
    """`--kind` that no journal kind starts with, in words with the kinds there are; None when it is one."""
    if kind is None or any(known.startswith(kind) for known in KINDS):
        return None
    families = sorted({k.split(".")[0] + (".*" if "." in k else "") for k in KINDS})
    return (
        f"journal show --kind {kind}: no journal kind starts with it; kinds: {', '.join(families)} (a kind "
        "matches every kind it starts: --kind action shows action.requested, action.completed...)"
    )


def _show(journal: Journal, kind: str | None, as_json: bool) -> int:
    for entry in journal.entries():
        if kind and not entry["kind"].startswith(kind):
            continue
        if not out(json_text(entry, sort_keys=True) if as_json else _shown(entry)):
            break  # the reader went away (`| head`): a quiet exit
    return EXIT_OK


def _shown(entry: dict) -> str:
    """One line per entry; everything taken from the entry is escaped (`make_safe`), a newline too."""
    when = datetime.fromisoformat(entry["ts"]).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    actor = entry.get("actor") or {}
    who = make_safe(f"{actor.get('user', '?')}@{actor.get('host', '?')}")
    return f"{entry['seq']:>6}  {when}  {make_safe(entry['kind']):<18}  {who}  {make_safe(describe(entry))}"
