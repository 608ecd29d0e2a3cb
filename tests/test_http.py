"""The HTTP layer (console.http) against real loopback servers: framing, keep-alive, caps, redirects, timeouts, TLS."""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
import zlib
from collections.abc import AsyncIterator

import pytest
from scripted_server import HANG, HANG_UP, Request, ScriptedServer, answer, serving

from console.http import HttpClient, fetch
from console.models.health import MAX_BODY

SECRETS = {"Authorization": "Bearer t", "X-Api-Key": "k", "PRIVATE-TOKEN": "p", "Cookie": "session=s"}


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    client = HttpClient()
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


@pytest.mark.parametrize(
    ("chunks", "reason"),
    [
        (b"0x5\r\nhello\r\n0\r\n\r\n", "malformed answer: Invalid character in chunk size"),
        (b"+5\r\nhello\r\n0\r\n\r\n", "malformed answer: Invalid character in chunk size"),
        (b"1_0\r\nhellohellohello!\r\n0\r\n\r\n", "malformed answer: Invalid character in chunk size"),
        (b"5\r\nhelloXX0\r\n\r\n", "malformed answer: Expected LF after chunk data"),  # no CRLF after the data
    ],
)
async def test_malformed_chunked_framing_is_refused_in_words(client, chunks: bytes, reason: str) -> None:
    async with ScriptedServer(lambda r: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks) as server:
        result = await fetch(client, server.url(), 2.0)
    assert (result.error, result.status_code) == (reason, None)


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
    async with ScriptedServer(lambda r: HANG_UP) as server:  # a GET is retried once (RFC 9112 9.3.1), a POST never
        get = await fetch(client, server.url(), 2.0)
        assert server.connections == 2
        post = await fetch(client, server.url(), 2.0, method="POST", json={})
    assert get.error == post.error == "server disconnected without an answer" and server.connections == 3


async def test_a_body_cut_short_is_said_so(client) -> None:
    async with ScriptedServer(lambda r: answer(200, b"0123456789", "Connection: close")[:-4]) as server:
        result = await fetch(client, server.url(), 2.0)
    assert result.error is not None and result.error.startswith("body cut short or malformed: ")


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


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GiB of zeros, gzipped to about 4.7 MB."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join([*(packer.compress(zeros) for _ in range(1024)), packer.flush()])


PROBE = """
import asyncio, sys
from console.http import HttpClient, fetch

async def main():
    client = HttpClient()
    result = await fetch(client, sys.argv[1], 30)
    await client.aclose()
    # VmHWM: this process's own peak (ru_maxrss would count the parent's size at fork: pytest's, in a full run)
    peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(result.oversize, result.error, peak_kb // 1024)

asyncio.run(main())
"""


async def test_a_gzip_bomb_is_dropped_at_the_cap_with_memory_bounded(gzip_bomb: bytes) -> None:
    """The cap counts inflated bytes: reading the 1 GiB at once would take 1 GiB of memory, the probe takes ~50 MB."""
    assert len(gzip_bomb) < 5_000_000
    async with ScriptedServer(lambda r: answer(200, gzip_bomb, "Content-Encoding: gzip")) as server:
        probe = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROBE, server.url(), stdout=asyncio.subprocess.PIPE
        )
        out, _ = await probe.communicate()
    oversize, error, peak_mb = out.decode().split()
    assert (oversize, error) == ("True", "None")
    assert int(peak_mb) < 150, f"peak RSS {peak_mb} MB while reading a gzip bomb"


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


def echo(request: Request) -> bytes:
    return answer(200, json.dumps([request.method, request.body.decode(), request.headers]).encode())


async def test_redirects_change_method_as_browsers_do_and_keep_headers_on_their_origin(client) -> None:
    def respond(request: Request) -> bytes:
        moves = {"/302": 302, "/307": 307}
        return answer(moves[request.path], b"", "Location: /final") if request.path in moves else echo(request)

    async with ScriptedServer(respond) as server:
        post = {"method": "POST", "json": {"a": 1}, "headers": SECRETS}
        became_get = json.loads((await fetch(client, server.url("/302"), 2.0, **post)).body)
        kept_post = json.loads((await fetch(client, server.url("/307"), 2.0, **post)).body)
    assert became_get[:2] == ["GET", ""] and "content-type" not in became_get[2]
    assert kept_post[:2] == ["POST", '{"a":1}'] and kept_post[2]["content-type"] == "application/json"
    for _, _, headers in (became_get, kept_post):
        assert {name: headers[name.lower()] for name in SECRETS} == SECRETS  # same origin: all of them


