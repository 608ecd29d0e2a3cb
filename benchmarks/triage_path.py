"""Keystrokes and seconds to mitigate the demo incident: guided triage versus the dashboard alone.

.venv/bin/python benchmarks/triage_path.py

The real demo: `DemoService` with the incident starting at once (v1.2.3 deployed, the error rate ramping up), the
config `incident-console demo` writes (0600 file in a 0700 temp folder), the real rollback script, and the console
driven headless at 80x24 through Textual's Pilot with its real feeds polling the service every 2 s. Each path starts
once the error-rate tile is CRIT and ends when it is OK again; every key is counted (a typed word counts its
letters) and the seconds run from the first key to OK. Between keys the script waits for the screen it expects (or
the rollback to finish), never a fixed sleep.

A, triage: `t`, `enter` (the suggested high-error-rate playbook), `enter` (declare at the suggested SEV-2), `enter`
(the look step shows the error logs), `t` (the dashboard's hint names it), `enter` (the change ledger named the
deploy, so the rollback to `{changes.previous.version}` is proposed: its preview opens), `demo` `enter` (typed
confirmation), `enter` (closes the finished run). `triage_newcomer.py` drives the same path by reading the screen alone.
B, dashboard alone, an operator who knows what to do: `ctrl+p`, `rollback`, `enter`, `v1.2.2` in the form (the
prefilled value is selected on focus, so typing replaces it), `enter`, `demo` `enter`. Declaring the incident by
hand (`i`, `d`, a 20-character title, `ctrl+s` at the default SEV-2) is a row of its own, since A declared too.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table
from textual.command import CommandPalette

from actions.registry import build_runner
from console import config as config_module
from console.demo.run import demo_config
from console.demo.service import GOOD_VERSION, DemoService
from console.models import State
from console.tui.app import ConsoleApp
from console.tui.screens.action_form import ActionFormScreen
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.declare import DeclareScreen
from console.tui.screens.incident import IncidentScreen
from console.tui.screens.pick import PickScreen
from console.tui.screens.triage import TriageScreen

SIZE = (80, 24)
WAIT = 60.0  # seconds any one expected screen or state may take before the run is called failed
TITLE = "API errors after 123"  # 20 characters
assert len(TITLE) == 20


@dataclass
class Run:
    """One path: keys pressed, seconds from the first key to OK, the rollback's own duration from the journal."""

    path: str
    keys: int = 0
    seconds: float = 0.0
    rollback_ms: int | None = None
    started: float = 0.0
    done: bool = False  # the path reached OK (an app error after that does not change its figures)
    error: str = ""
    log: list[str] = field(default_factory=list)


class Driver:
    def __init__(self, app: ConsoleApp, pilot, run: Run) -> None:
        self.app, self.pilot, self.run = app, pilot, run

    async def until(self, what: str, ready: Callable[[], bool], timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.run.path}: waited {timeout:g}s for {what}; screen {self.app.screen!r}")
            await self.pilot.pause(0.02)

    async def press(self, *keys: str, then: str, ready: Callable[[], bool]) -> None:
        if not self.run.started:
            self.run.started = time.monotonic()
        await self.pilot.press(*keys)
        self.run.keys += len(keys)
        await self.pilot.pause()
        await self.until(then, ready)
        self.run.log.append(f"{' '.join(keys)} -> {then} ({time.monotonic() - self.run.started:.2f}s)")

    async def type(self, word: str, *, then: str, ready: Callable[[], bool]) -> None:
        await self.press(*word, then=then, ready=ready)

    def error_rate(self) -> State | None:
        check = self.app.live.check("metric", "error rate")
        return check.state if check else None

    def screen_is(self, kind: type) -> Callable[[], bool]:
        return lambda: isinstance(self.app.screen, kind)

    def action_done(self) -> bool:
        screen = self.app.screen
        return isinstance(screen, ActionRunScreen) and screen.has_class("-done")

    def typed_value(self, word: str) -> Callable[[], bool]:
        return lambda: isinstance(self.app.screen, ActionRunScreen) and self.focused_value() == word

    def focused_value(self) -> str | None:
        focused = self.app.focused
        return getattr(focused, "value", None)


def rollback_ms(journal: Path) -> int | None:
    for line in journal.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("kind") == "action.completed" and entry.get("data", {}).get("action") == "rollback":
            return entry["data"]["duration_ms"]
    return None


