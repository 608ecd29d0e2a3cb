"""The demo's PostgreSQL workload: slow statements, idle connections piling up, and one lock chain.

Everything it opens is tracked and closed by stop(); the console's own actions (kill-idle, terminate,
cancel-query) may cut any of its connections at any time, and the workload carries on without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)

SETUP_SQL = """
CREATE SCHEMA IF NOT EXISTS demo;
DROP TABLE IF EXISTS demo.orders, demo.accounts;
CREATE TABLE demo.orders (id serial PRIMARY KEY, customer int, total numeric(10, 2), note text);
INSERT INTO demo.orders (customer, total, note)
     SELECT g % 500, (g % 997) * 1.25, md5(g::text) FROM generate_series(1, 50000) AS g;
CREATE TABLE demo.accounts (id int PRIMARY KEY, balance numeric(12, 2) NOT NULL DEFAULT 0);
INSERT INTO demo.accounts (id) SELECT generate_series(1, 10);
ANALYZE demo.orders, demo.accounts;
"""
SLOW_STATEMENTS = (
    "SELECT customer, sum(total) FROM demo.orders GROUP BY customer ORDER BY 2 DESC LIMIT 5",
    "SELECT pg_sleep(0.3), count(*) FROM demo.orders WHERE note LIKE '%ab%'",
    "SELECT o.customer, count(*) FROM demo.orders o JOIN demo.orders p ON p.customer = o.customer "
    "WHERE o.id < 300 GROUP BY o.customer",
)
LOCK_SQL = "UPDATE demo.accounts SET balance = balance + 1 WHERE id = 1"
CONNECT_TIMEOUT = 5.0


class PgWorkload:
    """Runs against `dsn`: a slow-query loop, a growing pile of idle sessions, one blocker with two waiters."""

    def __init__(self, dsn: str, *, idle_every: float = 4.0, idle_max: int = 30, slow_every: float = 2.0) -> None:
        self.dsn = dsn
        self.idle_every = idle_every
        self.idle_max = idle_max
        self.slow_every = slow_every
        self._conns: list[Any] = []
        self._tasks: list[asyncio.Task] = []
        self._holder: Any = None

    async def start(self, *, locks: bool = True) -> None:
        """Create the demo schema and start the loops; the lock chain now, or (`locks=False`) when `lock_chain()` is
        called: the demo starts it with its incident, so the minute before has no WARN (the incident's onset)."""
        conn = await self._connect("demo-setup")
        try:
            await conn.execute(SETUP_SQL)
        finally:
            await self._close(conn)
        self._tasks = [
            asyncio.create_task(self._slow_loop(), name="pg-workload-slow"),
            asyncio.create_task(self._idle_pile(), name="pg-workload-idle"),
        ]
        if locks:
            self.lock_chain()

    def lock_chain(self) -> None:
        """Start the blocker and its two waiters, once (on the running loop)."""
        if not any(task.get_name() == "pg-workload-locks" for task in self._tasks):
            self._tasks.append(asyncio.create_task(self._lock_chain(), name="pg-workload-locks"))

    async def stop(self) -> None:
        """Cancel the loops and close every connection it opened (the lock holder first)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._holder is not None:  # releases the waiters, so they end instead of waiting on a lock
            await self._close(self._holder)
            self._holder = None
        await asyncio.gather(*(self._close(conn) for conn in list(self._conns)))

    async def _connect(self, application: str) -> Any:
        import asyncpg

        conn = await asyncpg.connect(
            self.dsn, timeout=CONNECT_TIMEOUT, server_settings={"application_name": application}
        )
        self._conns.append(conn)
        return conn

    async def _close(self, conn: Any) -> None:
        if conn in self._conns:
            self._conns.remove(conn)
        try:
            await asyncio.wait_for(conn.close(), 1.0)
        except Exception:  # busy, blocked or already cut: drop the socket
            conn.terminate()

    async def _slow_loop(self) -> None:
        conn = None
        while True:
            try:
                if conn is None or conn.is_closed():
                    conn = await self._connect("demo-api")
                for sql in SLOW_STATEMENTS:
                    await conn.execute(sql)
            except Exception as exc:  # cut by the console (or the server went away): reconnect later
                log.debug("demo slow loop: %s", exc)
                if conn is not None:
                    await self._close(conn)
                conn = None
            await asyncio.sleep(self.slow_every)

    async def _idle_pile(self) -> None:
        pile: list[Any] = []
        while True:
            pile = [c for c in pile if not c.is_closed()]
            if len(pile) < self.idle_max:
                try:
                    conn = await self._connect("demo-worker")
                    await conn.fetchval("SELECT total FROM demo.orders WHERE id = $1", len(pile) + 1)
                    pile.append(conn)
                except Exception as exc:
                    log.debug("demo idle pile: %s", exc)
            await asyncio.sleep(self.idle_every)

    async def _lock_chain(self) -> None:
        self._holder = holder = await self._connect("demo-billing")
        await holder.execute(f"BEGIN; {LOCK_SQL}")
        waiters = [await self._connect("demo-billing") for _ in range(2)]
        results = await asyncio.gather(*(w.execute(LOCK_SQL) for w in waiters), return_exceptions=True)
        log.debug("demo lock chain released: %s", results)
