"""`incident-console demo`: a throwaway environment that plays an incident, and the console opened on it.

The demo world (HTTP service, PostgreSQL and Redis in a temp dir, their workloads, the log writer) runs in its
own thread and event loop, so the console sees it exactly as it would see production. Everything stops on exit,
Ctrl+C included; the servers also stop at interpreter exit if anything goes wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from console.demo.servers import PostgresServer, RedisServer, ServerUnavailable
from console.demo.servers.channels import ChannelServer, Credentials
from console.demo.service import DemoService
from console.output import out

INCIDENT_AFTER = 60.0
ROLLBACK_SCRIPT = Path(__file__).with_name("rollback.py")
PLAYBOOKS = Path(__file__).with_name("playbooks")  # the demo's own playbooks (high-error-rate, slow-responses)


class DemoWorld:
    """Starts and stops everything the demo needs; `notices` say what could not start and how to fix it."""

    def __init__(self, directory: Path, incident_after: float = INCIDENT_AFTER) -> None:
        self.directory = directory
        self.service = DemoService(incident_after=incident_after)
        self.channels = ChannelServer()  # the demo's chat and status page: the triage path ends with a real post
        self.postgres: PostgresServer | None = None
        self.redis: RedisServer | None = None
        self.notices: list[tuple[str, str]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="demo-world", daemon=True)
        self._stoppers: list[Callable[[], Awaitable[None]]] = []
        self._on_phase: list[Callable[[str], Any]] = []

    def start(self) -> None:
        self.service.start()
        self.channels.start()
        self._thread.start()
        try:
            self.postgres = PostgresServer(max_connections=120)
            self.postgres.start()
        except ServerUnavailable as exc:
            self.postgres = None
            self.notices.append(("PostgreSQL", f"No PostgreSQL pane in this demo: {exc}"))
        try:
            self.redis = RedisServer()
            self.redis.start()
        except ServerUnavailable as exc:
            self.redis = None
            self.notices.append(("Redis", f"No Redis pane in this demo: {exc}"))
        self._run(self._start_workloads(), timeout=60)
        self.service.on_phase(lambda phase: self._loop.call_soon_threadsafe(self._phase, phase))

    def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self._run(self._stop_workloads(), timeout=15)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        for server in (self.redis, self.postgres):
            if server is not None:
                server.stop()
        self.service.stop()
        self.channels.stop()

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _phase(self, phase: str) -> None:
        for callback in self._on_phase:
            callback(phase)

    async def _start_workloads(self) -> None:
        from console.demo.logwriter import DemoLogWriter

        logs = DemoLogWriter(self.directory)
        await logs.start()
        self._stoppers.append(logs.stop)
        self._on_phase.append(lambda phase: setattr(logs, "incident", phase in ("degrading", "incident")))
        if self.postgres is not None:
            from console.demo.pg_workload import PgWorkload

            workload = PgWorkload(self.postgres.dsn)
            await workload.start(locks=False)  # blocked sessions come with the incident, not before its onset
            self._stoppers.append(workload.stop)
            self._on_phase.append(lambda phase: workload.lock_chain() if phase in ("degrading", "incident") else None)
        if self.redis is not None:
            from console.demo.redis_seed import CacheTraffic, seed

            await seed(self.redis.url)
            traffic = CacheTraffic(self.redis.url)
            await traffic.start()
            self._stoppers.append(traffic.stop)
            self._on_phase.append(lambda phase: traffic.degrade(phase in ("degrading", "incident")))

    async def _stop_workloads(self) -> None:
        for stop in reversed(self._stoppers):
            with contextlib.suppress(Exception):
                await stop()

    def config_text(self) -> str:
        """The demo's config: one environment named `demo` with every section the world could start."""
        return demo_config(
            self.service.url,
            self.directory,
            postgres_dsn=self.postgres.dsn if self.postgres is not None else None,
            redis_url=self.redis.url if self.redis is not None else None,
            channels_url=self.channels.url,
        )

    def posted(self) -> str:
        """What the demo's chat and status page received, in words."""
        chat = sum(1 for r in self.channels.received if r.service == "slack" and r.method == "POST")
        page = sum(len(incident["updates"]) for incident in self.channels.state.incidents.values())
        return f"the demo chat got {chat} message(s), the demo status page {page} incident update(s)"


