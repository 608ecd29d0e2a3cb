"""The one path every action takes, from the TUI or headless: refuse, plan, confirm, journal, execute, journal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from actions.base import Action, ActionContext, ParamError, Progress
from actions.output_file import OutputFile
from actions.overlap import WINDOW, overlaps, touched
from console.journal import Journal, JournalError, actor_info
from console.journal.horizon import since
from console.models import ConfirmLevel, Outcome, OutcomeStatus, Plan, Risk

PLAN_TIMEOUT = 30.0
PLAN_MAX_AGE = 120.0
MAX_JOURNALED_ROWS = 1000


class ActionRefused(Exception):
    """The runner will not run this (read-only, unconfirmed, stale preview, journal unwritable...)."""


class Runner:
    """Runs actions safely: read-only refusal, preview, confirmation, journal before and after, timeout, cancel."""

    def __init__(
        self,
        actions: Mapping[str, Action],
        ctx: ActionContext,
        journal: Journal,
        *,
        read_only: bool = False,
        plan_max_age: float = PLAN_MAX_AGE,
        runbook_problems: Sequence[str] = (),
    ) -> None:
        self.actions = dict(actions)
        self.runbook_problems = list(runbook_problems)  # runbook files left out (or not wholly usable), one line each
        self.ctx = ctx
        self.journal = journal
        self.read_only = read_only
        self.plan_max_age = plan_max_age
        # other hosts' journal entries, as the shared stream brings them (the TUI sets it when it follows [share])
        self.shared: Callable[[], Iterable[dict]] = lambda: ()

    def get(self, name: str) -> Action:
        try:
            return self.actions[name]
        except KeyError:
            known = ", ".join(sorted(self.actions)) or "none configured"
            raise ParamError(f"unknown action {name!r} (actions: {known})") from None

    def refuse_if_read_only(self, action: Action, plan: Plan | None = None) -> None:
        """A read-only console runs reads only: the action's risk, and its plan's (values can make it worse)."""
        risk = plan.risk if plan is not None and plan.risk is not Risk.READ else action.risk
        if self.read_only and risk is not Risk.READ:
            raise ActionRefused(f"{action.name}: refused, the console is read-only ({risk} action)")

    async def plan(self, name: str, raw_params: Mapping[str, Any]) -> Plan:
        """Validate params and compute the preview. Raises ParamError or ActionRefused."""
        action = self.get(name)
        self.refuse_if_read_only(action)
        params = action.parse_params(raw_params)
        try:
            async with asyncio.timeout(PLAN_TIMEOUT):
                plan = await action.plan(self.ctx, params)
            self.refuse_if_read_only(action, plan)
            plan = await asyncio.to_thread(self._with_overlaps, plan)
            return plan.model_copy(update={"created_at": self.ctx.clock()})  # its age is judged by this clock
        except TimeoutError:
            raise ActionRefused(f"{name}: the preview took longer than {PLAN_TIMEOUT:.0f}s; nothing was run") from None

    def _with_overlaps(self, plan: Plan) -> Plan:
        """The plan, with other consoles' recent requests on the same target named first and an explicit override
        asked for (typing `override ENVIRONMENT`), when there are any."""
        now = self.ctx.clock()
        try:
            recent = since(self.journal, now - timedelta(seconds=WINDOW))
        except JournalError:
            recent = []  # executing will say what is wrong with the journal
        found = overlaps(
            plan,
            touched(plan),
            [*recent, *self.shared()],
            environment=self.ctx.environment,
            me=actor_info(),
            now=now,
        )
        if not found:
            return plan
        warnings = [f"⚠ someone else acted on the same target: {o.text()}" for o in found]
        return plan.model_copy(
            update={
                "overlaps": [o.record() for o in found],
                "notes": [*warnings, *plan.notes],
                "confirm": ConfirmLevel.TYPED,
                "confirm_text": f"override {self.ctx.environment}",
                "confirm_reason": "someone else acted on the same target in the last 10 minutes: check with them, then "
                f"type `override {self.ctx.environment}` to run it anyway",
            }
        )

    def check_confirmation(self, plan: Plan, *, confirmed: bool, typed: str | None) -> None:
        if plan.confirm is ConfirmLevel.NONE:
            return
        if not confirmed:
            raise ActionRefused(f"{plan.action}: not confirmed; nothing was run")
        if plan.confirm is ConfirmLevel.TYPED and (typed or "").strip() != plan.confirm_text:
            raise ActionRefused(
                f"{plan.action}: typed confirmation does not match {plan.confirm_text!r}; nothing was run"
            )

    async def execute(
        self,
        plan: Plan,
        *,
        confirmed: bool = False,
        typed: str | None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
    ) -> Outcome:
        """Run a previewed plan. Raises ActionRefused before anything runs; otherwise returns the Outcome."""
        action = self.get(plan.action)
        self.refuse_if_read_only(action, plan)
        age = (self.ctx.clock() - plan.created_at).total_seconds()
        if age > self.plan_max_age:
            raise ActionRefused(f"{plan.action}: the preview is {age:.0f}s old; preview again before running")
        self.check_confirmation(plan, confirmed=confirmed, typed=typed)
        progress = progress or Progress()
        try:
            request = await asyncio.to_thread(self.journal.append, "action.requested", self._request_data(plan))
        except JournalError as exc:
            raise ActionRefused(f"{plan.action}: the journal cannot be written ({exc}); nothing was run") from None

        output = OutputFile(self.journal.path.parent / "outputs" / f"{request['seq']}.log")
        progress.sink = output.write
        started = time.monotonic()
        task = asyncio.create_task(action.execute(self.ctx, plan, progress))
        waiter = asyncio.create_task(progress.cancelled.wait())
        try:
            done, _ = await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            await _stop(task)
            waiter.cancel()
            outcome = Outcome(status=OutcomeStatus.CANCELLED, message="interrupted")
            await self._finish(plan, outcome, progress, started, request["seq"], output)
            raise
        waiter.cancel()
        if task in done:
            try:
                outcome = task.result()
            except Exception as exc:  # an action's failure is an outcome, never a crash
                outcome = Outcome(status=OutcomeStatus.FAILED, message=self.ctx.redactor.text(str(exc) or repr(exc)))
        elif progress.cancelled.is_set():
            await _stop(task)
            outcome = Outcome(status=OutcomeStatus.CANCELLED, message=progress.cancel_reason)
        else:
            await _stop(task)
            outcome = Outcome(status=OutcomeStatus.FAILED, message=f"timed out after {timeout:g}s")
        return await self._finish(plan, outcome, progress, started, request["seq"], output)

    async def _finish(
        self, plan: Plan, outcome: Outcome, progress: Progress, started: float, seq: int, output: OutputFile
    ) -> Outcome:
        progress.sink = None
        kept = output.close()
        outcome = outcome.model_copy(
            update={
                "counts": {**progress.counts, **outcome.counts},
                "duration_ms": int((time.monotonic() - started) * 1000),
                "output_tail": outcome.output_tail or list(progress.tail),
                "request_seq": seq,
                "output_file": str(output.path) if kept and "file" in kept else None,
            }
        )
        data = {
            "action": plan.action,
            "status": outcome.status.value,
            "message": outcome.message,
            "counts": outcome.counts,
            "duration_ms": outcome.duration_ms,
            "exit_code": outcome.exit_code,
            "output_tail": outcome.output_tail[-20:],
            **({"output": kept} if kept else {}),
        }
        try:
            await asyncio.to_thread(self.journal.append, f"action.{outcome.status.value}", data, corr=seq)
        except JournalError as exc:
            outcome = outcome.model_copy(update={"journal_error": f"the outcome could not be journaled: {exc}"})
        return outcome

    def _request_data(self, plan: Plan) -> dict[str, Any]:
        return {
            "action": plan.action,
            "risk": plan.risk.value,
            "params": plan.params,
            "summary": plan.summary,
            "columns": plan.columns,
            "targets": plan.rows[:MAX_JOURNALED_ROWS],
            "targets_total": len(plan.rows),
            "confirm": plan.confirm.value,
            "planned_at": plan.created_at.isoformat(),
            "touches": touched(plan),
            **({"override": plan.overlaps} if plan.overlaps else {}),
        }


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):
        pass
