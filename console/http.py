"""The one HTTP layer: every outbound call (the probes, `check`, the Alertmanager actions, and what comes next:
change sources, notification channels) goes through `HttpClient` or `fetch`, on aiohttp, with one set of rules.

- Trust: the system's CA store (OpenSSL's default paths, /etc/ssl/certs on Debian: what curl trusts on a bastion),
  plus the target's `ca_file` (PEM) when it has one, added to it. Certificates are always verified.
- Proxies only when the config says so: `proxy = "http://proxy:3128"`, or `"env"` for HTTPS_PROXY / HTTP_PROXY /
  NO_PROXY. Without it the environment is never read (nor ~/.netrc).
- Redirects: at most MAX_REDIRECTS; 303 (and 301/302 after a POST) become a GET. A move to another origin (scheme,
  host or port; https to http is one) drops every header the caller gave (Authorization, X-Api-Key, Cookie...),
  and a 307/308 that would carry the request body there is refused. There is no cookie jar: nothing is kept.
- The body cap counts bytes after decompression: the answer is read compressed, chunk by chunk, and inflated here by
  zlib with a maximum output of what is left under `limit` (aiohttp's own inflating, which follows the network's
  pace, let a gzip bomb reach 300 MB under load); past `limit` it is dropped, so a bomb costs about `limit` bytes.
- Connections: kept alive per origin (and per CA file and proxy) for KEEPALIVE seconds; the addresses of a name are
  raced by Happy Eyeballs (RFC 8305: the next one is tried HAPPY_EYEBALLS_DELAY after the first has not answered),
  so a blackholed IPv6 address costs 250 ms, not the request's timeout. The caller bounds the whole request.

Why aiohttp: its C parser is strict where the hand-written client before it was lenient (chunk sizes such as `0x5`
or `+5`, the CRLF after chunk data), it brings proxies and Happy Eyeballs, and it costs a third of httpx's CPU.
CPU per keep-alive GET on loopback (benchmarks/http_cpu.py, load 1.1): `fetch` here 0.161-0.169 ms, aiohttp alone
0.127-0.139, the hand-written client's `fetch` 0.093-0.108; httpx was measured at 0.47-0.50.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
import time
import urllib.request
import weakref
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from console.config.probes import PROXY_FROM_ENV
from console.models import format_duration
from console.models.health import MAX_BODY, HttpResult

MAX_REDIRECTS = 5
HEADERS = {
    "User-Agent": "incident-console",
    "Accept": "application/json, */*;q=0.5",
    "Accept-Encoding": "gzip, deflate",  # what _read inflates itself
}
KEEPALIVE = 30.0
HAPPY_EYEBALLS_DELAY = 0.25
REDIRECTS = frozenset((301, 302, 303, 307, 308))


class HttpError(Exception):
    """A request that could not be sent or followed; the message is the reason in words."""


class TooManyRedirects(HttpError):
    """More redirects in a row than the client follows."""


@dataclass(frozen=True)
class Response:
    """A final answer: the status, its headers (names lower-case, the last of a repeated one) and the body, unless it
    passed the cap (`oversize`); over https, when the certificate the handshake verified stops being valid
    (`cert_expires`)."""

    status_code: int
    body: bytes
    oversize: bool
    headers: dict[str, str]
    cert_expires: datetime | None = None


class _CertifiedResponse(aiohttp.ClientResponse):
    """aiohttp's response, noting the peer certificate's notAfter from the connection it starts on: the handshake
    the request made anyway (a kept-alive connection keeps its certificate), never a second connection. It is read
    once per connection (`getpeercert` builds a dict: 0.03 ms, a fifth of a keep-alive GET's CPU)."""

    cert_expires: datetime | None = None

    async def start(self, connection: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        transport = connection.transport
        if transport is not None and transport.get_extra_info("sslcontext") is not None:
            if transport not in _NOT_AFTER:
                cert = transport.get_extra_info("peercert") or {}
                seconds = ssl.cert_time_to_seconds(cert["notAfter"]) if "notAfter" in cert else None
                _NOT_AFTER[transport] = None if seconds is None else datetime.fromtimestamp(seconds, UTC)
            self.cert_expires = _NOT_AFTER[transport]
        return await super().start(connection)


_NOT_AFTER: weakref.WeakKeyDictionary[asyncio.BaseTransport, datetime | None] = weakref.WeakKeyDictionary()


@dataclass
class Sending:
    """Whether a request's headers have left for the server (`sent`): a failure before that leaves nothing for the
    server to act on; after it, the server may have acted (a channel's delivery is then of unknown outcome)."""

    sent: bool = False


class HttpClient:
    """Keep-alive connections shared by every request made through it (see the module docstring for the rules).

    `ca_file` and `proxy` are the defaults (`[console]`); a request's own replace them. `resolver` decides where
    names go (aiohttp's threaded getaddrinfo unless given). Close it with `await client.aclose()`.
    """

    def __init__(
        self,
        *,
        ca_file: Path | None = None,
        proxy: str | None = None,
        max_redirects: int = MAX_REDIRECTS,
        resolver: aiohttp.abc.AbstractResolver | None = None,
    ) -> None:
        self.ca_file = ca_file
        self.proxy = proxy
        self.max_redirects = max_redirects
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._contexts: dict[Path | None, ssl.SSLContext] = {}

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: str | bytes | None = None,
        json: Any = None,
        limit: int,
        ca_file: Path | None = None,
        proxy: str | None = None,
        sending: Sending | None = None,
    ) -> Response:
        """Send `content` as it is or `json` encoded, follow redirects by the rules; a body over `limit` bytes
        (once decompressed) is not kept. `sending.sent` turns true once a request's headers are written."""
        headers = dict(headers or {})
        body = content.encode() if isinstance(content, str) else content
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            headers = {"Content-Type": "application/json", **headers}
        ca_file, proxy = ca_file or self.ca_file, proxy or self.proxy
        target = URL(url)
        for _ in range(self.max_redirects + 1):
            if target.scheme not in ("http", "https") or not target.host:
                raise HttpError(f"not an http:// or https:// URL: {target.scheme or 'no scheme'}")
            tls = self._tls(ca_file) if target.scheme == "https" else True
            via, proxy_login = _proxy_for(target, proxy)
            # an https request is tunnelled (CONNECT carries the proxy's login); an http one carries it itself
            sent = {**headers, **proxy_login} if target.scheme == "http" else headers
            async with self._open().request(
                method,
                target,
                headers=sent,
                data=body,
                ssl=tls,
                allow_redirects=False,
                proxy=via,
                proxy_headers=proxy_login or None,
                trace_request_ctx=sending,
            ) as response:
                location = response.headers.get("Location")
                if response.status not in REDIRECTS or not location:
                    data = await _read(response, limit)
                    headers = {name.lower(): value for name, value in response.headers.items()}
                    expires = response.cert_expires if isinstance(response, _CertifiedResponse) else None
                    return Response(response.status, data or b"", data is None, headers, expires)
            moved = _join(target, location)
            status = response.status
            if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            if _origin(moved) != _origin(target):
                if body is not None:
                    raise HttpError(f"refused to resend the request body to another origin ({_origin_text(moved)})")
                headers = {}  # every header the caller gave stays with the origin it was meant for
            target = moved
        raise TooManyRedirects(f"over {self.max_redirects} redirects")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0,  # one connection per concurrent probe: a cap would queue healthy probes behind hung ones
                keepalive_timeout=KEEPALIVE,
                happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                resolver=self._resolver,
            )
            traces = aiohttp.TraceConfig()
            traces.on_request_headers_sent.append(_headers_sent)
            self._session = aiohttp.ClientSession(
                connector=connector,
                trace_configs=[traces],
                headers=HEADERS,
                skip_auto_headers=("Content-Type",),  # a `body` goes as it is, with the headers the config gives
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,  # inflated in _read, bounded by the cap (gzip and deflate: HEADERS)
                timeout=aiohttp.ClientTimeout(total=None),  # the caller's asyncio.timeout bounds everything
                trust_env=False,
                response_class=_CertifiedResponse,
            )
        return self._session

    def _tls(self, ca_file: Path | None) -> ssl.SSLContext:
        """The system's CAs, plus `ca_file`'s; one context per file, so connections through it are reused."""
        context = self._contexts.get(ca_file)
        if context is None:
            context = ssl.create_default_context()
            if ca_file is not None:
                try:
                    context.load_verify_locations(cafile=ca_file)
                except ssl.SSLError:  # before OSError, which it is
                    raise HttpError(f"ca_file {ca_file} holds no PEM certificate") from None
                except OSError as exc:
                    raise HttpError(f"ca_file {ca_file}: {exc.strerror or exc}") from None
            self._contexts[ca_file] = context
        return context


