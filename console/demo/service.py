"""The demo's loopback HTTP service: health and metric endpoints that play an incident, and a rollback that ends it.

Timeline (seconds since start): `normal` (running v1.2.2) until `incident_after`, when v1.2.3 is deployed, then
`degrading` for `ramp` seconds while latency, error rate and p95 climb and the cache hit rate falls, then `incident`
(GET /api/health answers 503). POST /admin/rollback?version=V deploys V and brings every value back to normal over
`recovery` seconds, after which the phase is `recovered`. GET /admin/state tells the phase, GET /api/releases the
release history (current, previous, every deploy oldest first).
"""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from console.clock import Clock

log = logging.getLogger(__name__)

BAD_VERSION = "v1.2.3"
GOOD_VERSION = "v1.2.2"
# releases deployed before the service started: (version, days before the start)
EARLIER_RELEASES = (("v1.2.1", 9.0), (GOOD_VERSION, 2.0))
_VERSION = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
# (normal, peak) of every value the incident moves
ERROR_RATE = (0.08, 5.0)
P95_MS = (180.0, 2500.0)
HIT_RATE = (97.0, 60.0)
HEALTH_MS = (8.0, 1150.0)
DB_MS = (4.0, 420.0)
CACHE_MS = (2.0, 150.0)
DEGRADED_AT, FAILING_AT = 0.5, 0.95
TICK = 0.2


