"""How requests leave: `ca_file` and `proxy` in the config, proxies (configured, or the environment's when asked),
and Happy Eyeballs past a blackholed address. Real loopback servers, a real proxy's view of what it was sent."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from scripted_server import Request, ScriptedServer, answer, serving

from actions.registry import build_runner
from console import config as cfg
from console.clock import Clock
from console.config import ConfigError
from console.http import HttpClient, fetch
from console.sources.base import build_feeds
from console.sources.reach import reach_all


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    client = HttpClient()
    yield client
    await client.aclose()


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        cfg.loads(text, source=tmp_path / "config.toml", environ={"KEY": "line\r\nX-Evil: 1"})
    return str(caught.value)


# the config


def test_ca_file_is_read_at_load_relative_to_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "corp-ca.pem").write_text(ssl_pem())
    config = cfg.loads(
        '[console]\nca_file = "corp-ca.pem"\nproxy = "env"\n'
        '[[health]]\nname = "h"\nurl = "https://x/"\nca_file = "corp-ca.pem"\nproxy = "http://u:p@proxy:3128"\n'
        '[prometheus]\nurl = "https://p/"\nca_file = "corp-ca.pem"\n'
        '[alertmanager]\nurl = "https://a/"\nproxy = "http://proxy:3128"\n',
        source=tmp_path / "config.toml",
    )
    assert config.console.ca_file == config.health[0].ca_file == tmp_path / "corp-ca.pem"
    assert config.health[0].request()["proxy"] == "http://u:p@proxy:3128"
    assert (config.prometheus.route(), config.alertmanager.route()) == (
        {"ca_file": tmp_path / "corp-ca.pem", "proxy": None},
        {"ca_file": None, "proxy": "http://proxy:3128"},
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('ca_file = "missing.pem"', "line 4: health[0].ca_file: cannot read {tmp}/missing.pem: No such file"),
        ('ca_file = "not-pem.pem"', "health[0].ca_file: {tmp}/not-pem.pem holds no PEM certificate"),
        ('proxy = "socks5://p:1080"', 'health[0].proxy: expected "env" (HTTPS_PROXY / HTTP_PROXY / NO_PROXY) or'),
        ('proxy = "proxy:3128"', "an http:// proxy URL such as \"http://proxy:3128\", got 'proxy:3128'"),
        ('headers = { X-Key = "${KEY}" }', "health[0].headers: header X-Key's value holds a line break or NUL"),
        ('headers = { "X Key" = "v" }', "health[0].headers: header name 'X Key' is not a token"),
    ],
)
def test_route_and_header_mistakes_are_config_errors(tmp_path: Path, body: str, expected: str) -> None:
    (tmp_path / "not-pem.pem").write_text("not a certificate\n")
    message = error_of(tmp_path, f'[[health]]\nname = "h"\nurl = "https://x/"\n{body}\n')
    assert expected.format(tmp=tmp_path) in message
    assert "\r" not in message and "X-Evil" not in message  # the secret value is masked, not printed


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('command = ["x"]\nproxy = "env"', "method, headers, body, json, ca_file and proxy apply to a url"),
        ('promql = "up"\nproxy = "env"', "a promql query goes to [prometheus]: set ca_file and proxy there"),
    ],
)
def test_routes_belong_to_urls(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error_of(tmp_path, f'[prometheus]\nurl = "http://p/"\n[[metric]]\nname = "m"\n{body}\n')


def ssl_pem() -> str:
    """A CA certificate in PEM: the system store's first, read back (any real certificate will do)."""
    return ssl.DER_cert_to_PEM_cert(ssl.create_default_context().get_ca_certs(binary_form=True)[0])


# proxies


def proxy_view(request: Request) -> bytes:
    """A forward proxy's answer: the request line's target and the Proxy-Authorization it was given."""
    return answer(200, json.dumps([request.path, request.headers.get("proxy-authorization")]).encode())


async def test_a_configured_proxy_carries_the_request_with_its_credentials(client) -> None:
    async with ScriptedServer(proxy_view) as proxy:
        through = HttpClient(proxy=proxy.url().replace("//", "//ops:p%40ss@"))  # [console] proxy
        default = await fetch(through, "http://service.invalid:8080/health", 2.0)
        await through.aclose()
        own = await fetch(client, "http://service.invalid/x?y=1", 2.0, proxy=proxy.url())  # a target's proxy
    assert json.loads(default.body) == ["http://service.invalid:8080/health", "Basic b3BzOnBAc3M="]
    assert json.loads(own.body) == ["http://service.invalid/x?y=1", None]


