"""Preview -> confirm -> run with live output -> result: the one screen every action goes through in the TUI."""

from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Log, ProgressBar, Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from actions.base import Progress
from actions.runner import ActionRefused, Runner
from console.clock import Clock
from console.models import ConfirmLevel, Outcome, OutcomeStatus, Plan, ProgressEvent, Risk
from console.redact import make_safe
from console.tui.attention import LONG_ACTION
from console.tui.screens.follow import FollowScreen
from console.tui.screens.output import OutputScreen, copy_output
from widgets.outside import outside, outside_markup

OUTPUT_LINES = 5000
OUTPUT_INTERVAL = 0.05
DIALOG_MAX, PANEL_WIDTH = 140, 42  # panels stand side by side when each gets this many columns


class ActionRunScreen(ModalScreen[Outcome | None]):
    """Shows exactly what the plan touches, asks for the confirmation its risk needs, runs it, shows the result."""

    HELP_PLACE = "preview and run"

    DEFAULT_CSS = """
    ActionRunScreen { align: center middle; }
    ActionRunScreen > #dialog {
        width: 90%; max-width: 140; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    ActionRunScreen.-destructive > #dialog { border: thick $error; }
    ActionRunScreen #title { text-style: bold; height: auto; }
    ActionRunScreen #preview { height: 1fr; min-height: 3; border: round $panel; overflow-x: auto; }
    ActionRunScreen #preview-text { width: auto; }
    ActionRunScreen #panels { height: auto; width: 100%; }
    ActionRunScreen #panels > .panel { width: 1fr; height: auto; border: round $panel; padding: 0 1; }
    ActionRunScreen.-one-panel #panels > .panel { display: none; }
    ActionRunScreen.-one-panel #panels > .panel.-current { display: block; }
    ActionRunScreen #output { height: 1fr; min-height: 3; border: round $panel; display: none; }
    ActionRunScreen.-running #output, ActionRunScreen.-done #output { display: block; }
    ActionRunScreen.-running #preview, ActionRunScreen.-done #preview { height: auto; max-height: 8; }
    ActionRunScreen #progress { display: none; height: 1; }
    ActionRunScreen.-running #progress { display: block; }
    ActionRunScreen #typed { display: none; }
    ActionRunScreen.-typed #typed { display: block; }
    ActionRunScreen.-running #typed, ActionRunScreen.-done #typed { display: none; }
    ActionRunScreen #hint { height: auto; color: $text-muted; }
    ActionRunScreen #result { height: auto; text-style: bold; }
    """

    BINDINGS = [
        Binding("y", "confirm", "Run it", id="action.confirm"),
        Binding("r", "replan", "Preview again", id="action.replan"),
        Binding("o", "open_output", "Full output", id="action.output"),
        Binding("a", "next_panel", "Next audience", id="action.panel"),
        Binding("escape", "close", "Cancel / close", id="action.close"),
        Binding("enter", "close_finished", "Close", show=False, id="action.close_finished"),
    ]

    def __init__(self, runner: Runner, plan: Plan) -> None:
        super().__init__()
        self.runner = runner
        self.plan = plan
        self.progress: Progress | None = None
        self.outcome: Outcome | None = None
        self._last_paint = 0.0
        self._unwritten: list[str] = []
        self._worker: Worker[None] | None = None
        self._follow: FollowScreen | None = None  # a followed command's log view, while it is open

    @property
    def running(self) -> bool:
        return self.progress is not None and self.outcome is None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(id="title")
            with VerticalScroll(id="preview"):
                yield Static(id="preview-text")
                yield Horizontal(id="panels")
            yield Input(id="typed")
            yield ProgressBar(id="progress", show_eta=False)
            yield Log(id="output", max_lines=OUTPUT_LINES)
            yield Static(id="result")
            yield Static(id="hint")

    def on_mount(self) -> None:
        self._show_plan()
        if self.plan.confirm is ConfirmLevel.NONE and self.plan.risk is Risk.READ:
            self._start(None)  # a read action asks for no confirmation

    def _show_plan(self) -> None:
        plan = self.plan
        env = self.runner.ctx.environment
        self.set_class(plan.risk is Risk.DESTRUCTIVE, "-destructive")
        self.set_class(plan.confirm is ConfirmLevel.TYPED, "-typed")
        title = outside(f"{plan.action} on {env}  ", "bold")
        title.append(f"[{plan.risk.value.upper()}]", style="bold reverse")
        self.query_one("#title", Static).update(title)
        self.query_one("#preview-text", Static).update(self._preview())
        self._show_panels()
        self.call_after_refresh(self._say_if_wide)
        self.query_one("#result", Static).update("")
        if plan.confirm is ConfirmLevel.TYPED:
            typed = self.query_one("#typed", Input)
            typed.placeholder = make_safe(f"type {plan.confirm_text} to run it")  # Input shows it as it is
            typed.value = ""
            typed.focus()
            reason = f" ({plan.confirm_reason})" if plan.confirm_reason else ""
            self._hint(f"Type {plan.confirm_text!r} and press enter to run{reason}. escape cancels; nothing runs.")
        elif plan.confirm is ConfirmLevel.YES and plan.mode == "interactive":
            self._hint("Press y to hand it the terminal (the console comes back when it exits), escape to cancel.")
        elif plan.confirm is ConfirmLevel.YES and len(plan.panels) > 1:
            self._hint("Press y to run it, a for the next audience's text, escape to cancel; nothing runs before y.")
        elif plan.confirm is ConfirmLevel.YES:
            self._hint("Press y to run it, r to preview again, escape to cancel; nothing runs until you confirm.")
        else:
            self._hint("Press y to run it (read-only), escape to cancel.")

    def _preview(self) -> Text:
        """The parameters first (what the operator must check, above the fold even at 80x24; unset ones left out),
        then the plan: summary, targets (a command's argv), notes."""
        shown = Text(no_wrap=True)
        for name, value in self.plan.params.items():
            if value is not None:
                text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                shown.append_text(outside(f"{name} = {self.runner.ctx.redactor.text(text)}", "bold")).append("\n")
        if shown:
            shown.append("\n")
        return shown.append_text(Text("\n").join(outside(line) for line in self.plan.preview_lines()))  # keys, argv

    def on_resize(self) -> None:
        self._fit_panels()
        self.call_after_refresh(self._say_if_wide)

    def _say_if_wide(self) -> None:
        """A preview wider than the dialog says so on its border, and how to see the rest: its lines are cut there
        (`idle in transa`), never wrapped, so the columns stay aligned."""
        preview = self.query_one("#preview", VerticalScroll)
        typing = self.plan.confirm is ConfirmLevel.TYPED
        how = "tab here, then ← →" if typing else "← →"
        preview.border_subtitle = f"▸ wider than the window: {how} scroll it" if preview.max_scroll_x > 0 else ""
    def _show_panels(self) -> None:
        """The plan's panels (a status update as each audience reads it): side by side when the dialog is wide
        enough, else one at a time (`a` shows the next)."""
        holder = self.query_one("#panels", Horizontal)
        holder.remove_children()
        for index, (title, text) in enumerate(self.plan.panels.items()):
            panel = Static(outside(text, lines=True), classes="panel -current" if index == 0 else "panel")
            panel.border_title = outside_markup(title)
            holder.mount(panel)
        self._fit_panels()

    def _fit_panels(self) -> None:
        dialog = min(DIALOG_MAX, int(self.size.width * 0.9))
        self.set_class(dialog < PANEL_WIDTH * len(self.plan.panels) + 4, "-one-panel")

    def action_next_panel(self) -> None:
        panels = list(self.query("#panels > .panel"))
        if len(panels) < 2:
            return
        current = next((i for i, panel in enumerate(panels) if panel.has_class("-current")), 0)
        panels[current].remove_class("-current")
        panels[(current + 1) % len(panels)].add_class("-current")

    def _hint(self, text: str) -> None:
        self.query_one("#hint", Static).update(outside(text))

    @on(Input.Submitted, "#typed")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip() != self.plan.confirm_text:
            self._hint(f"That is not {self.plan.confirm_text!r}: nothing was run. Type it exactly, or escape.")
            return
        self._start(event.value.strip())

    def action_confirm(self) -> None:
        if self.outcome is not None and self.outcome.output_file:
            self._copy_output(Path(self.outcome.output_file))
            return
        if self.progress is not None or self.plan.confirm is ConfirmLevel.TYPED:
            return
        self._start(None)

    def _start(self, typed: str | None) -> None:
        self.progress = Progress(listener=self._on_progress)
        self.add_class("-running")
        self._hint("Running. escape cancels (what was done so far is journaled).")
        self.query_one("#output", Log).focus()
        self._worker = self._execute(typed)
        if self.plan.mode == "follow":
            self._follow = FollowScreen(self.plan.action, self._command(), self.progress.end_follow, Clock())
            self.app.push_screen(self._follow, lambda _: self._followed())

    def _command(self) -> str:
        """The command as the preview shows it (values in place, secrets masked), made safe to draw."""
        return make_safe("\n".join(row[-1] for row in self.plan.rows))

    def _followed(self) -> None:
        self._follow = None
        if self.running:
            self._hint("Stopping the command...")

    @work(exclusive=True, group="action-run", exit_on_error=False)
    async def _execute(self, typed: str | None) -> None:
        assert self.progress is not None
        try:
            outcome = await self.runner.execute(self.plan, confirmed=True, typed=typed, progress=self.progress)
        except ActionRefused as exc:
            self._write_batch()
            self.progress = None
            self.remove_class("-running")
            self.query_one("#result", Static).update(outside(f"✖ REFUSED: {exc}", "bold"))
            self._hint("r previews again, escape closes.")
            return
        self._finish(outcome)

    def _finish(self, outcome: Outcome) -> None:
        self._write_batch()  # the last lines are on screen before the result is
        self.outcome = outcome
        self.remove_class("-running")
        self.add_class("-done")
        symbol = {OutcomeStatus.COMPLETED: "✔", OutcomeStatus.FAILED: "✖", OutcomeStatus.CANCELLED: "■"}
        counts = ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items()))
        text = f"{symbol[outcome.status]} {outcome.status.value.upper()}: {make_safe(outcome.message)}"
        text += f" ({counts})" if counts else ""
        text += f" in {outcome.duration_ms} ms · journal seq {outcome.request_seq}"
        if outcome.journal_error:
            text += f"\n✖ {outcome.journal_error}"
        if outcome.output_file:
            text += f"\nfull output: {outcome.output_file}"
        self.query_one("#result", Static).update(outside(text, "bold", lines=True))
        self._hint(
            "enter closes, o opens the full output, y copies it." if outcome.output_file else "enter closes."
        )
        if self._follow is not None:
            self._follow.end(f"{outcome.status.value}: {outcome.message}")
        attention = getattr(self.app, "attention", None)  # the console's (a bare test app has none)
        if attention is not None and (outcome.duration_ms or 0) >= LONG_ACTION * 1000:
            attention.need(f"{self.plan.action} {outcome.status.value}")

    def _copy_output(self, path: Path) -> None:
        self._hint(f"{copy_output(self.app, path)}; enter closes.")

    def action_open_output(self) -> None:
        if self.outcome is not None and self.outcome.output_file:
            title = f"output of {self.plan.action} · journal seq {self.outcome.request_seq}"
            self.app.push_screen(OutputScreen(Path(self.outcome.output_file), title))

    def _on_progress(self, event: ProgressEvent) -> None:
        if event.line is not None:
            self._write(make_safe(event.line))  # Textual's Log strips only some C0 controls: ESC would pass
        if event.message:
            self._write(f"» {make_safe(event.message)}")
        if event.counts or event.total is not None:
            now = time.monotonic()
            if now - self._last_paint < 0.1:
                return
            self._last_paint = now
            bar = self.query_one("#progress", ProgressBar)
            done = max(event.counts.values(), default=0) if event.counts else 0
            bar.update(total=event.total, progress=done)

    def _write(self, line: str) -> None:
        """Lines reach the output view in batches (a program printing 20,000 lines would otherwise repaint it
        20,000 times), at most OUTPUT_INTERVAL after they were printed."""
        if not self._unwritten:
            self.set_timer(OUTPUT_INTERVAL, self._write_batch)
        self._unwritten.append(line)

    def _write_batch(self) -> None:
        if self._follow is not None and self._unwritten:
            self._follow.add(self._unwritten)
        lines, self._unwritten = self._unwritten[-OUTPUT_LINES:], []
        if lines:
            self.query_one("#output", Log).write_lines(lines)

    def action_replan(self) -> None:
        if self.progress is not None and self.outcome is None:
            return
        self._replan()

    @work(exclusive=True, group="action-plan", exit_on_error=False)
    async def _replan(self) -> None:
        try:
            secrets = self.plan.detail.get("secrets", {})  # the plan shows them masked
            self.plan = await self.runner.plan(self.plan.action, {**self.plan.params, **secrets})
        except Exception as exc:  # ParamError, ActionRefused: say so, keep the screen
            self.query_one("#result", Static).update(outside(f"✖ {exc}", "bold"))
            return
        self.progress, self.outcome = None, None
        self.remove_class("-done", "-running")
        self._unwritten = []
        self.query_one("#output", Log).clear()
        self._show_plan()

    async def stop(self, reason: str, stop_signal: int = signal.SIGTERM) -> None:
        """Cancel the running action with `reason` (a program lent the terminal gets `stop_signal`); return once its
        outcome is journaled."""
        if not self.running or self._worker is None:
            return
        assert self.progress is not None
        self.progress.cancel(reason, stop_signal)
        self._hint("Cancelling...")
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await self._worker.wait()

    def action_close_finished(self) -> None:
        """`enter` once the run has ended: close, as escape does; before that it does nothing (a typed confirmation
        takes its own enter)."""
        if self.outcome is not None:
            self.dismiss(self.outcome)

    def action_close(self) -> None:
        if self.running:
            assert self.progress is not None
            self.progress.cancel()
            self._hint("Cancelling...")
            return
        self.dismiss(self.outcome)
