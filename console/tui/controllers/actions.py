"""Connects the runner to the screens: an action asked for by the palette, a widget or triage gets its form (when
it has parameters and none were given), then its preview and confirmation, then runs (ActionRunScreen)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING, Any, Protocol

from actions.base import ParamError
from actions.runner import ActionRefused, Runner
from console.tui.controllers import TextualApp
from console.tui.screens.action_form import ActionFormScreen
from console.tui.screens.action_run import ActionRunScreen
from console.tui.screens.follow import FollowScreen

if TYPE_CHECKING:
    from console.models import Outcome
    from console.tui.controllers.incident import IncidentControl


STOP_WAIT = 15.0  # at most this long for running actions to stop before the console exits anyway (kill_group: 7 s)


class ActionHost(TextualApp, Protocol):
    """What the controller needs of the app: a Textual app (screens, workers, toasts) with the incident controller."""

    incident: IncidentControl


class ActionControl:
    """The app's side of the runner: form, preview, confirmation and the run, each on its screen."""

    SCREENS = (ActionRunScreen, ActionFormScreen, FollowScreen)  # their bindings are listed by the help screen

    def __init__(self, app: ActionHost, runner: Runner) -> None:
        self.app = app
        self.runner = runner

    def request(self, name: str, params: dict[str, Any] | None = None) -> None:
        """Form (if the action has parameters and none were given), then preview."""
        action = self.runner.get(name)
        try:
            self.runner.refuse_if_read_only(action)
        except ActionRefused as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        fields = [
            (n, f.description or "", f.default if not f.is_required() else None)
            for n, f in action.Params.model_fields.items()
        ]
        if params is None and fields:
            self._ask_params(name, action.description, fields, {}, "")
        else:
            self._start_preview(name, params or {}, fields)

    def running(self) -> list[ActionRunScreen]:
        """The action screens whose action is still running."""
        return [s for s in self.app.screen_stack if isinstance(s, ActionRunScreen) and s.running]

    async def stop_running(self, reason: str, stop_signal: int = signal.SIGTERM) -> None:
        """Cancel every running action with `reason` and wait (at most STOP_WAIT) until each outcome is journaled:
        the console quits, or was told to stop (SIGHUP, SIGTERM: a program lent the terminal gets that signal)."""
        running = self.running()
        if not running:
            return
        self.app.notify("Stopping the running action; its outcome goes to the journal.", severity="warning")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_WAIT):
                await asyncio.gather(*(screen.stop(reason, stop_signal) for screen in running))

    def _ask_params(self, name: str, description: str, fields: list, values: dict[str, str], error: str) -> None:
        def submitted(answer: dict[str, str] | None) -> None:
            if answer is not None:
                self._start_preview(name, answer, fields)

        secret = self.runner.get(name).secret_params
        self.app.push_screen(ActionFormScreen(name, description, fields, values, error, secret), submitted)

    def _start_preview(self, name: str, params: dict[str, Any], fields: list) -> None:
        worker = self._preview(name, params, fields)
        self.app.run_worker(worker, name="preview", group="preview", exclusive=True, exit_on_error=False)

    async def _preview(self, name: str, params: dict[str, Any], fields: list) -> None:
        try:
            plan = await self.runner.plan(name, params)
        except ParamError as exc:
            if fields:
                self._ask_params(name, self.runner.get(name).description, fields, params, str(exc))
            else:
                self.app.notify(str(exc), severity="error", markup=False)
            return
        except ActionRefused as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        def ran(_: Outcome | None) -> None:
            self.app.run_worker(self.app.incident.refresh)

        await self.app.push_screen(ActionRunScreen(self.runner, plan), ran)