async def test_a_redirect_to_another_origin_drops_every_configured_header(client) -> None:
    async with ScriptedServer(echo) as other:
        away = answer(302, b"", f"Location: {other.url('/there')}")
        async with ScriptedServer(lambda r: away) as server:
            result = await fetch(client, server.url("/away"), 2.0, headers={**SECRETS, "X-Trace": "1"})
            refused = await fetch(
                client, server.url("/away"), 2.0, method="PUT", content="secret body", headers=SECRETS
            )
    method, body, received = json.loads(result.body)
    assert (method, body) == ("GET", "")
    assert {name.lower() for name in [*SECRETS, "X-Trace"]}.isdisjoint(received)
    assert received["user-agent"] == "incident-console"  # the layer's own headers go on
    assert set(server.requests[0].headers) >= {name.lower() for name in SECRETS}
    assert refused.error == f"refused to resend the request body to another origin (http://127.0.0.1:{other.port})"
    assert len(other.requests) == 1


async def test_tls_trusts_the_system_store_plus_a_ca_file_and_keeps_alive(certificate, client) -> None:
    _, cert = certificate
    async with ScriptedServer(lambda r: answer(body=b"secure"), serving(certificate)) as server:
        refused = await fetch(client, server.url(scheme="https"), 2.0)
        trusting = HttpClient(ca_file=cert)  # [console] ca_file
        results = [await fetch(trusting, server.url(scheme="https"), 2.0) for _ in range(2)]
        await trusting.aclose()
        per_target = await fetch(client, server.url(scheme="https"), 2.0, ca_file=cert)
        gone = await fetch(client, server.url(scheme="https"), 2.0, ca_file=cert.with_name("gone.pem"))
    assert refused.error == "TLS error: self-signed certificate"
    assert [r.body for r in results] == [b"secure", b"secure"] and per_target.body == b"secure"
    assert server.connections == 2  # one per client: kept alive
    assert gone.error == f"ca_file {cert.with_name('gone.pem')}: No such file or directory"


async def test_a_downgrade_from_https_to_http_drops_every_configured_header(certificate, client) -> None:
    _, cert = certificate
    async with ScriptedServer(echo) as plain:
        down = answer(301, b"", f"Location: {plain.url('/plain')}")
        async with ScriptedServer(lambda r: down, serving(certificate)) as server:
            result = await fetch(client, server.url(scheme="https"), 2.0, headers=SECRETS, ca_file=cert)
    assert {name.lower() for name in SECRETS}.isdisjoint(json.loads(result.body)[2])
    assert server.requests[0].headers["x-api-key"] == "k"


async def test_the_answer_carries_its_headers_and_a_failure_says_whether_the_request_had_left(client) -> None:
    """The outbox reads `Retry-After` from a 429, and tells a request that never left (queued: send it again) from
    one the server may have acted on (unknown): a TLS server that never reads fails before the request is written,
    a plain one that reads it and never answers fails after."""
    async with ScriptedServer(lambda r: answer(429, b"slow down", "Retry-After: 7")) as server:
        result = await fetch(client, server.url(), 2.0)
    assert (result.status_code, result.headers["retry-after"], result.sent) == (429, "7", True)

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()  # accepts the connection and never reads a byte: no TLS handshake either

    mute = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = mute.sockets[0].getsockname()[1]
    try:
        before = await fetch(client, f"https://127.0.0.1:{port}/", 0.5)
    finally:
        mute.close()
    assert (before.error, before.sent) == ("timeout after 500ms", False)
    async with ScriptedServer(lambda r: HANG) as server:
        after = await fetch(client, server.url(), 0.5, method="POST", json={"text": "hello"})
    assert (after.error, after.sent) == ("timeout after 500ms", True) and server.requests[0].body == b'{"text":"hello"}'