async def with_console(path: str, drive: Callable[[Driver], object]) -> Run:
    """A fresh service with the incident starting now, the demo config, a console with real feeds; drive it."""
    run = Run(path)
    directory = Path(tempfile.mkdtemp(prefix="triage-path-"))
    os.chmod(directory, 0o700)
    try:
        with DemoService(incident_after=0.0) as service:
            config_path = directory / "config.toml"
            config_path.write_text(demo_config(service.url, directory))
            config_path.chmod(0o600)
            config = config_module.load(config_path)
            runner = build_runner(config)
            app = ConsoleApp(config, runner)
            try:
                async with app.run_test(size=SIZE) as pilot:
                    driver = Driver(app, pilot, run)
                    await driver.until("the error-rate tile CRIT", lambda: driver.error_rate() is State.CRIT, 90)
                    await drive(driver)
                    run.done = True
            except Exception as exc:  # the app's own error, raised by run_test on the way out
                if not run.done:
                    raise
                run.error = f"{type(exc).__name__}: {exc}"
            run.rollback_ms = rollback_ms(Path(config.console.journal))
            current = service.releases()["current"]
            if run.rollback_ms is not None and current != GOOD_VERSION:
                raise RuntimeError(f"{path}: the service runs {current} after the rollback, not {GOOD_VERSION}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return run


async def triage(d: Driver) -> None:
    app = d.app
    await d.press("t", then="triage screen", ready=d.screen_is(TriageScreen))
    await d.press("enter", then="declare offer", ready=d.screen_is(PickScreen))
    await d.press(
        "enter", then="the run, declared", ready=lambda: isinstance(app.screen, TriageScreen) and app.triage.view
    )
    await d.press("enter", then="dashboard, logs", ready=lambda: app.screen is app.dashboard)
    await d.press("t", then="triage screen", ready=d.screen_is(TriageScreen))
    await d.press("enter", then="yes, and the rollback preview", ready=d.screen_is(ActionRunScreen))
    await d.type("demo", then="typed", ready=d.typed_value("demo"))
    await d.press("enter", then="rollback done", ready=d.action_done)
    await d.press("enter", then="triage screen", ready=d.screen_is(TriageScreen))
    await d.until("the error-rate tile OK", lambda: d.error_rate() is State.OK)
    d.run.seconds = time.monotonic() - d.run.started
    declared_sev2(app)


async def dashboard(d: Driver) -> None:
    app = d.app

    def palette_ready() -> bool:
        screen = app.screen
        if not isinstance(screen, CommandPalette):
            return False
        results = screen.query_one("CommandList")
        return results.option_count > 0 and results.highlighted is not None

    await d.press("ctrl+p", then="command palette", ready=d.screen_is(CommandPalette))
    await d.type("rollback", then="rollback found", ready=palette_ready)
    await d.press(
        "enter",
        then="rollback form",
        ready=lambda: isinstance(app.screen, ActionFormScreen) and app.screen.action == "rollback",
    )
    await d.type("v1.2.2", then="version typed", ready=lambda: d.focused_value() == "v1.2.2")
    await d.press("enter", then="rollback preview", ready=d.screen_is(ActionRunScreen))
    await d.type("demo", then="typed", ready=d.typed_value("demo"))
    await d.press("enter", then="rollback done", ready=d.action_done)
    await d.until("the error-rate tile OK", lambda: d.error_rate() is State.OK)
    d.run.seconds = time.monotonic() - d.run.started


async def declare(d: Driver) -> None:
    app = d.app
    await d.press("i", then="incident screen", ready=d.screen_is(IncidentScreen))
    await d.press("d", then="declare form", ready=d.screen_is(DeclareScreen))
    await d.type(TITLE, then="title typed", ready=lambda: d.focused_value() == TITLE)
    await d.press("ctrl+s", then="declared", ready=d.screen_is(IncidentScreen))
    d.run.seconds = time.monotonic() - d.run.started
    declared_sev2(app)


def declared_sev2(app: ConsoleApp) -> None:
    """The path really declared the incident, at SEV-2."""
    entries = [json.loads(line) for line in Path(app.config.console.journal).read_text().splitlines()]
    declared = [e for e in entries if e.get("kind") == "incident.declared"]
    if not declared or declared[-1]["data"].get("severity") != "SEV-2":
        raise RuntimeError(f"no SEV-2 incident.declared in the journal ({declared})")


async def main() -> None:
    a = await with_console("A: triage (t ... demo enter enter), declares at SEV-2", triage)
    b = await with_console("B: dashboard alone (ctrl+p rollback ... demo enter)", dashboard)
    c = await with_console("B': declare by hand (i d TITLE ctrl+s), SEV-2", declare)
    table = Table(title=f"Mitigating the demo incident at {SIZE[0]}x{SIZE[1]}: first key to error-rate OK")
    for column in ("path", "keys", "seconds", "rollback script ms", "keys B/A"):
        table.add_column(column, justify="left" if column == "path" else "right")
    table.add_row(a.path, str(a.keys), f"{a.seconds:.2f}", str(a.rollback_ms), "1.00")
    table.add_row(b.path, str(b.keys), f"{b.seconds:.2f}", str(b.rollback_ms), f"{b.keys / a.keys:.2f}")
    table.add_row(c.path, str(c.keys), f"{c.seconds:.2f}", "-", "-")
    total = b.keys + c.keys
    table.add_row("B + B': dashboard, rollback and declare", str(total), "-", "-", f"{total / a.keys:.2f}")
    Console().print(table)
    for run in (a, b):
        if run.rollback_ms is None:
            raise RuntimeError(f"{run.path}: no action.completed for the rollback in the journal")
        script = run.rollback_ms / 1000
        most = "the largest part" if script / run.seconds < 0.5 else "most"
        print(
            f"{run.path[:1]}: the rollback script itself (journal action.completed duration_ms, 1 s drain + the "
            f"service's 3 s recovery) ran {script:.2f}s of {run.seconds:.2f}s ({script / run.seconds:.0%}, {most}); "
            f"keys, screens and polling to OK {run.seconds - script:.2f}s"
        )
    print(
        "seconds: Pilot presses each key and the script waits for the next screen, so this is an operator with no "
        "think time; the feeds poll every 2 s"
    )
    for run in (a, b, c):
        if run.error:
            print(f"{run.path[:2].rstrip(':')}: the console raised after the path was done: {run.error}")
    if os.environ.get("TRIAGE_PATH_LOG"):
        for run in (a, b, c):
            print(run.path, *run.log, sep="\n  ")
    uptime = shutil.which("uptime")
    print(subprocess.run([uptime], capture_output=True, text=True).stdout.strip() if uptime else "uptime: not found")


if __name__ == "__main__":
    asyncio.run(main())