async def _headers_sent(_: aiohttp.ClientSession, context: Any, __: aiohttp.TraceRequestHeadersSentParams) -> None:
    if isinstance(context.trace_request_ctx, Sending):
        context.trace_request_ctx.sent = True


async def fetch(
    client: HttpClient,
    url: str,
    timeout: float,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    content: str | None = None,
    json: Any = None,
    ca_file: Path | None = None,
    proxy: str | None = None,
) -> HttpResult:
    """Request `url` (GET unless told) within `timeout` seconds (connect, redirects and body included); failures
    become words, and say whether the request had left (`sent`). `content` is sent as it is, `json` encoded as JSON;
    a body over MAX_BODY is not kept."""
    started = time.perf_counter()
    sending = Sending()
    request = {"headers": headers, "content": content, "json": json, "ca_file": ca_file, "proxy": proxy}
    try:
        async with asyncio.timeout(timeout):
            response = await client.request(method, url, limit=MAX_BODY, sending=sending, **request)
    except TimeoutError:
        return HttpResult(error=f"timeout after {format_duration(timeout)}", sent=sending.sent)
    except TooManyRedirects:
        return HttpResult(error=f"redirect loop (over {client.max_redirects} redirects)", sent=True)
    except Exception as exc:  # a source never raises: every failure becomes a reason
        return HttpResult(error=describe_error(exc), sent=sending.sent)
    latency_ms = (time.perf_counter() - started) * 1000
    return HttpResult(
        status_code=response.status_code,
        latency_ms=latency_ms,
        body=response.body,
        oversize=response.oversize,
        cert_expires=response.cert_expires,
        headers=response.headers,
        sent=True,
    )


