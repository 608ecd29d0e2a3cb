"""A loopback HTTP/1.1 server that answers each request with raw bytes a test scripts: for framing, keep-alive,
redirects between origins and proxies, where `http_server.LoopbackHTTPServer` answers only well-formed HTTP."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # as sent: a path, or an absolute URL when the request came to a proxy
    headers: dict[str, str]  # lower-case names
    body: bytes


HANG = b"hang"  # an answer that never comes
HANG_UP = b""  # close the connection without answering


def answer(status: int = 200, body: bytes = b"ok", *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def serving(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """A server's TLS context for the `certificate` fixture's (key, cert)."""
    key, cert = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    return served


class ScriptedServer:
    """Answers each request with `respond(request)` (raw bytes, HANG or HANG_UP) on `host` and `port` (a free one
    unless given); it keeps connections open unless the answer says `Connection: close`, and counts the connections
    it accepted."""

    def __init__(
        self,
        respond: Callable[[Request], bytes],
        tls: ssl.SSLContext | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.respond = respond
        self.tls = tls
        self.host = host
        self.port = port
        self.connections = 0
        self.requests: list[Request] = []

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
                method, path, _ = lines[0].split(" ")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.requests.append(Request(method, path, headers, body))
                reply = self.respond(self.requests[-1])
                if reply == HANG:
                    await asyncio.Event().wait()
                if reply == HANG_UP:
                    return
                writer.write(reply)
                await writer.drain()
                if b"connection: close" in reply.lower():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
