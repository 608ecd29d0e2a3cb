"""`cert_warn` / `cert_crit` on an https `[[health]]` target: the days its certificate has left are a check of their
own (`cert:NAME`), read from the handshake the probe already makes, against a real TLS server whose certificates are
made here with a short validity."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.clock import Clock
from console.config import HealthTarget, loads
from console.http import HttpClient, fetch
from console.models import State
from console.redact import Redactor
from console.sources.health import HealthSource
from tests.helpers import make_certificate
from tests.scripted_server import ScriptedServer, answer, serving


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    client = HttpClient()
    yield client
    await client.aclose()


async def probe(client: HttpClient, url: str, ca_file: Path | None, **thresholds: str):
    target = HealthTarget(name="api", url=url, ca_file=ca_file, **thresholds)
    return await HealthSource([target], client, Clock(), Redactor()).poll_one("api")


@pytest.mark.parametrize(("days", "state"), [(30, State.OK), (10, State.WARN), (2, State.CRIT)])
async def test_the_days_left_are_a_check_judged_by_cert_warn_and_cert_crit(
    tmp_path: Path, client: HttpClient, days: int, state: State
) -> None:
    key, cert = make_certificate(tmp_path, days)
    async with ScriptedServer(lambda r: answer(body=b"ok"), serving((key, cert))) as server:
        snap = await probe(client, server.url(scheme="https"), cert, cert_warn="14d", cert_crit="3d")
        again = await probe(client, server.url(scheme="https"), cert, cert_warn="14d", cert_crit="3d")
    assert server.connections == 1  # the probe's own handshake, kept alive: no second connection
    health, expiry = snap.checks()
    assert health.state is State.OK and expiry.key == "cert:api" and expiry.state is state
    assert days - 1.01 < expiry.number <= days and again.cert == expiry  # read from the kept-alive connection too
    assert expiry.value.endswith(" left") and expiry.value.startswith(f"{days - 1}d ")
    expires = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")
    assert expiry.reason.endswith(f"expires {expires} {expiry.reason[-9:-4]} UTC")
    if state is not State.OK:
        assert expiry.reason.startswith(f"under {state.value} {'14d 0h' if state is State.WARN else '3d 0h'}; ")


async def test_fetch_reads_the_expiry_only_over_https(tmp_path: Path, client: HttpClient) -> None:
    key, cert = make_certificate(tmp_path, 5)
    async with ScriptedServer(lambda r: answer(body=b"ok"), serving((key, cert))) as tls:
        secure = await fetch(client, tls.url(scheme="https"), 2.0, ca_file=cert)
    async with ScriptedServer(lambda r: answer(body=b"ok")) as plain:
        clear = await fetch(client, plain.url(), 2.0)
    assert secure.cert_expires is not None and 4 <= (secure.cert_expires - datetime.now(UTC)).days < 5
    assert clear.cert_expires is None


async def test_no_certificate_read_is_unknown_with_the_reason(tmp_path: Path, client: HttpClient) -> None:
    key, cert = make_certificate(tmp_path, 30)
    async with ScriptedServer(lambda r: answer(body=b"ok"), serving((key, cert))) as server:
        untrusted = await probe(client, server.url(scheme="https"), None, cert_crit="3d")  # a CA it does not trust
    assert untrusted.cert is not None and untrusted.cert.state is State.UNKNOWN
    assert untrusted.cert.reason.startswith("no certificate read (the request failed: ")


async def test_without_thresholds_there_is_no_certificate_check(tmp_path: Path, client: HttpClient) -> None:
    key, cert = make_certificate(tmp_path, 2)
    async with ScriptedServer(lambda r: answer(body=b"ok"), serving((key, cert))) as server:
        snap = await probe(client, server.url(scheme="https"), cert)
    assert [c.key for c in snap.checks()] == ["health:api"]


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ('url = "http://x"\ncert_warn = "14d"', "health[0]: cert_warn: only an https:// url has a certificate"),
        ('url = "https://x"\ncert_warn = "3d"\ncert_crit = "14d"', "health[0]: cert_crit must be shorter"),
        ('url = "https://x"\ncert_crit = "0s"', "health[0].cert_crit: must be more than 0"),
    ],
)
def test_thresholds_that_cannot_work_are_config_errors(keys: str, problem: str) -> None:
    with pytest.raises(Exception, match=re.escape(problem)):
        loads(f'[[health]]\nname = "api"\n{keys}\n')
