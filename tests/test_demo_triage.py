"""The demo's incident, led by guided triage with the keyboard alone: red tiles, `t`, the suggested playbook, the
declaration, the logs, the deploy question, the rollback's preview, its typed confirmation, and back to green.

The same Pilot drives as benchmarks/triage_path.py (a known path, timed against the dashboard alone) and
benchmarks/triage_newcomer.py (a newcomer who presses only what the screen names)."""

from __future__ import annotations

import pytest

from benchmarks.triage_newcomer import KEYS_GOAL, SECONDS_GOAL, newcomer
from benchmarks.triage_path import triage, with_console


async def test_a_newcomer_is_led_from_red_to_green_by_the_keyboard_alone() -> None:
    run = await with_console("triage", triage)
    assert run.done and not run.error, run.log
    assert run.rollback_ms is not None  # the rollback ran, through the runner, and was journaled
    assert run.keys == 12, run.log


@pytest.mark.parametrize("later", [0.0, 25.0], ids=["at-crit", "api-down"])
async def test_a_newcomer_following_the_screen_alone_reaches_green(later: float) -> None:
    """25 s after CRIT the api health check is DOWN too and the slow-answers playbook fits: the error-rate one still
    ranks first, so following the screen still leads to the rollback."""
    run = await with_console(f"newcomer {later:g}s after CRIT", newcomer(later))
    assert run.done and not run.error, run.log
    assert run.rollback_ms is not None and run.keys <= KEYS_GOAL and run.seconds <= SECONDS_GOAL, run.log
