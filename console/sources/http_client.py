"""A small HTTP/1.1 client for the polling sources: keep-alive connections per origin, redirects, a capped body.

Why not httpx on this path: a probe every 2 s per target cost ~1.3 ms of CPU per request in httpx, httpcore and
anyio, most of an idle dashboard's CPU; an asyncio protocol reading straight from its buffer costs ~0.15 ms
(benchmarks/idle.py). It does what the probes need and no more: http and https (verified against certifi's CAs),
any method, headers, a body, `user:password@` in the URL as basic auth, redirects (303, and 301/302 after a POST,
turn into a GET; Authorization is dropped on a move to another origin), Content-Length, chunked and read-to-close
bodies, gzip/deflate, and a body cap that hangs up rather than read past it. No cookies, proxies or HTTP/2.

The caller bounds every request with `asyncio.timeout` (connect, redirects and body included); a request that is
cancelled or fails closes its connection, so only fully read responses leave a connection in the pool.
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
import socket
import ssl
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

MAX_HEAD = 64 * 1024  # status line and headers, or one chunk-size line
REDIRECTS = (301, 302, 303, 307, 308)
_SAFE = "/%:@!$&'()*+,;=~"  # kept as they are in a path; the rest is percent-encoded


class HttpError(Exception):
    """A request that could not be sent or an answer that could not be read; the message is the reason in words."""


class TooManyRedirects(HttpError):
    """More redirects in a row than the client follows."""


class _Disconnected(HttpError):
    """The server closed the connection before answering a single byte (a kept-alive one: try a fresh one)."""


@dataclass(frozen=True)
class Response:
    """A final answer: status, headers (lower-case names, repeats joined with ", "), the body unless over the cap."""

    status_code: int
    headers: dict[str, str]
    body: bytes
    oversize: bool


class _Connection(asyncio.Protocol):
    """One socket to an origin; requests read what arrived from `buffer`, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.error: BaseException | None = None  # why the connection was lost, when it says
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> None:
        self.closed = True  # returning None closes the transport
        self._wake()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed, self.error = True, exc
        self._wake()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _more(self) -> None:
        """Wait for more bytes; raise if the server hung up first."""
        if self.closed:
            what = _Disconnected("server disconnected without an answer") if not self.buffer else None
            raise what or HttpError("server disconnected in the middle of the answer") from self.error
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def read_until(self, delimiter: bytes) -> bytes:
        start = 0
        while (end := self.buffer.find(delimiter, start)) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise HttpError("answer head too long")
            start = max(0, len(self.buffer) - len(delimiter) + 1)
            await self._more()
        data = bytes(self.buffer[:end])
        del self.buffer[: end + len(delimiter)]
        return data

    async def read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            await self._more()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def read_to_close(self, limit: int) -> bytes | None:
        """Everything until the server closes, or None as soon as it passes `limit`."""
        while not self.closed:
            if len(self.buffer) > limit:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return None if len(self.buffer) > limit else bytes(self.buffer)

    async def read_chunked(self, limit: int) -> bytes | None:
        """A chunked body (trailers skipped), or None as soon as it passes `limit`."""
        chunks: list[bytes] = []
        size = 0
        while True:
            line = await self.read_until(b"\r\n")
            try:
                length = int(line.partition(b";")[0].strip(), 16)
            except ValueError:
                raise HttpError("malformed chunked body") from None
            if length < 0:
                raise HttpError("malformed chunked body")
            if length == 0:
                break
            size += length
            if size > limit:
                return None
            chunks.append(await self.read_exact(length))
            await self.read_exact(2)
        while await self.read_until(b"\r\n"):  # trailers, up to the empty line
            pass
        return b"".join(chunks)


Origin = tuple[str, str, int]


