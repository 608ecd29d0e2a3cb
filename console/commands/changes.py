"""`incident-console changes [--since D] [--json]`: the change ledger from one read of every source.

The suspects are ranked as on the screen: against the open incident's onset (from the journal), else against the
checks one poll finds failing (their onset is the poll, as nothing here saw them go bad earlier). It reads the
journal (the built-in sources' baselines, the journaled changes, the completed actions) and writes nothing. Exit 0
with no suspect, 1 with one, 2 on a usage or config error; a source that cannot be read is listed in `errors` and does
not change the exit code."""

from __future__ import annotations

from console.changes.model import FEED, ChangeLedger
from console.clock import Clock
from console.commands import EXIT_FAIL, EXIT_OK, EXIT_USAGE, fail
from console.commands.triage import seen_now
from console.config import Config
from console.output import json_text, out
from console.timeparse import iso, parse_moment

DEFAULT_SINCE = "24h"


async def changes_command(config: Config, since: str | None, *, as_json: bool) -> int:
    clock = Clock()
    try:
        start = parse_moment(since or DEFAULT_SINCE, clock.now(), future=False, what="changes: --since")
    except ValueError as exc:
        fail(f"{exc} (see incident-console changes --help)")
        return EXIT_USAGE
    if not config.changes:
        fail(f"{config.source}: no [[changes]] source is configured (docs/config.md, [[changes]])")
        return EXIT_USAGE
    ledger = (await seen_now(config, clock)).model(FEED)
    assert isinstance(ledger, ChangeLedger)  # read_once puts one there whenever [[changes]] is configured
    shown = tuple(c for c in ledger.changes if c.when >= start or ledger.suspect(c) is not None)
    ledger = ChangeLedger(shown, ledger.errors, ledger.onset, ledger.onset_words, ledger.suspects)
    if as_json:
        out(json_text(ledger.to_json()))
    else:
        _print(ledger, iso(start))
    return EXIT_FAIL if ledger.suspects else EXIT_OK


def _print(ledger: ChangeLedger, since: str) -> None:
    if ledger.onset is None:
        out("nothing is failing and no incident is open: no suspects")
    else:
        out(f"onset {iso(ledger.onset)} ({ledger.onset_words}); {len(ledger.suspects)} suspects")
    for change in ledger.changes:
        suspect = ledger.suspect(change)
        mark = f"#{suspect.rank} {suspect.score:.2f}" if suspect else ""
        when = iso(change.when) + ("" if change.live_known or change.live_at else " (made)")
        out(f"{mark:>10}  {when}  {change.kind:<9} {change.label}  [{change.source}]  {change.summary}".rstrip())
        if suspect is not None:
            out(f"{'':>10}  {suspect.reason}")
    if not ledger.changes:
        out(f"no change since {since}")
    for name, reason in ledger.errors:
        out(f"error: {name}: {reason}")