class TunnelProxy:
    """A forward proxy for https: CONNECT host:port, 200, then bytes both ways; it records each CONNECT's head."""

    def __init__(self) -> None:
        self.connects: list[list[str]] = []

    async def __aenter__(self) -> TunnelProxy:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")[:-2]
        self.connects.append(head)
        host, _, port = head[0].split(" ")[1].rpartition(":")
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def test_https_goes_through_a_proxy_tunnel_verified_with_the_ca_file(client, certificate) -> None:
    _, cert = certificate
    async with (
        TunnelProxy() as proxy,
        ScriptedServer(lambda r: answer(body=b"tunnelled"), serving(certificate)) as service,
    ):
        via = proxy.url.replace("//", "//ops:pw@")
        result = await fetch(client, service.url("/", scheme="https"), 3.0, ca_file=cert, proxy=via)
        untrusted = await fetch(client, service.url("/", scheme="https"), 3.0, proxy=via)
    assert result.body == b"tunnelled" and untrusted.error == "TLS error: self-signed certificate"
    assert proxy.connects[0][0] == f"CONNECT 127.0.0.1:{service.port} HTTP/1.1"
    assert "Proxy-Authorization: Basic b3BzOnB3" in proxy.connects[0]


async def test_the_environment_proxy_is_used_only_when_the_config_says_env(client, monkeypatch) -> None:
    async with ScriptedServer(proxy_view) as proxy, ScriptedServer(lambda r: answer(body=b"direct")) as service:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        monkeypatch.setenv("NO_PROXY", "localhost")
        unasked = await fetch(client, service.url("/a"), 2.0)
        asked = await fetch(client, service.url("/b"), 2.0, proxy="env")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        bypassed = await fetch(client, service.url("/c"), 2.0, proxy="env")
    assert (unasked.body, bypassed.body) == (b"direct", b"direct")
    assert json.loads(asked.body) == [service.url("/b"), None]
    assert [r.path for r in service.requests] == ["/a", "/c"] and len(proxy.requests) == 1


async def test_a_proxy_that_is_down_or_refuses_is_named_as_the_proxy(client) -> None:
    from console.demo.servers import free_port

    result = await fetch(client, "http://service.invalid/", 2.0, proxy=f"http://127.0.0.1:{free_port()}")
    async with ScriptedServer(lambda r: answer(407, b"", "Proxy-Authenticate: Basic")) as proxy:
        refused = await fetch(client, "https://service.invalid/", 2.0, proxy=proxy.url())
    assert result.error == "proxy unreachable: connection refused"
    assert refused.error == "proxy answered HTTP 407" and proxy.requests[0].method == "CONNECT"


async def test_check_feeds_and_actions_take_the_console_and_section_routes(tmp_path: Path) -> None:
    def respond(request: Request) -> bytes:
        return answer(200, b"[]") if "/api/v2/alerts" in request.path else answer(200, b'{"status": "ok"}')

    async with ScriptedServer(respond) as proxy:
        config = cfg.loads(
            f'[console]\nenvironment = "staging"\nproxy = "{proxy.url()}"\njournal = "{tmp_path / "j.jsonl"}"\n'
            '[[health]]\nname = "api"\nurl = "http://api.invalid/health"\n'
            f'[alertmanager]\nurl = "http://alertmanager.invalid:9093"\nproxy = "{proxy.url()}"\n',
            source=tmp_path / "config.toml",
        )
        reached = await reach_all(config)
        feeds = build_feeds(config, Clock())
        try:
            [health] = [feed for feed in feeds.polled if feed.key == "health:api"]
            polled = await health.poll()
        finally:
            await feeds.aclose()
        plan = await build_runner(config).plan("silence", {"alertname": "HighErrorRate", "comment": "deploy"})
    assert [(r.kind, r.ok) for r in reached] == [("health", True), ("alertmanager", True)]
    assert polled.state.value == "ok" and "0 firing alerts silenced now" in plan.summary
    assert {r.path.split("?")[0] for r in proxy.requests} == {
        "http://api.invalid/health",
        "http://alertmanager.invalid:9093/-/ready",
        "http://alertmanager.invalid:9093/api/v2/alerts",
    }


# Happy Eyeballs


class HostsTable(AbstractResolver):
    """Names answered from a table, in its order, as /etc/hosts would: this test's own resolver."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_UNSPEC) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=socket.IPPROTO_TCP,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        pass


@contextmanager
def blackholed(host: str) -> Iterator[int]:
    """A port on `host` that never answers a connection attempt: a listener whose accept queue one connection fills,
    so the kernel drops every later SYN, as a firewall that drops packets does."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.bind((host, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection((host, port))
    try:
        yield port
    finally:
        filler.close()
        listener.close()


async def test_a_blackholed_first_address_costs_a_quarter_second_not_the_timeout() -> None:
    with blackholed("::1") as port:
        async with ScriptedServer(lambda r: answer(body=b"via IPv4"), port=port) as server:
            client = HttpClient(resolver=HostsTable({"api.test": ["::1", "127.0.0.1"]}))
            try:
                stuck = await fetch(client, f"http://[::1]:{port}/", 0.5)
                started = time.perf_counter()
                result = await fetch(client, f"http://api.test:{port}/health", 3.0)
                elapsed = time.perf_counter() - started
            finally:
                await client.aclose()
    assert stuck.error == "timeout after 500ms"  # the IPv6 address really is a blackhole
    assert (result.status_code, result.body) == (200, b"via IPv4") and server.connections == 1
    assert 0.2 < elapsed < 1.5, f"answered after {elapsed:.2f}s"
