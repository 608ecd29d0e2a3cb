"""A newcomer who only follows what the screen says brings the demo from red to green: keys and seconds from the first
key to the error-rate tile OK, with `t` pressed the second the error rate turns CRIT and again 60 s later (when the
api health check has gone DOWN and the slow-answers playbook fits too).

.venv/bin/python benchmarks/triage_newcomer.py [--later 60] [--runs 1]

The same real demo as `triage_path.py` (its `with_console`: the demo service with the incident starting at once, the
config `incident-console demo` writes, the real rollback script, Pilot at 80x24, real feeds every 2 s). The newcomer
knows nothing of the demo: before each key it reads the screen and presses only what the screen names. On the
dashboard, the key the triage hint line starts with; where a run screen says "Type 'demo'", that word and enter;
where it says "Press y", y; where it says "enter closes", enter; on the triage screen and in a list of choices,
enter, as their key lines say; while a run or a verify goes on, nothing. Every key counts (a typed word its letters).

Goal: at most 12 keys and 60 s from the first key to the error-rate tile OK, at both moments.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.triage_path import Driver, Run, declared_sev2, with_console
from console.models import State
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.pick import PickScreen
from console.tui.screens.triage import TriageScreen

KEYS_GOAL, SECONDS_GOAL = 12, 60.0
MAX_KEYS = 40  # a newcomer lost on the screen: the run is called failed
STEP_WAIT = 15.0  # seconds the screen may take to change after a key


@dataclass(frozen=True)
class Moment:
    label: str
    later: float  # seconds after the error rate turned CRIT before the first key


def rendered(widget: object) -> str:
    return str(widget.render())  # type: ignore[attr-defined]


def what_the_screen_says(driver: Driver) -> list[str] | None:
    """The keys the screen names now, or None when it asks for nothing (a run or a verify going on)."""
    app = driver.app
    screen = app.screen
    if isinstance(screen, ActionRunScreen):
        if screen.running:
            return None
        hint = rendered(screen.query_one("#hint"))
        if typed := re.search(r"Type '([^']+)'", hint):
            return [*typed.group(1), "enter"]
        if "Press y" in hint:
            return ["y"]
        return ["enter"] if "enter closes" in hint else None
    if screen is app.dashboard:
        line = app.dashboard.triage_hint
        return [rendered(line).split()[0]] if line.text else None
    if isinstance(screen, PickScreen):
        return ["enter"]  # "enter: choose"
    if isinstance(screen, TriageScreen):
        if app.triage.engine is None:
            return ["enter"]  # "enter start the highlighted playbook"
        return ["enter"] if "enter" in rendered(screen.query_one("#current")) else None
    return None


def looks(driver: Driver) -> tuple:
    """What changes when a key did something."""
    app, view = driver.app, driver.app.triage.view
    step = (view.step.id, view.waiting_for) if view is not None and view.step is not None else None
    return (id(app.screen), step, app.dashboard.triage_hint.text, getattr(app.screen, "outcome", None))


def newcomer(later: float):
    async def drive(d: Driver) -> None:
        await d.pilot.pause(later)
        deadline = time.monotonic() + later + 180
        while d.error_rate() is not State.OK:
            if time.monotonic() > deadline or d.run.keys > MAX_KEYS:
                raise TimeoutError(f"the newcomer got lost: {d.run.keys} keys; {d.run.log}")
            keys = what_the_screen_says(d)
            if keys is None:
                await d.pilot.pause(0.1)
                continue
            before = looks(d)

            def changed(before: tuple = before) -> bool:
                return looks(d) != before or d.error_rate() is State.OK

            await d.press(*keys, then=" ".join(keys), ready=changed)
        d.run.seconds = time.monotonic() - d.run.started
        declared_sev2(d.app)
        await d.until("the rollback's end (the tile may turn OK first)", lambda: not d.app.actions.running())

    return drive


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--later", type=float, default=60.0, help="seconds after CRIT for the second moment")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    moments = (Moment("t the second the error rate turns CRIT", 0.0), Moment(f"t {args.later:g} s later", args.later))
    runs: list[tuple[Moment, Run]] = []
    for _ in range(args.runs):
        for moment in moments:
            runs.append((moment, await with_console(moment.label, newcomer(moment.later))))
    table = Table(title=f"A newcomer following the screen, demo at 80x24: first key to error-rate OK (goal ≤ "
                  f"{KEYS_GOAL} keys, ≤ {SECONDS_GOAL:g} s)")  # fmt: skip
    for column in ("moment", "keys", "seconds", "rollback script s", "goal"):
        table.add_column(column, justify="left" if column == "moment" else "right")
    for moment, run in runs:
        met = run.keys <= KEYS_GOAL and run.seconds <= SECONDS_GOAL
        script = f"{run.rollback_ms / 1000:.2f}" if run.rollback_ms is not None else "-"
        table.add_row(moment.label, str(run.keys), f"{run.seconds:.2f}", script, "met" if met else "MISSED")
    Console().print(table)
    for moment, run in runs:
        print(moment.label, *run.log, sep="\n  ")
        if run.error:
            print(f"  the console raised after the path was done: {run.error}")
    uptime = shutil.which("uptime")
    print(subprocess.run([uptime], capture_output=True, text=True).stdout.strip() if uptime else "uptime: not found")


if __name__ == "__main__":
    asyncio.run(main())