class HttpClient:
    """Keep-alive HTTP/1.1 connections per origin, shared by every probe (see the module docstring)."""

    def __init__(
        self,
        headers: dict[str, str],
        *,
        max_redirects: int,
        keepalive_expiry: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.headers = headers
        self.max_redirects = max_redirects
        self.keepalive_expiry = keepalive_expiry
        self._ssl = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: str | bytes | None = None,
        json: Any = None,
        limit: int,
    ) -> Response:
        """Send `content` as it is or `json` encoded; follow redirects; a body over `limit` bytes is not kept."""
        headers = dict(headers or {})
        body = content.encode() if isinstance(content, str) else content
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            headers = {"Content-Type": "application/json", **headers}
        for _ in range(self.max_redirects + 1):
            response = await self._send(method, url, headers, body, limit)
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or not location:
                return response
            target = urljoin(url, location)
            if _origin(urlsplit(target)) != _origin(urlsplit(url)):
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            status = response.status_code
            if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            url = target
        raise TooManyRedirects(f"over {self.max_redirects} redirects")

    async def aclose(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()

    async def _send(self, method: str, url: str, headers: dict[str, str], body: bytes | None, limit: int) -> Response:
        parts = urlsplit(url)
        origin = _origin(parts)
        authority = parts.netloc.rpartition("@")[2]
        fields = {"Host": authority if authority.isascii() else _idna(authority), **self.headers}
        if parts.username is not None:
            user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            fields["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
        fields.update(headers)
        if body is not None or method in ("POST", "PUT", "PATCH"):
            fields["Content-Length"] = str(len(body or b""))
        path = quote(parts.path or "/", safe=_SAFE)
        if parts.query:
            path += "?" + quote(parts.query, safe=_SAFE + "?")
        seen: dict[str, str] = {}  # the last spelling of a header wins, whatever its case (a probe may set Host)
        for name, value in fields.items():
            if any(c in name + value for c in "\r\n\0") or not name:
                raise HttpError(f"header {name!r} holds a line break")
            seen[name.lower()] = f"{name}: {value}"
        data = "\r\n".join([f"{method} {path} HTTP/1.1", *seen.values(), "", ""]).encode() + (body or b"")
        connection = self._take(origin)
        if connection is not None:
            try:
                return await self._exchange(connection, origin, data, method, limit)
            except _Disconnected:
                pass  # it was closed while it sat idle: once more, on a fresh connection
        return await self._exchange(await self._connect(origin), origin, data, method, limit)

    async def _exchange(
        self, connection: _Connection, origin: Origin, data: bytes, method: str, limit: int
    ) -> Response:
        """One request on `connection`; back to the pool only when the answer was read whole and may be kept."""
        reusable = False
        try:
            assert connection.transport is not None
            connection.transport.write(data)
            version, status, headers = await _read_head(connection)
            body, complete = await _read_body(connection, method, status, headers, limit)
            reusable = complete and not connection.closed and not connection.buffer and _keep_alive(version, headers)
        finally:
            if reusable:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(origin, []).append(connection)
            else:
                connection.close()
                self._open.discard(connection)
        oversize = body is None
        if not oversize and body and headers.get("content-encoding", "").lower() in ("gzip", "deflate"):
            body = _decode(body, limit)
            oversize = body is None
        return Response(status, headers, body or b"", oversize)

    def _take(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if not connection.closed and not connection.buffer and now - connection.idle_since < self.keepalive_expiry:
                return connection
            connection.close()
            self._open.discard(connection)
        return None

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = self._tls() if scheme == "https" else None
        try:  # a numeric address needs no resolver thread
            addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
        except socket.gaierror:
            addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        errors: list[OSError] = []
        for *_, address in addresses:
            try:
                _, connection = await loop.create_connection(
                    _Connection, address[0], address[1], ssl=context, server_hostname=host if context else None
                )
            except OSError as exc:
                errors.append(exc)
                continue
            self._open.add(connection)
            return connection
        raise errors[0] if len(errors) == 1 else ExceptionGroup("all connection attempts failed", errors)

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            import certifi

            self._ssl = ssl.create_default_context(cafile=certifi.where())
            self._ssl.set_alpn_protocols(["http/1.1"])
        return self._ssl


def _origin(parts: Any) -> Origin:
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"not an http:// or https:// URL: {scheme or 'no scheme'}")
    return scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80)


def _idna(authority: str) -> str:
    return authority.encode("idna").decode()


async def _read_head(connection: _Connection) -> tuple[str, int, dict[str, str]]:
    """The status line and headers of the final answer (informational 1xx answers are skipped)."""
    while True:
        lines = (await connection.read_until(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/") or not rest[:3].isdigit():
            raise HttpError(f"not an HTTP answer: {lines[0][:60]!r}")
        status = int(rest[:3])
        if status >= 200:
            break
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return version, status, headers


async def _read_body(
    connection: _Connection, method: str, status: int, headers: dict[str, str], limit: int
) -> tuple[bytes | None, bool]:
    """(the body, or None when over `limit`; whether the connection is at the end of this answer)."""
    if method == "HEAD" or status in (204, 304):
        return b"", True
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await connection.read_chunked(limit)
        return body, body is not None
    length = headers.get("content-length")
    if length is None:
        return await connection.read_to_close(limit), False
    if not length.isdigit():
        raise HttpError(f"bad Content-Length {length[:20]!r}")
    if int(length) > limit:
        return None, False
    return await connection.read_exact(int(length)), True


def _keep_alive(version: str, headers: dict[str, str]) -> bool:
    tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    return "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens


def _decode(body: bytes, limit: int) -> bytes | None:
    """A gzip or deflate (zlib or raw) body, or None when it inflates past `limit`."""
    for wbits in (zlib.MAX_WBITS | 32, -zlib.MAX_WBITS):
        try:
            data = zlib.decompressobj(wbits).decompress(body, limit + 1)
        except zlib.error:
            continue
        return None if len(data) > limit else data
    raise HttpError("body does not decode as gzip or deflate")
