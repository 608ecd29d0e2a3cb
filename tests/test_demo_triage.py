"""The demo's incident, led by guided triage with the keyboard alone: red tiles, `t`, the suggested playbook, the
declaration, the logs, the deploy question, the prefilled rollback, its typed confirmation, and back to green.

The same Pilot drive as benchmarks/triage_path.py (which also times it against the dashboard alone)."""

from __future__ import annotations

from benchmarks.triage_path import triage, with_console


async def test_a_newcomer_is_led_from_red_to_green_by_the_keyboard_alone() -> None:
    run = await with_console("triage", triage)
    assert run.done and not run.error, run.log
    assert run.rollback_ms is not None  # the rollback ran, through the runner, and was journaled
    assert run.keys == 14, run.log
