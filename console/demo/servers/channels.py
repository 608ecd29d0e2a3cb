"""A loopback server that speaks like the services a channel posts to (the demo's chat and status page, and every
channel kind in the tests): a Slack incoming webhook and `auth.test`, a Teams webhook, a plain webhook, the
Statuspage REST API (keeping each page's incidents), PagerDuty's Events API v2 and REST incidents (acknowledged on
request) and Opsgenie's Alert API. Each checks its credential as the service does (a wrong webhook path is 404
`no_service`, a wrong token 401, a wrong routing key 400).

Faults for the outbox's tests: `fail(prefix, *faults)` queues what the next requests under `prefix` get: a status
with `Retry-After` (429, 503, 401...), `HANG_BEFORE_READ` (nothing is read: over TLS the handshake never ends, so the
request never leaves the client) or `HANG_AFTER_READ` (the request is read, never answered); `down()` closes the
port and `up()` opens it again on the same port.
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

HANG_BEFORE_READ = "hang before reading"
HANG_AFTER_READ = "hang after reading"


@dataclass(frozen=True)
class Fault:
    """An answer a test scripts: a status (with `Retry-After` seconds) or a hang."""

    status: int = 503
    retry_after: int | None = None
    hang: str | None = None


@dataclass
class Received:
    """One request the server took: the service it was for, its path, headers and decoded JSON body."""

    service: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Credentials:
    """What each service accepts."""

    slack_hook: str = "/slack/T0001/B0001/demo"
    slack_token: str = "xoxb-demo-token"
    teams_hook: str = "/teams/webhook/demo"
    statuspage_token: str = "statuspage-demo-token"
    pagerduty_key: str = "pagerduty-demo-routing-key"
    pagerduty_token: str = "pagerduty-demo-api-token"
    opsgenie_key: str = "opsgenie-demo-api-key"


@dataclass
class State:
    received: list[Received] = field(default_factory=list)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)  # Statuspage incidents by id
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)  # PagerDuty / Opsgenie alerts by dedup key
    faults: dict[str, list[Fault]] = field(default_factory=dict)


class ChannelServer:
    """The services on 127.0.0.1 (a free port unless given), plain HTTP or TLS, served from daemon threads."""

    def __init__(self, *, tls: ssl.SSLContext | None = None, credentials: Credentials | None = None) -> None:
        self.tls = tls
        self.credentials = credentials or Credentials()
        self.state = State()
        self.port = 0
        self._lock = threading.Lock()
        self._release = threading.Event()  # hung handlers wait on it until stop()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self.state.received)

    def fail(self, prefix: str, *faults: Fault) -> None:
        """The next requests whose path starts with `prefix` get these answers, one each, in order."""
        with self._lock:
            self.state.faults.setdefault(prefix, []).extend(faults)

    def acknowledge(self, dedup_key: str, by: str) -> None:
        """Someone acknowledged the page (PagerDuty's and Opsgenie's read-back then says who)."""
        with self._lock:
            self.state.pages.setdefault(dedup_key, {})["acknowledged_by"] = by

    def start(self) -> None:
        self._release.clear()
        self.up()

    def up(self) -> None:
        """Listen (again, on the same port after `down()`)."""
        if self._httpd is not None:
            return
        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        httpd.daemon_threads = True
        if self.tls is not None:
            httpd.socket = self.tls.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Stop listening: connections are refused until `up()`."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def stop(self) -> None:
        self._release.set()
        self.down()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the services ------------------------------------------------------------------------------

    def _fault(self, path: str, *, hang_before: bool = False) -> Fault | None:
        """The next scripted answer for `path` (taken); with `hang_before`, only a HANG_BEFORE_READ is taken."""
        with self._lock:
            for prefix, queued in self.state.faults.items():
                if path.startswith(prefix) and queued:
                    if hang_before and queued[0].hang != HANG_BEFORE_READ:
                        return None
                    return queued.pop(0)
        return None

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: Any, fault: Fault | None
    ) -> tuple[int, Any]:
        """(status, JSON body) for one request (recorded, scripted answers too), its state kept."""
        url = urlsplit(path)
        route, query = url.path, parse_qs(url.query)
        service = route.strip("/").split("/", 1)[0]
        with self._lock:
            self.state.received.append(Received(service, method, route, headers, body))
            if fault is not None:
                return fault.status, {"error": "scripted"}
            return self._serve(service, method, route, query, headers, body)

    def _serve(
        self, service: str, method: str, route: str, query: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        creds, auth = self.credentials, headers.get("authorization", "")
        if service == "slack":
            if route == "/slack/api/auth.test":
                ok = auth == f"Bearer {creds.slack_token}"
                return 200, {"ok": True, "team": "demo"} if ok else {"ok": False, "error": "invalid_auth"}
            if route != creds.slack_hook:
                return 404, "no_service"
            return (200, "ok") if isinstance(body, dict) and body.get("text") else (400, "no_text")
        if service == "teams":
            return (200, "1") if route == creds.teams_hook else (404, "webhook not found")
        if service == "hook":
            return 200, {"ok": True}
        if service == "statuspage":
            return self._statuspage(method, route, auth, body)
        if service == "pagerduty":
            return self._pagerduty(route, body)
        if service == "pagerduty-api":
            if auth != f"Token token={creds.pagerduty_token}":
                return 401, {"error": {"message": "Unauthorized"}}
            key = (query.get("incident_key") or [""])[0]
            page = self.state.pages.get(key, {})
            acks = [{"acknowledger": {"summary": page["acknowledged_by"]}}] if page.get("acknowledged_by") else []
            return 200, {"incidents": [{"incident_key": key, "acknowledgements": acks}] if page else []}
        if service == "opsgenie":
            return self._opsgenie(method, route, auth, body)
        return 404, {"error": f"no such service: {route}"}

    def _statuspage(self, method: str, route: str, auth: str, body: Any) -> tuple[int, Any]:
        if auth != f"OAuth {self.credentials.statuspage_token}":
            return 401, {"error": "Could not authenticate"}
        parts = route.strip("/").split("/")  # statuspage v1 pages PAGE [incidents [ID]]
        if len(parts) < 4 or parts[1:3] != ["v1", "pages"]:
            return 404, {"error": "not found"}
        if len(parts) == 4 and method == "GET":
            return 200, {"id": parts[3], "name": "demo status page"}
        incident = (body or {}).get("incident") if isinstance(body, dict) else None
        if not isinstance(incident, dict):
            return 422, {"error": "incident is missing"}
        if len(parts) == 5 and method == "POST":
            opened = f"inc{len(self.state.incidents) + 1:04d}"
            self.state.incidents[opened] = {**incident, "id": opened, "updates": [incident.get("body")]}
            return 201, self.state.incidents[opened]
        if len(parts) == 6 and method == "PATCH" and parts[5] in self.state.incidents:
            known = self.state.incidents[parts[5]]
            known.update({k: v for k, v in incident.items() if k != "body"})
            known["updates"].append(incident.get("body"))
            return 200, known
        return 404, {"error": "incident not found"}

    def _pagerduty(self, route: str, body: Any) -> tuple[int, Any]:
        if route != "/pagerduty/v2/enqueue" or not isinstance(body, dict):
            return 404, {"status": "invalid", "message": "not found"}
        if body.get("routing_key") != self.credentials.pagerduty_key:
            return 400, {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": ["Invalid routing key"],
            }
        key = str(body.get("dedup_key") or "")
        page = self.state.pages.setdefault(key, {})
        page["status"] = "resolved" if body.get("event_action") == "resolve" else "triggered"
        page.setdefault("events", []).append(body.get("event_action"))
        return 202, {"status": "success", "message": "Event processed", "dedup_key": key}

    def _opsgenie(self, method: str, route: str, auth: str, body: Any) -> tuple[int, Any]:
        if auth != f"GenieKey {self.credentials.opsgenie_key}":
            return 401, {"message": "Could not authenticate", "took": 0.0}
        parts = route.strip("/").split("/")  # opsgenie v2 alerts [ALIAS [close]] or v2 heartbeats
        if parts[1:3] == ["v2", "heartbeats"]:
            return 200, {"data": {"heartbeats": []}}
        if parts[1:3] != ["v2", "alerts"]:
            return 404, {"message": "not found"}
        if len(parts) == 3 and method == "POST" and isinstance(body, dict):
            opened = self.state.pages.setdefault(str(body.get("alias") or ""), {})
            opened["status"] = "open"
            opened.setdefault("events", []).append("create")
            return 202, {"result": "Request will be processed", "requestId": f"req-{len(opened['events'])}"}
        alias = parts[3] if len(parts) > 3 else ""
        if alias not in self.state.pages:
            return 404, {"message": "Alert does not exist"}
        page = self.state.pages[alias]
        if len(parts) == 5 and parts[4] == "close":
            page["status"] = "closed"
            page.setdefault("events", []).append("close")
            return 202, {"result": "Request will be processed", "requestId": "req-close"}
        by = page.get("acknowledged_by")
        return 200, {"data": {"alias": alias, "acknowledged": bool(by), "report": {"acknowledgedBy": by} if by else {}}}


def _handler(server: ChannelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle(self) -> None:
            if server._fault(self._peek_path(), hang_before=True) is not None:
                server._release.wait()
                return
            super().handle()

        def _peek_path(self) -> str:
            """Faults are keyed by path: peek at the request line without taking it (over TLS, the handshake
            would be a read, so a TLS server keys HANG_BEFORE_READ by the empty prefix)."""
            if server.tls is not None:
                return ""
            try:
                line = self.connection.recv(2048, 0x2)  # MSG_PEEK
            except OSError:
                return ""
            parts = line.split(b" ", 2)
            return parts[1].decode("latin-1") if len(parts) > 1 else ""

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def do_PATCH(self) -> None:
            self._answer("PATCH")

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            fault = server._fault(urlsplit(self.path).path)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            if fault is not None and fault.hang == HANG_AFTER_READ:
                server.answer(method, self.path, {}, body, fault)  # recorded: it reached the service
                server._release.wait()
                self.close_connection = True
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, answer = server.answer(method, self.path, headers, body, fault)
            extra = fault.retry_after if fault is not None else None
            data = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(answer, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                if extra is not None:
                    self.send_header("Retry-After", str(extra))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