def demo_config(
    url: str,
    directory: Path,
    *,
    postgres_dsn: str | None = None,
    redis_url: str | None = None,
    channels_url: str | None = None,
) -> str:
    """The demo config for the service at `url`, files in `directory`, and PostgreSQL / Redis and the loopback chat
    and status page (a `ChannelServer` at `channels_url`) when given."""
    python = sys.executable
    parts = [
        f'[console]\nenvironment = "demo"\nrefresh = "2s"\njournal = "{directory / "journal.jsonl"}"\n'
        f'playbooks = ["{PLAYBOOKS}"]\n',
        f'[[health]]\nname = "api"\nurl = "{url}/api/health"\nwarn_ms = 500\ncrit_ms = 1000\n'
        'expect_json = { status = "ok" }\nservice = "api"\n',
        f'[[health]]\nname = "database"\nurl = "{url}/api/health/db"\nwarn_ms = 200\ncrit_ms = 400\n',
        f'[[health]]\nname = "cache"\nurl = "{url}/api/health/cache"\nwarn_ms = 100\ncrit_ms = 140\n',
        f'[[metric]]\nname = "error rate"\nurl = "{url}/api/metrics/errors"\npath = "errorRate"\nunit = "%"\n'
        'warn = 0.5\ncrit = 1.0\nservice = "api"\n',
        f'[[metric]]\nname = "p95 latency"\nurl = "{url}/api/metrics/latency"\npath = "p95"\nunit = "ms"\n'
        'warn = 800\ncrit = 2000\nservice = "api"\n',
        f'[[metric]]\nname = "cache hit rate"\nurl = "{url}/api/metrics/cache"\npath = "hitRate"\nunit = "%"\n'
        "warn = 90\ncrit = 80\nbelow = true\n",
        f'[[logs]]\nname = "app"\npath = "{directory / "app.log"}"\nformat = "text"\n',
        f'[[logs]]\nname = "worker"\npath = "{directory / "worker.jsonl"}"\nformat = "json"\n',
        "[actions.rollback]\n"
        f'command = ["{python}", "{ROLLBACK_SCRIPT}", "--url", "{url}", "--environment", "{{environment}}", '
        '"--version", "{version}"]\n'
        'params = { version = { description = "release to roll back to", default = "v1.2.2" } }\n'
        'risk = "destructive"\ntimeout = "2m"\ndescription = "roll the demo service back to an earlier release"\n',
        # the service's release history as a change source: the high-error-rate playbook rolls its suspect back
        f'[[changes]]\nname = "releases"\nkind = "http"\nurl = "{url}/api/releases"\nitems = "releases"\n'
        'service = "api"\ninterval = "5s"\n'
        "map = { id = \"join('@', [version, deployed_at])\", version = \"version\", time = \"deployed_at\", "
        'live_at = "deployed_at" }\n',
    ]
    if postgres_dsn is not None:
        parts.append(f'[postgres]\ndsn = "{postgres_dsn}"\nlong_running = "30s"\nidle_older_than = "1m"\n')
    if redis_url is not None:
        parts.append(f'[redis]\nurl = "{redis_url}"\n')
    if channels_url is not None:
        demo = Credentials()
        parts.append(
            f'[[channel]]\nname = "chat"\nkind = "slack"\nurl = "{channels_url}{demo.slack_hook}"\n'
            f'token = "{demo.slack_token}"\napi = "{channels_url}/slack/api"\n'
        )
        parts.append(
            f'[[channel]]\nname = "status-page"\nkind = "statuspage"\npage_id = "demo"\n'
            f'token = "{demo.statuspage_token}"\napi = "{channels_url}/statuspage/v1"\n'
            'components = { demo = "demo-api" }\n'
        )
    return "\n".join(parts)


def run_demo(
    *, theme: str | None = None, read_only: bool = False, wall: bool = False, incident_after: float = INCIDENT_AFTER
) -> int:
    """Start the world, write its config, run the console on it, stop everything."""
    from actions.registry import build_runner
    from console import config as config_module
    from console.config import ConfigError
    from console.tui.app import ConsoleApp
    from themes import choose_theme

    directory = Path(tempfile.mkdtemp(prefix="incident-console-demo-"))
    os.chmod(directory, 0o700)
    world = DemoWorld(directory, incident_after)
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        out("incident-console demo: starting the demo environment...", err=True)
        world.start()
        path = directory / "config.toml"
        path.write_text(world.config_text())
        config = config_module.load(path)
        try:
            name = choose_theme(theme, config.console.theme, bool(os.environ.get("NO_COLOR")))
        except ValueError as exc:
            raise ConfigError(f"--theme: {exc}") from None
        runner = build_runner(config, read_only=read_only or wall)
        app = ConsoleApp(config, runner, theme=name, notices=world.notices, wall=wall)
        app.run()
        out(f"incident-console demo: {world.posted()}", err=True)
        return app.return_code or 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        world.stop()
        _keep_journal_and_config(directory)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _keep_journal_and_config(directory: Path) -> None:
    """Remove the demo's files but keep its journal and config, so `journal show|export` and `--wall` can be tried
    on them after it ends (the config names the journal; its targets are gone, so its tiles say DOWN)."""
    journal, config = directory / "journal.jsonl", directory / "config.toml"
    for path in directory.iterdir():
        if path not in (journal, config):
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    if not journal.exists():
        config.unlink(missing_ok=True)
        directory.rmdir()
        return
    out(f"incident-console demo: stopped everything; the demo journal is kept at {journal}", err=True)
    if config.exists():
        command = f"incident-console --wall --config {shlex.quote(str(config))}"
        out(f"incident-console demo: its config is kept at {config}; `{command}` opens the wall on it", err=True)
