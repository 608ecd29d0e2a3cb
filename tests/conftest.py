"""Shared fixtures: throwaway servers on loopback, and isolation from the user's environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from http_server import LoopbackHTTPServer

from console.demo.servers import (
    AlertmanagerServer,
    PostgresServer,
    PrometheusServer,
    RedisServer,
    ServerUnavailable,
)
from tests.helpers import make_certificate

T = TypeVar("T", PostgresServer, RedisServer, PrometheusServer, AlertmanagerServer)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's config, state and colour settings out of every test."""
    monkeypatch.delenv("INCIDENT_CONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        directory = tmp_path / name.lower()
        directory.mkdir(mode=0o700)  # the journal refuses a folder others may write to, whatever the umask
        monkeypatch.setenv(name, str(directory))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL with pg_stat_statements, shared by the whole session."""
    yield from running(PostgresServer())


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis without persistence, shared by the whole session."""
    yield from running(RedisServer())


@pytest.fixture(scope="session")
def exporter() -> Iterator[LoopbackHTTPServer]:
    """The loopback `/metrics` endpoint that `prometheus_server` scrapes every second (route it in a test)."""
    with LoopbackHTTPServer() as server:
        server.route("/metrics", body="# no samples yet\n")
        yield server


@pytest.fixture(scope="session")
def prometheus_server(exporter: LoopbackHTTPServer) -> Iterator[PrometheusServer]:
    """A Prometheus scraping `exporter` every second, shared by the whole session."""
    yield from running(PrometheusServer([f"127.0.0.1:{exporter.port}"]))


@pytest.fixture(scope="session")
def alertmanager_server() -> Iterator[AlertmanagerServer]:
    """An Alertmanager that notifies nobody, shared by the whole session."""
    yield from running(AlertmanagerServer())


@pytest.fixture
def http_server() -> Iterator[LoopbackHTTPServer]:
    """A loopback HTTP server; add routes with ``http_server.route(...)``."""
    with LoopbackHTTPServer() as server:
        yield server


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (key, cert) PEM files (tests/scripted_server.py serves with it)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


def running(server: T) -> Iterator[T]:
    """Start a throwaway server for a fixture and stop it afterwards.

    Without the server's binaries: skip on a developer's machine, fail under CI (scripts/test.sh installs them).
    """
    try:
        server.start()
    except ServerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} (CI installs it with scripts/test.sh)")
        pytest.skip(str(exc))
    yield server
    server.stop()