def describe_error(exc: BaseException) -> str:
    """A failed request in words: connection refused, DNS lookup failed, TLS error: ..., connection reset."""
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return f"proxy unreachable: {_cause(exc) or exc}"
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return f"proxy answered HTTP {exc.status}"
    if (words := _cause(exc)) is not None:
        return words
    if isinstance(exc, HttpError):
        return str(exc)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected without an answer"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"body cut short or malformed: {_first_line(str(exc))}"
    if isinstance(exc, aiohttp.ClientResponseError):  # the parser's words, without its picture of the bytes
        return f"malformed answer: {_first_line(exc.message)}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _first_line(text: str) -> str:
    return text.strip().partition("\n")[0].rstrip(":")


def _cause(exc: BaseException) -> str | None:
    import socket

    for cause in _chain(exc):
        if isinstance(cause, aiohttp.ClientError):
            continue  # aiohttp's wrappers (some subclass ssl's errors); their cause says what happened
        if isinstance(cause, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS error: {cause.verify_message or 'certificate verify failed'}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {(cause.reason or str(cause)).lower().replace('_', ' ')}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
    return None


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        stack.extend(getattr(current, "exceptions", ()))


async def _read(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The body as decompressed, or None as soon as it passes `limit` (the connection is then closed). It is inflated
    here, never past `limit` + 1 bytes at a time, so memory stays near `limit` whatever the compression ratio."""
    inflate = _inflater(response.headers.get("Content-Encoding", ""))
    chunks: list[bytes] = []
    size = 0
    while chunk := await response.content.readany():
        while chunk:
            piece, chunk = inflate(chunk, limit - size + 1)
            size += len(piece)
            if size > limit:
                response.close()
                return None
            chunks.append(piece)
    return b"".join(chunks)


def _inflater(encoding: str) -> Callable[[bytes, int], tuple[bytes, bytes]]:
    """A function (data, most) -> (up to `most` inflated bytes, the input not yet used) for a Content-Encoding."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return lambda data, most: (data[:most], data[most:])
    if name not in ("gzip", "x-gzip", "deflate"):
        raise HttpError(f"the answer is encoded as {encoding!r}, which the console does not read (gzip, deflate)")
    zlib_wbits = 16 + zlib.MAX_WBITS if name != "deflate" else zlib.MAX_WBITS
    decompressor = zlib.decompressobj(zlib_wbits)
    may_lack_header = name == "deflate"

    def inflate(data: bytes, most: int) -> tuple[bytes, bytes]:
        nonlocal decompressor, may_lack_header
        try:
            out = decompressor.decompress(data, most)
        except zlib.error as exc:
            if not may_lack_header:
                raise HttpError(f"the {name} body is corrupt: {exc}") from None
            # deflate sent without its zlib header: raw deflate, tried once
            decompressor, may_lack_header = zlib.decompressobj(-zlib.MAX_WBITS), False
            out = decompressor.decompress(data, most)
        return out, decompressor.unconsumed_tail

    return inflate


def _proxy_for(url: URL, proxy: str | None) -> tuple[URL | None, dict[str, str]]:
    """The proxy for `url` (none, the configured one, or the environment's when it says "env") and the
    Proxy-Authorization its `user:password@` makes."""
    if proxy == PROXY_FROM_ENV:
        # typeshed leaves out proxy_bypass_environment (in urllib.request since 3.x, undocumented); proxy_bypass would
        # also read macOS's or Windows's system settings, and the console follows the environment only
        bypass = url.host is not None and urllib.request.proxy_bypass_environment(url.host)  # type: ignore[attr-defined]
        proxy = None if bypass else urllib.request.getproxies_environment().get(url.scheme)
    if not proxy:
        return None, {}
    address = URL(proxy)
    if address.scheme != "http" or not address.host:
        raise HttpError(f"proxy {address.with_user(None)}: only http:// proxies are supported")
    login = aiohttp.BasicAuth.from_url(address)
    return address.with_user(None), {"Proxy-Authorization": login.encode()} if login else {}


def _join(base: URL, location: str) -> URL:
    try:
        return base.join(URL(location))
    except ValueError:
        raise HttpError(f"redirected to a malformed URL {location[:80]!r}") from None


def _origin(url: URL) -> tuple[str, str, int | None]:
    return url.scheme, (url.host or "").lower(), url.port


def _origin_text(url: URL) -> str:
    return f"{url.scheme}://{url.host}:{url.port}"
