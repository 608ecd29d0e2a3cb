"""The probes' HTTP/1.1 client against real loopback servers: framing, keep-alive, redirects, timeouts and TLS."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.models.health import MAX_BODY
from console.sources.http import fetch, make_client
from console.sources.http_client import HttpClient


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


HANG = b"hang"  # an answer that never comes
HANG_UP = b""  # close the connection without answering


def answer(status: int = 200, body: bytes = b"ok", *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class ScriptedServer:
    """A loopback HTTP/1.1 server answering each request with `respond(request)` (raw bytes, HANG or HANG_UP);
    it keeps connections open unless the answer says `Connection: close`, and counts the connections it accepted."""

    def __init__(self, respond: Callable[[Request], bytes], tls: ssl.SSLContext | None = None) -> None:
        self.respond = respond
        self.tls = tls
        self.connections = 0
        self.requests: list[Request] = []

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
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


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    client = make_client()
    yield client
    await client.aclose()


async def test_keep_alive_reuses_one_connection(client) -> None:
    async with ScriptedServer(lambda r: answer(body=r.path.encode())) as server:
        bodies = [(await fetch(client, server.url(f"/{n}"), 2.0)).body for n in range(3)]
    assert bodies == [b"/0", b"/1", b"/2"] and server.connections == 1


async def test_chunked_body_with_extensions_and_trailers_leaves_the_connection_reusable(client) -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=1\r\nWiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n"
    async with ScriptedServer(lambda r: chunked) as server:
        results = [await fetch(client, server.url(), 2.0) for _ in range(2)]
    assert [r.body for r in results] == [b"Wikipedia", b"Wikipedia"] and server.connections == 1


async def test_a_body_read_to_the_close_and_connection_close_open_a_new_connection(client) -> None:
    to_close = b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nuntil the end"  # no length: read to the close
    async with ScriptedServer(lambda r: to_close) as server:
        results = [await fetch(client, server.url(), 2.0) for _ in range(2)]
    assert [r.body for r in results] == [b"until the end"] * 2 and server.connections == 2
    async with ScriptedServer(lambda r: answer(200, b"x", "Connection: close")) as server:
        results = [await fetch(client, server.url(), 2.0) for _ in range(2)]
    assert [r.status_code for r in results] == [200, 200] and server.connections == 2


async def test_a_kept_alive_connection_closed_by_the_server_is_retried_once_on_a_fresh_one(client) -> None:
    seen: list[str] = []

    def respond(request: Request) -> bytes:
        seen.append(request.path)
        return HANG_UP if len(seen) == 2 else answer()  # the second request finds its connection gone

    async with ScriptedServer(respond) as server:
        first, second = [await fetch(client, server.url(f"/{n}"), 2.0) for n in range(2)]
        assert (first.status_code, second.status_code) == (200, 200) and seen == ["/0", "/1", "/1"]
        assert server.connections == 2
    async with ScriptedServer(lambda r: HANG_UP) as server:  # a fresh connection is not retried
        result = await fetch(client, server.url(), 2.0)
    assert result.error == "server disconnected without an answer" and server.connections == 1


async def test_a_hanging_server_times_out_and_its_connection_is_dropped(client) -> None:
    replies = iter([answer(), HANG, answer(body=b"again")])
    async with ScriptedServer(lambda r: next(replies)) as server:
        ok = await fetch(client, server.url(), 2.0)
        hung = await fetch(client, server.url(), 0.2)
        again = await fetch(client, server.url(), 2.0)
    assert (ok.status_code, hung.error, again.body) == (200, "timeout after 200ms", b"again")
    assert server.connections == 2


async def test_bodies_over_the_cap_are_not_kept_and_gzip_is_inflated(client) -> None:
    big = b"x" * (MAX_BODY + 1)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n"
    bomb = answer(200, gzip.compress(big), "Content-Encoding: gzip")
    small = answer(200, gzip.compress(b'{"status": "ok"}'), "Content-Encoding: gzip")
    replies = iter([chunked, bomb, small])
    async with ScriptedServer(lambda r: next(replies)) as server:
        results = [await fetch(client, server.url(), 2.0) for _ in range(3)]
    assert [(r.oversize, r.body) for r in results] == [(True, b""), (True, b""), (False, b'{"status": "ok"}')]


async def test_head_informational_answers_and_basic_auth_from_the_url(client) -> None:
    def respond(request: Request) -> bytes:
        if request.method == "HEAD":
            return answer(200, b"").replace(b"Length: 0", b"Length: 500")  # HEAD: a length but no body
        return b"HTTP/1.1 100 Continue\r\n\r\n" + answer(200, request.headers["authorization"].encode())

    async with ScriptedServer(respond) as server:
        head = await fetch(client, server.url(), 2.0, method="HEAD")
        auth = await fetch(client, server.url().replace("//", "//ops:p%40ss@"), 2.0)
        await fetch(client, server.url(), 2.0, headers={"host": "probe.example", "Authorization": "x"})
    assert (head.status_code, head.body) == (200, b"")
    assert auth.body == b"Basic b3BzOnBAc3M="  # ops:p@ss
    assert [r.headers["host"] for r in server.requests] == [f"127.0.0.1:{server.port}"] * 2 + ["probe.example"]
    assert server.connections == 1


async def test_redirects_change_method_as_browsers_do_and_keep_authorization_on_their_origin(client) -> None:
    async with ScriptedServer(lambda r: answer(200, json.dumps([r.method, r.body.decode()]).encode())) as other:

        def respond(request: Request) -> bytes:
            moves = {"/302": "302", "/307": "307", "/away": "302"}
            if request.path in moves:
                target = other.url("/there") if request.path == "/away" else "/final"
                return answer(int(moves[request.path]), b"", f"Location: {target}")
            return answer(200, json.dumps([request.method, request.body.decode(), request.headers]).encode())

        async with ScriptedServer(respond) as server:
            post = {"method": "POST", "json": {"a": 1}, "headers": {"Authorization": "Bearer t"}}
            became_get = json.loads((await fetch(client, server.url("/302"), 2.0, **post)).body)
            kept_post = json.loads((await fetch(client, server.url("/307"), 2.0, **post)).body)
            away = await fetch(client, server.url("/away"), 2.0, method="GET", headers={"Authorization": "Bearer t"})
    assert became_get[:2] == ["GET", ""] and became_get[2]["authorization"] == "Bearer t"
    assert kept_post[:2] == ["POST", '{"a":1}'] and kept_post[2]["content-type"] == "application/json"
    assert json.loads(away.body) == ["GET", ""] and "authorization" not in other.requests[-1].headers


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


async def test_tls_is_verified_and_kept_alive(certificate) -> None:
    key, cert = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    async with ScriptedServer(lambda r: answer(body=b"secure"), served) as server:
        default = make_client()
        refused = await fetch(default, server.url(scheme="https"), 2.0)
        await default.aclose()
        trusting = HttpClient({}, max_redirects=0, ssl_context=ssl.create_default_context(cafile=str(cert)))
        results = [await fetch(trusting, server.url(scheme="https"), 2.0) for _ in range(2)]
        await trusting.aclose()
    assert refused.error == "TLS error: self-signed certificate"
    assert [r.body for r in results] == [b"secure", b"secure"] and server.connections == 1  # one, kept alive
