"""The channels' headless commands: `incident update --post CHANNEL...` (the post-update action, previewed per
audience, confirmed on the terminal or with `--yes`, run through the runner) and `incident outbox [--json] [--send]`
(what is waiting; `--send` delivers what is due, for a cron job or a systemd timer when no console is open).

Exit codes: 0 every channel delivered or queued (a channel that is down gets it later: the command says so), 1 some
failed for good or are of unknown outcome, 2 usage or config.

`incident outbox --json` prints a list of objects: seq (the message's journal seq), kind (`update.posted`,
`page.requested`), incident, channel, status (new, queued, sending, delivered, failed, unknown), attempts, retry_at,
reason, posted_at (times UTC ISO 8601, absent values null).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from console.channels.outbox import Item, Outbox
from console.commands import EXIT_FAIL, EXIT_OK, EXIT_USAGE, fail
from console.config import Config
from console.journal import Journal
from console.output import json_text, out
from console.redact import make_safe
from console.timeparse import iso


def post_update(args: argparse.Namespace, config: Config | None, journal: Journal, fields: dict[str, str]) -> int:
    """`incident update --post CHANNEL...`: the post-update action through the runner, as `run` runs any action."""
    from actions.registry import build_runner
    from console.commands.run import run_action

    if config is None or not config.channel:
        fail("update --post: the config has no [[channel]] to post to (docs/config.md#channel)")
        return EXIT_USAGE
    runner = build_runner(config, read_only=getattr(args, "read_only", False), journal=journal)
    action = argparse.Namespace(action="post-update", dry_run=False, yes=args.yes, confirm=None)
    params: dict[str, Any] = {"channels": [name for given in args.post for name in given.split(",") if name]}
    params |= {"fields": fields} | ({"kind": args.kind} if args.kind else {})
    return asyncio.run(run_action(config, action, params, runner=runner))


def outbox(args: argparse.Namespace, config: Config | None, journal: Journal) -> int:
    """`incident outbox`: every message still open (and this incident's settled ones); `--send` sends what is due."""
    box = Outbox(journal, config or Config())
    if args.send:
        if config is None or not config.channel:
            fail("outbox --send: the config has no [[channel]] to send to (docs/config.md#channel)")
            return EXIT_USAGE
        sent = asyncio.run(box.send_due())
        if sent is None:
            out(make_safe(f"not sending: {box.holder} holds the outbox and sends what is due"))
            return EXIT_OK
        for done in sent:
            item, attempt = done.item, done.attempt
            out(make_safe(f"#{item.seq} {_what(item)} to {item.channel}: {attempt.status}: {attempt.reason}"))
        if not sent:
            out("nothing was due")
        return EXIT_FAIL if any(done.attempt.status in ("failed", "unknown") for done in sent) else EXIT_OK
    box.catch_up()
    state_incident = _latest_incident(box)
    items = box.items(state_incident)
    if args.json:
        out(json_text([_fields(item) for item in items], indent=2))
        return EXIT_OK
    if not items:
        out("the outbox is empty: every message was delivered (or none was posted to a channel)")
    for item in items:
        out(make_safe(_line(item)))
    return EXIT_OK


def _latest_incident(box: Outbox) -> str | None:
    incidents = [m.get("incident") for _, m in sorted(box.seen.items()) if m.get("incident")]
    return incidents[-1] if incidents else None


def _what(item: Item) -> str:
    return "update" if item.kind == "update.posted" else "page"


def _line(item: Item) -> str:
    retry = f", next try {iso(item.retry_at)}" if item.retry_at and item.status == "queued" else ""
    tries = f" after {item.attempts} attempt{'s' if item.attempts != 1 else ''}" if item.attempts else ""
    reason = f": {item.reason}" if item.reason else ""
    where = f"#{item.seq} {item.incident or '(no incident)'} {_what(item)} to {item.channel}"
    return f"{where}: {item.status}{tries}{retry}{reason}"


def _fields(item: Item) -> dict[str, Any]:
    return {
        "seq": item.seq,
        "kind": item.kind,
        "incident": item.incident,
        "channel": item.channel,
        "status": item.status,
        "attempts": item.attempts,
        "retry_at": iso(item.retry_at) if item.retry_at else None,
        "reason": item.reason or None,
        "posted_at": iso(item.posted_at) if item.posted_at else None,
    }
