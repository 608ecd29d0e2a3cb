"""The demo's incident, led by guided triage with the keyboard alone: red tiles, `t`, the suggested playbook, the
declaration, the logs, the deploy question, the rollback's preview, its typed confirmation, and back to green.

The same Pilot drives as benchmarks/triage_path.py (a known path, timed against the dashboard alone) and
benchmarks/triage_newcomer.py (a newcomer who presses only what the screen names)."""

from __future__ import annotations

import pytest

from benchmarks.triage_newcomer import KEYS_GOAL, SECONDS_GOAL, newcomer
from benchmarks.triage_path import Driver, triage, with_console
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.pick import PickScreen
from console.tui.screens.triage import TriageScreen
from tests.helpers import painted


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


async def test_the_change_ledger_names_the_deploy_and_the_rollback_returns_to_the_release_before_it() -> None:
    """The demo's `releases` change source: v1.2.3 is the top suspect on the triage screen, and the playbook's
    rollback proposes {changes.previous.version}, v1.2.2 (with_console checks the service runs it afterwards)."""
    proposed: list[str] = []

    async def drive(d: Driver) -> None:
        app = d.app
        await d.press("t", then="triage screen", ready=d.screen_is(TriageScreen))
        await d.until("the top suspect", lambda: "Top suspect: v1.2.3 went live" in painted(app))
        ledger = app.live.model("changes")
        top = ledger.top()
        assert (top.version, ledger.previous(top).version) == ("v1.2.3", "v1.2.2")
        assert "on api, a deploy" in ledger.ranked()[0][1].reason
        await d.press("escape", then="dashboard", ready=lambda: app.screen is app.dashboard)
        await triage_until_preview(d, proposed)

    run = await with_console("ledger", drive)
    assert run.done and not run.error, run.log
    assert proposed == ["v1.2.2"]


async def triage_until_preview(d: Driver, proposed: list[str]) -> None:
    """The known path (benchmarks/triage_path.triage), noting the version the rollback's preview proposes."""
    app = d.app
    await d.press("t", then="triage screen", ready=d.screen_is(TriageScreen))
    await d.press("enter", then="declare offer", ready=d.screen_is(PickScreen))
    await d.press("enter", then="the run", ready=lambda: isinstance(app.screen, TriageScreen) and app.triage.view)
    await d.press("enter", then="dashboard, logs", ready=lambda: app.screen is app.dashboard)
    await d.press("t", then="triage screen", ready=d.screen_is(TriageScreen))
    await d.press("enter", then="the rollback preview", ready=d.screen_is(ActionRunScreen))
    proposed.append(app.screen.plan.params["version"])
    await d.type("demo", then="typed", ready=d.typed_value("demo"))
    await d.press("enter", then="rollback done", ready=d.action_done)
