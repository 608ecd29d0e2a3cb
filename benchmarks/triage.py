"""What triage adds to a refresh: 50 playbooks x 20 conditions against a live state of 200 checks.

.venv/bin/python benchmarks/triage.py [--refreshes 200] [--seed 7]

Every refresh hands the live state 200 fresh models (100 `[[metric]]` and 100 `[[health]]` snapshots, values and
states moving), then evaluates the 1000 conditions (each playbook's `when` and its 19 check steps: numeric
comparisons, `is` states, any/all, and/or/not) from their text for their value, as a refresh needs them, and runs
`suggest()` over the 50 playbooks (evidence in words only for those suggested). CPU time per refresh (process
time), median and p95; beside it the baseline every refresh pays anyway, `LiveState.update` of the 200 models, and
the 1000 conditions evaluated with their evidence in words (what showing every one of them would cost).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from console.clock import ManualClock
from console.live import LiveState
from console.models import State
from console.models.health import HealthSnapshot, MetricSnapshot
from console.triage.conditions import evaluate, parse
from console.triage.playbook import Playbook
from console.triage.suggest import suggest
from console.triage.truth import truth

START = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)
CHECKS = 100  # of each kind: 100 metrics + 100 health checks
PLAYBOOKS, CONDITIONS = 50, 20
GOAL_MS = 5.0
STATES = (State.OK, State.OK, State.OK, State.WARN, State.CRIT, State.DOWN)


def models(rng: random.Random, now: datetime) -> list[HealthSnapshot | MetricSnapshot]:
    """One refresh's worth: every check with a new value, a few of them unhealthy."""
    batch: list[HealthSnapshot | MetricSnapshot] = []
    for i in range(CHECKS):
        value = rng.uniform(0, 10)
        state = State.CRIT if value > 9 else State.WARN if value > 7 else State.OK
        batch.append(MetricSnapshot(name=f"m{i}", state=state, value=value, unit="%", warn=7, crit=9, taken_at=now))
        health = rng.choice(STATES)
        latency = None if health is State.DOWN else rng.uniform(5, 1500)
        batch.append(HealthSnapshot(name=f"h{i}", url=f"http://h{i}", state=health, latency_ms=latency, taken_at=now))
    return batch


def condition(rng: random.Random) -> str:
    """A condition mixing comparisons, states, quantifiers and and/or/not."""

    def atom() -> str:
        pick = rng.randrange(5)
        if pick == 0:
            return f'metric."m{rng.randrange(CHECKS)}" {rng.choice((">", ">=", "<", "!="))} {rng.uniform(0, 10):.1f}'
        if pick == 1:
            return f'health."h{rng.randrange(CHECKS)}" > {rng.randrange(100, 1000)}ms'
        if pick == 2:
            state = rng.choice(("ok", "warn", "crit", "down", "unhealthy"))
            return f'health."h{rng.randrange(CHECKS)}" is {"not " if rng.random() < 0.3 else ""}{state}'
        if pick == 3:
            return f"{rng.choice(('any', 'all'))} {rng.choice(('health', 'metric'))} is {rng.choice(('down', 'ok'))}"
        return f'not metric."m{rng.randrange(CHECKS)}" is ok'

    shape = rng.randrange(4)
    if shape == 0:
        return atom()
    if shape == 1:
        return f"{atom()} and {atom()}"
    if shape == 2:
        return f"{atom()} or not {atom()}"
    return f"({atom()} or {atom()}) and {atom()}"


def playbooks(rng: random.Random) -> list[Playbook]:
    """50 playbooks: a `when` and 19 check steps each."""
    found = []
    for n in range(PLAYBOOKS):
        texts = [condition(rng) for _ in range(CONDITIONS)]
        steps = [{"kind": "check", "condition": text, "on_fail": "done"} for text in texts[1:]]
        severity = "SEV-2" if n % 3 == 0 else None
        found.append(
            Playbook.model_validate(
                {"name": f"book-{n}", "title": f"Book {n}", "when": texts[0], "severity": severity, "steps": steps}
            )
        )
    return found


def cpu_ms(call: Callable[[], object]) -> float:
    started = time.process_time_ns()
    call()
    return (time.process_time_ns() - started) / 1e6


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    clock = ManualClock(START)
    live = LiveState(clock)
    books = playbooks(rng)
    texts = [text for book in books for text in (book.when, *(step.condition for step in book.steps))]
    parsed = [parse(text) for text in texts]
    batches = [models(rng, START + timedelta(seconds=2 * i)) for i in range(args.refreshes)]
    live.update(batches[0])  # every check seen once: the first update also creates the readings

    update, refresh, preparsed, suggested = [], [], [], 0
    for i, batch in enumerate(batches):
        clock.set(START + timedelta(seconds=2 * i))
        update.append(cpu_ms(lambda batch=batch: live.update(batch)))

        def triage() -> None:
            nonlocal suggested
            for text in texts:
                truth(text, live)
            suggested += len(suggest(books, live))

        refresh.append(cpu_ms(triage))
        preparsed.append(cpu_ms(lambda: [evaluate(expr, live) for expr in parsed]))

    baseline = statistics.median(update)
    table = Table(title=f"Triage per refresh: {PLAYBOOKS} playbooks x {CONDITIONS} conditions, {2 * CHECKS} checks")
    for column in ("work per refresh", "CPU ms median", "CPU ms p95", "goal", "x baseline (median)"):
        table.add_column(column, justify="left" if column == "work per refresh" else "right")
    rows = (
        ("LiveState.update of 200 models (baseline)", update, "-"),
        (f"{len(texts)} conditions from text + suggest()", refresh, f"<= {GOAL_MS:g} ms"),
        (f"{len(texts)} conditions with evidence in words (no suggest)", preparsed, "-"),
    )
    for label, times, goal in rows:
        median = statistics.median(times)
        table.add_row(label, f"{median:.2f}", f"{p95(times):.2f}", goal, f"{median / baseline:.1f}")
    Console().print(table)
    verdict = "met" if statistics.median(refresh) <= GOAL_MS else "missed"
    fitting = suggested / len(batches)
    print(f"goal <= {GOAL_MS:g} ms per refresh: {verdict}; {fitting:.1f} playbooks suggested per refresh on average")
    uptime = shutil.which("uptime")
    print(subprocess.run([uptime], capture_output=True, text=True).stdout.strip() if uptime else "uptime: not found")


if __name__ == "__main__":
    main()
