"""A real loopback HTTP server for tests, with a route table that can change while it runs."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

_CHUNK = b"x" * 65536


@dataclass(frozen=True)
class Route:
    """How the server answers one path (see LoopbackHTTPServer.route)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    redirect_to: str | None = None
    size: int | None = None
    require_headers: dict[str, str] = field(default_factory=dict)
    methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackHTTPServer:
    """A ThreadingHTTPServer on 127.0.0.1 and a free port, served from a daemon thread.

    Unknown paths answer 404. ``hits[path]`` counts requests per path (query string excluded) and
    ``requests`` records each one. stop() never waits for hanging or slow handlers.
    """

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.requests: list[RecordedRequest] = []
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(
        self,
        path: str,
        status: int = 200,
        body: bytes | str | dict[str, Any] | list[Any] = b"",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        hang: bool = False,
        redirect_to: str | None = None,
        size: int | None = None,
        require_headers: dict[str, str] | None = None,
        methods: tuple[str, ...] = (),
    ) -> None:
        """Answer `path` (replacing any earlier route for it, also while running).

        `body` dict/list is sent as JSON, str as UTF-8 text. `delay` waits before answering; `hang`
        never answers (until stop()); `redirect_to` answers 302 with that Location; `size` streams
        that many bytes of body instead of `body`. Without every `require_headers` header (exact value)
        it answers 401; to a method not in `methods` (when given), 405.
        """
        all_headers = dict(headers or {})
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
            all_headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        if redirect_to is not None:
            status = 302 if status == 200 else status
            all_headers["Location"] = redirect_to
        with self._lock:
            self._routes[path] = Route(
                status, body, all_headers, delay, hang, redirect_to, size, dict(require_headers or {}), methods
            )

    @property
    def port(self) -> int:
        """The port it listens on."""
        if self._httpd is None:
            raise RuntimeError("LoopbackHTTPServer is not started")
        return self._httpd.server_address[1]

    def url(self, path: str = "/") -> str:
        """Absolute URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        """Bind a free loopback port and serve in a daemon thread."""
        if self._httpd is not None:
            return
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="loopback-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Release hanging handlers, stop serving and close the socket. Idempotent."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        assert self._thread is not None
        self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _lookup(self, path: str) -> Route | None:
        with self._lock:
            return self._routes.get(path)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                path = urlsplit(self.path).path
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.hits[path] += 1
                    server.requests.append(RecordedRequest(self.command, path, dict(self.headers), body))
                route = server._lookup(path) or Route(status=404, body=b"not found")
                if any(self.headers.get(k) != v for k, v in route.require_headers.items()):
                    route = Route(status=401, body=b"unauthorized")
                elif route.methods and self.command not in route.methods:
                    route = Route(status=405, body=b"method not allowed")
                if server._stopping.wait(None if route.hang else route.delay):  # stop() came first
                    self.close_connection = True
                    return
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                size = route.size if route.size is not None else len(route.body)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    if route.size is None:
                        self.wfile.write(route.body)
                    else:
                        self._stream(route.size)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _stream(self, size: int) -> None:
                sent = 0
                while sent < size and not server._stopping.is_set():
                    chunk = _CHUNK[: min(len(_CHUNK), size - sent)]
                    self.wfile.write(chunk)
                    sent += len(chunk)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
