"""JournalMirror: every entry of the local journal, XADDed once to the shared stream, whatever Redis does meanwhile."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from console.config import ShareSettings
from console.journal import Journal, JournalError
from console.journal.cursor import JournalCursor
from console.journal.horizon import at_seq, last_lines
from console.journal.sidelock import take_side_lock
from console.models import format_duration
from console.share.codec import Refused, decode, encode
from console.sources.redis import describe_target, explain, open_client, raise_if_cancelled, url_redactor

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.typing import EncodableT, FieldT

BATCH = 500  # XADDs per pipeline round trip
SCAN_PAGE = 500  # entries per XREVRANGE while looking for this host's last mirrored entry


class Conflict(Exception):
    """The stream's last entry for this host id is not an entry of this journal."""


class Restarted(Exception):
    """Redis is not the server the mirror caught up with (its ``run_id`` changed): what it held may be gone."""


class JournalMirror:
    """Follows the local journal and XADDs each new entry to the stream, capped with ``MAXLEN ~ maxlen``.

    The journal is only read, so it keeps working while Redis is down. One mirror per journal runs at a time (the
    others on the host wait as a standby). On every (re)connect the mirror reads the stream's tail for the last seq
    this host mirrored and sends what follows it, so nothing is lost or sent twice.
    It never raises: ``state`` says what it is doing and ``on_state`` hears every change.
    """

    def __init__(
        self,
        settings: ShareSettings,
        journal: Journal,
        *,
        host: str | None = None,
        timeout: float = 2.0,
        poll: float = 0.2,
        backoff_max: float = 5.0,
        on_state: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.host = host or socket.gethostname()
        self.timeout = timeout
        self.poll = poll
        self.backoff_max = backoff_max
        self.state = "starting"
        self.last_seq = 0  # the last seq known to be in the stream for this host
        self.sent = 0  # entries XADDed by this mirror
        self._on_state = on_state
        self._clock = clock
        self._redact = url_redactor(settings.redis_url).text
        self._target = f"{describe_target(settings.redis_url)} {settings.stream}"
        self._run_id: str | None = None  # the server this mirror caught up with
        self._task: asyncio.Task[None] | None = None
        self._lock_fd: int | None = None

    def start(self) -> JournalMirror:
        """Run in a task of the running loop; returns self (``await stop()`` ends it)."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"share mirror {self._target}")
        return self

    async def stop(self) -> None:
        """Cancel the task and wait for it (and its client) to close."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def run(self) -> None:
        """Mirror until cancelled: connect, catch up, then send what is appended; on errors back off and resync."""
        delay = 1.0
        client: Redis | None = None
        try:
            while True:
                try:
                    if not await asyncio.to_thread(self._take_lock):
                        self._report("standby: another process on this host mirrors this journal")
                        await asyncio.sleep(self.backoff_max)
                        continue
                    client = open_client(self.settings.redis_url, self.timeout)
                    cursor = await self._catch_up(client)
                    delay = 1.0
                    while True:
                        entries, restarted = await asyncio.to_thread(cursor.read)
                        if restarted:  # the journal was replaced: find where the stream stands again
                            break
                        if entries:
                            await self._send(client, entries)
                            self._report("mirroring")
                        await asyncio.sleep(self.poll)
                except Restarted:  # the new server may hold nothing of ours: catch up with it at once
                    self._report("redis restarted: catching up")
                    await asyncio.sleep(self.poll)
                except Exception as exc:  # Redis, the network or the journal: report, back off, resync
                    raise_if_cancelled()
                    self._report(f"{self._why(exc)}, retrying in {format_duration(delay)}")
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.backoff_max)
                finally:
                    if client is not None:
                        await close_quietly(client)
                        client = None
        except asyncio.CancelledError:
            self._report("stopped")
            raise
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # releases the lock: a standby mirror takes over
                self._lock_fd = None

    def _take_lock(self) -> bool:
        """Whether this mirror holds the journal's mirror lock (``<journal>.mirror-lock``): one mirror per journal."""
        if self._lock_fd is not None:
            return True
        self._lock_fd = take_side_lock(self.journal.path, ".mirror-lock")
        return self._lock_fd is not None

    async def _catch_up(self, client: Redis) -> JournalCursor:
        """Send every journal entry after the last one the stream holds for this host (read from that entry on, never
        the whole journal; with none, the last `maxlen`, all the stream keeps); return the cursor after them."""
        async with asyncio.timeout(self.timeout):
            self._run_id = run_id(await client.info("server"))
        last = await self._last_mirrored(client)
        cursor = JournalCursor(self.journal, at_seq(last[0]) if last else last_lines(self.settings.maxlen))
        entries, _ = await asyncio.to_thread(cursor.read)
        if last is not None:
            seq, digest = last
            local = next((e for e in entries if e.get("seq") == seq), None)
            chained = entries and entries[0]["seq"] == seq + 1 and entries[0].get("prev") == digest  # archived since
            if not chained and (local is None or local.get("hash") != digest):
                raise Conflict(
                    f"the stream's seq {seq} for host {self.host!r} is not in this journal "
                    "(another journal with the same host id?)"
                )
        self.last_seq = last[0] if last else 0
        backlog = [e for e in entries if e["seq"] > self.last_seq]
        await self._send(client, backlog)
        self._report(f"caught up {len(backlog)} entr{'y' if len(backlog) == 1 else 'ies'}" if backlog else "mirroring")
        return cursor

    async def _last_mirrored(self, client: Redis) -> tuple[int, str] | None:
        """(seq, hash) of the newest stream entry from this host (a valid one, when keyed); None if there is none."""
        high = "+"
        while True:
            async with asyncio.timeout(self.timeout):
                reply = await client.xrevrange(self.settings.stream, high, "-", count=SCAN_PAGE)
            # redis-py types one reply for both decode modes (str or bytes) and as maybe absent: this client does
            # not decode, and XREVRANGE always answers a list of (id, fields)
            page = cast(list[tuple[bytes, dict[bytes, bytes]]], reply)
            for _, raw in page:
                if raw.get(b"host") != self.host.encode():
                    continue
                try:
                    found = decode(raw, self.settings.key, self.settings.stream)
                except Refused:
                    continue  # a forged entry claiming this host does not move the resume point
                return found.seq, found.hash
            if len(page) < SCAN_PAGE:
                return None
            high = "(" + page[-1][0].decode()

    async def _send(self, client: Redis, entries: list[dict[str, Any]]) -> None:
        """XADD ``entries`` in pipelined batches; ``last_seq`` advances only with what Redis acknowledged."""
        settings = self.settings
        for start in range(0, len(entries), BATCH):
            batch = [e for e in entries[start : start + BATCH] if e["seq"] > self.last_seq]
            if not batch:
                continue
            sent_ms = int(self._clock() * 1000)
            pipe = client.pipeline(transaction=False)
            pipe.info("server")  # first on the same connection: the server the XADDs below reach
            for entry in batch:
                encoded = encode(entry, self.host, settings.key, sent_ms, settings.stream)
                fields: dict[FieldT, EncodableT] = {k: v for k, v in encoded.items()}  # xadd's dict is invariant
                pipe.xadd(settings.stream, fields, maxlen=settings.maxlen, approximate=True)
            async with asyncio.timeout(self.timeout + len(batch) / 1000):
                info, *ids = await pipe.execute()
            if run_id(info) != self._run_id:
                async with asyncio.timeout(self.timeout):
                    await client.xdel(settings.stream, *ids)  # out of order on the new server: resent in order
                raise Restarted
            self.last_seq = batch[-1]["seq"]
            self.sent += len(batch)

    def _why(self, exc: Exception) -> str:
        if isinstance(exc, Conflict):
            return f"not mirroring: {exc}"
        if isinstance(exc, JournalError):
            return f"journal unreadable: {exc}"
        return self._redact(f"redis down: {self._target}: {explain(exc, self.timeout)}")

    def _report(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        if self._on_state is not None:
            self._on_state(state)


def run_id(info: dict[str, Any]) -> str | None:
    """The server's ``run_id`` from ``INFO server`` (a new one at every start); None where a proxy hides it."""
    value = info.get("run_id")
    return str(value) if value is not None else None


async def close_quietly(client: Redis) -> None:
    """Close a client within a second, whatever state its server is in."""
    try:
        await asyncio.wait_for(client.aclose(), 1.0)
    except Exception:  # closing a client whose server is gone: nothing left to do
        pass