class DemoService:
    """A ThreadingHTTPServer on 127.0.0.1 in a daemon thread; `on_phase(callback)` hears every phase change.

    Callbacks run on a service thread with the new phase name: hop to your event loop with
    `loop.call_soon_threadsafe` before touching it. Pass `seed` for repeatable jitter.
    """

    def __init__(
        self,
        port: int = 0,
        incident_after: float = 60.0,
        clock: Clock | None = None,
        *,
        ramp: float = 20.0,
        recovery: float = 3.0,
        seed: int | None = None,
    ) -> None:
        self.incident_after, self.ramp, self.recovery = incident_after, ramp, recovery
        self.clock = clock or Clock()
        self.started_at: datetime | None = None
        self._deploys: list[tuple[str, datetime]] = []  # every deploy done, oldest first (not the scheduled one)
        self._bad_deploy_pending = True  # v1.2.3 goes out at incident_after unless a rollback came first
        self.rollback_at: datetime | None = None
        self._severity_at_rollback = 0.0
        self._phase_at_rollback = "normal"
        self._port = port
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[str], object]] = []
        self._phase = "normal"
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # lifecycle

    def start(self) -> None:
        """Bind the port (0: a free one), start serving and the phase ticker."""
        if self._httpd is not None:
            return
        self._stopping.clear()
        self.started_at = now = self.clock.now()
        self._deploys = [(version, now - timedelta(days=days)) for version, days in EARLIER_RELEASES]
        self._bad_deploy_pending = True
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), _handler(self))
        self._threads = [
            threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="demo-http", daemon=True
            ),
            threading.Thread(target=self._tick, name="demo-phase", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop serving, drop open keep-alive connections, release the port. Idempotent."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=5)
        self._httpd, self._threads = None, []

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("DemoService is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:40123 (endpoints are under /api and /admin)."""
        return f"http://127.0.0.1:{self.port}"

    # the incident

    def on_phase(self, callback: Callable[[str], object]) -> None:
        """Call `callback(phase)` on every phase change (normal, degrading, incident, recovered)."""
        with self._lock:
            self._callbacks.append(callback)

    @property
    def phase(self) -> str:
        self._refresh_phase()
        return self._phase

    def severity(self) -> float:
        """How bad things are now: 0.0 normal .. 1.0 the peak of the incident."""
        with self._lock:
            return self._severity_locked(self._elapsed())

    @property
    def version(self) -> str:
        """The release running now."""
        with self._lock:
            return self._history_locked(self._elapsed())[-1][0]

    def releases(self) -> dict[str, Any]:
        """What GET /api/releases answers: the current and previous release and every deploy, oldest first."""
        with self._lock:
            history = self._history_locked(self._elapsed())
        current = history[-1][0]
        previous = next((version for version, _ in reversed(history) if version != current), None)
        deploys = [{"version": version, "deployed_at": _iso(at)} for version, at in history]
        return {"current": current, "previous": previous, "releases": deploys}

    def rollback(self, version: str) -> dict[str, Any]:
        """Deploy `version`; values return to normal over `recovery` seconds, then the phase is recovered."""
        with self._lock:
            elapsed = self._elapsed()
            self._deploys = self._history_locked(elapsed)
            self._bad_deploy_pending = False
            previous = self._deploys[-1][0]
            if self.rollback_at is None:
                self._severity_at_rollback = self._severity_locked(elapsed)
                self._phase_at_rollback = self._phase_locked(elapsed)
                self.rollback_at = self.clock.now()
            self._deploys.append((version, self.clock.now()))
        return {"ok": True, "from": previous, "version": version, "phase": self.phase, "recover_in": self.recovery}

    def state(self) -> dict[str, Any]:
        """What GET /admin/state answers."""
        phase = self.phase
        return {
            "phase": phase,
            "version": self.version,
            "started_at": _iso(self.started_at),
            "incident_after": self.incident_after,
            "rollback_at": _iso(self.rollback_at),
            "rolling_back": self.rollback_at is not None and phase != "recovered",
            "severity": round(self.severity(), 3),
        }

    def readings(self) -> dict[str, float]:
        """Every value the endpoints serve right now, with a little jitter."""
        s = self.severity()
        with self._lock:
            jitter = [1 + self._random.uniform(-0.03, 0.03) for _ in range(6)]
        pairs = (ERROR_RATE, P95_MS, HIT_RATE, HEALTH_MS, DB_MS, CACHE_MS)
        keys = ("error_rate", "p95_ms", "hit_rate", "health_ms", "db_ms", "cache_ms")
        values = {k: (low + s * (high - low)) * j for k, (low, high), j in zip(keys, pairs, jitter, strict=True)}
        values["hit_rate"] = min(values["hit_rate"], 100.0)
        return values

    def _elapsed(self) -> float:
        return (self.clock.now() - self.started_at).total_seconds() if self.started_at else 0.0

    def _history_locked(self, elapsed: float) -> list[tuple[str, datetime]]:
        """The deploys so far, with v1.2.3 once its time has come (unless a rollback came first)."""
        if self.started_at is None:
            return [(GOOD_VERSION, self.clock.now())]
        if self._bad_deploy_pending and elapsed >= self.incident_after:
            return [*self._deploys, (BAD_VERSION, self.started_at + timedelta(seconds=self.incident_after))]
        return list(self._deploys)

    def _timeline(self, elapsed: float) -> tuple[str, float]:
        if elapsed < self.incident_after:
            return "normal", 0.0
        into = elapsed - self.incident_after
        if into < self.ramp:
            return "degrading", into / self.ramp
        return "incident", 1.0

    def _since_rollback(self) -> float | None:
        return None if self.rollback_at is None else (self.clock.now() - self.rollback_at).total_seconds()

    def _severity_locked(self, elapsed: float) -> float:
        since = self._since_rollback()
        if since is None:
            return self._timeline(elapsed)[1]
        return self._severity_at_rollback * max(0.0, 1 - since / self.recovery) if self.recovery > 0 else 0.0

    def _phase_locked(self, elapsed: float) -> str:
        since = self._since_rollback()
        if since is None:
            return self._timeline(elapsed)[0]
        return "recovered" if since >= self.recovery else self._phase_at_rollback

    def _refresh_phase(self) -> None:
        with self._lock:
            phase = self._phase_locked(self._elapsed())
            if phase == self._phase:
                return
            self._phase = phase
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(phase)
            except Exception:  # a listener's bug must not stop the service
                log.exception("demo phase callback failed")

    def _tick(self) -> None:
        while not self._stopping.wait(TICK):
            self._refresh_phase()

    def _pause(self, ms: float) -> None:
        self._stopping.wait(ms / 1000)

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(connection)

    # endpoints: (status, body)

    def _get(self, path: str) -> tuple[int, dict[str, Any]]:
        if path == "/admin/state":
            return 200, self.state()
        if path == "/api/releases":
            return 200, self.releases()
        values = self.readings()
        if path == "/api/health":
            self._pause(values["health_ms"])
            s = self.severity()
            status = "ok" if s < DEGRADED_AT else "degraded" if s < FAILING_AT else "error"
            uptime = f"{self._elapsed():.0f}s"
            body = {"status": status, "version": self.version, "timestamp": _iso(self.clock.now()), "uptime": uptime}
            return (503 if status == "error" else 200), body
        if path == "/api/health/db":
            self._pause(values["db_ms"])
            return 200, {"database": "connected", "latency": f"{values['db_ms']:.0f}ms"}
        if path == "/api/health/cache":
            self._pause(values["cache_ms"])
            return 200, {"redis": "connected", "memory": "1.21M", "hitRate": round(values["hit_rate"], 1)}
        if path == "/api/metrics/errors":
            return 200, {"errorRate": round(values["error_rate"], 2)}
        if path == "/api/metrics/latency":
            return 200, {"p95": round(values["p95_ms"]), "p50": round(values["p95_ms"] / 3)}
        if path == "/api/metrics/cache":
            return 200, {"hitRate": round(values["hit_rate"], 1)}
        return 404, {"error": f"no such endpoint: GET {path}"}

    def _post(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if path != "/admin/rollback":
            return 404, {"error": f"no such endpoint: POST {path}"}
        version = (query.get("version") or [""])[0]
        if not _VERSION.match(version):
            return 400, {"ok": False, "error": "give ?version=vX.Y.Z (letters, digits, . _ -)"}
        return 200, self.rollback(version)


def _handler(service: DemoService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 60

        def setup(self) -> None:
            super().setup()
            service._track(self.connection, add=True)

        def finish(self) -> None:
            service._track(self.connection, add=False)
            super().finish()

        def do_GET(self) -> None:
            self._answer(*service._get(urlsplit(self.path).path))

        def do_HEAD(self) -> None:
            self._answer(*service._get(urlsplit(self.path).path), head=True)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            parts = urlsplit(self.path)
            self._answer(*service._post(parts.path, parse_qs(parts.query)))

        def _answer(self, status: int, body: dict[str, Any], head: bool = False) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)
            except OSError:
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None
