"""Sharing the journal across hosts on a Redis stream (headless, asyncio; the `[share]` section of the config).

Every host mirrors its own journal to the stream; every console or wall with the same `[share]` follows it::

    mirror = start_mirror(config, journal)      # a JournalMirror running in a task of the running loop
    mirror.state                                # "mirroring", "redis down: …, retrying in 4s", "caught up 50 entries"
    await mirror.stop()

    async for batch in follow(config, exclude_host=socket.gethostname()):   # the events of one bounded read
        for event in batch:
            if isinstance(event, Remote):       # a verified entry: event.host, event.entry (a journal entry dict)
                ...
            else:                               # a Notice: event.kind ("refused", "gap", "chain", "replay", "skew",
                ...                             # "stream", "redis") and event.text, one line, never the key

The local journal stays the record: the mirror only reads it, so it never slows or blocks a write, and when Redis is
back it sends what the stream lacks (from the last seq the stream holds for this host), each entry once.
The follower passes on an entry only if its hash recomputes, with a `key` its HMAC (over the stream's name, the host,
the time it was mirrored and the entry) holds, it belongs to this environment and it reached the stream soon after
it was mirrored (not a copy), and it is not over 2 MiB (never read into memory when it is); refusals after the first
of a kind are summarised once a minute. Per writer host it checks the chain and says when seqs jump (trimmed or
deleted entries), a chain breaks or a clock is skewed.
Neither raises into its caller: both report and retry with backoff.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from console.config import Config, ShareSettings
from console.journal import Journal
from console.share.follower import Event, Notice, Remote, StreamFollower
from console.share.mirror import JournalMirror

__all__ = ["Event", "JournalMirror", "Notice", "Remote", "StreamFollower", "follow", "start_mirror"]


def _settings(config: Config) -> ShareSettings:
    if config.share is None:
        raise ValueError("the config has no [share] section")
    return config.share


def start_mirror(
    config: Config, journal: Journal, *, host: str | None = None, on_state: Callable[[str], None] | None = None
) -> JournalMirror:
    """Start mirroring ``journal`` (host id: ``host`` or the hostname); ``await mirror.stop()`` ends it."""
    return JournalMirror(_settings(config), journal, host=host, on_state=on_state).start()


def follow(config: Config, *, since: str = "0-0", exclude_host: str | None = None) -> AsyncIterator[list[Event]]:
    """The stream's verified entries and notices, a read at a time, from ``since`` (the start of the stream) on,
    forever; entries of another environment than the config's are refused.

    ``exclude_host`` leaves out one writer's entries (a console's own host: it has them in its journal).
    """
    settings = _settings(config)
    follower = StreamFollower(settings, since=since, exclude_host=exclude_host, environment=config.console.environment)
    return follower.batches()
