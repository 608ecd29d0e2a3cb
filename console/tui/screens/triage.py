"""The triage screen (`t`): suggested playbooks first, then all; the running playbook as a live checklist.

Left, the playbooks (`/` filters them); right, the run: every step with its mark (✔ pass, ✖ fail, ? unknown,
↷ skipped, ▶ the current one, ⟳ a verify or sustained check waiting, with its countdown) and the current step's
evidence and proposal. `enter` starts the highlighted playbook, or while a run goes on does the current step; `s`
skips it (asks why), `b` goes back, `x` abandons the run (the footer shows these only during a run), `a` adds a
note. Everything is decided and journaled by the engine; this screen only shows the controller's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.changes.model import FEED, ChangeLedger
from console.models import format_duration
from console.triage.steps import Answer, Propose, Wait
from console.tui.screens.prompt import PromptScreen
from widgets.footer import Footer
from widgets.outside import outside

if TYPE_CHECKING:
    from console.tui.controllers.triage import TriageControl

NARROW = 100
MARKS = {"pass": "✔", "fail": "✖", "unknown": "?", "answered": "✔", "done": "✔", "skipped": "↷", "back": "↶"}
STYLES = {"✔": "green", "✖": "red", "?": "yellow", "↷": "dim", "↶": "dim"}


def suspect_line(ledger: Any) -> Text:
    """The change ledger's top suspect and why, in one line (empty with no ledger or no suspect)."""
    if not isinstance(ledger, ChangeLedger) or not ledger.ranked():
        return Text()
    suspect = ledger.ranked()[0][1]
    return Text("Top suspect: ", style="bold").append_text(outside(f"{suspect.reason} (score {suspect.score:.2f})"))


class TriageScreen(Screen):
    """Guided triage with the keyboard alone, usable at 80x24."""

    HELP_PLACE = "triage screen"

    DEFAULT_CSS = """
    TriageScreen #triage-body { height: 1fr; }
    TriageScreen #playbooks { width: 38%; height: 1fr; border: round $primary; }
    TriageScreen #run { width: 1fr; height: 1fr; border: round $primary; padding: 0 1; }
    TriageScreen.-narrow #triage-body { layout: vertical; }
    TriageScreen.-narrow #playbooks { width: 1fr; height: 7; }
    TriageScreen.-narrow.-running #playbooks { display: none; }
    TriageScreen #run-title { text-style: bold; }
    TriageScreen #suspect { height: auto; color: $warning; }
    TriageScreen #current { border-bottom: solid $primary; height: auto; margin-bottom: 1; }
    """

    BINDINGS = [
        Binding("enter", "start", "Start", id="triage.start", priority=True),
        Binding("enter", "do", "Do step", id="triage.do", priority=True),
        Binding("s", "skip", "Skip", id="triage.skip"),
        Binding("b", "previous", "Previous", id="triage.previous"),
        Binding("x", "abandon", "Abandon", id="triage.abandon"),
        Binding("slash", "filter", "Filter", id="triage.filter"),
        Binding("a", "note", "Note", id="triage.note"),
        Binding("escape", "close", "Dashboard", id="triage.close"),
        Binding("up", "choose(-1)", "Previous choice", show=False, priority=True, id="triage.choice_up"),
        Binding("down", "choose(1)", "Next choice", show=False, priority=True, id="triage.choice_down"),
    ]
    RUN_ONLY = frozenset({"do", "skip", "previous", "abandon"})  # the footer shows them only while a run goes on

    def __init__(self, control: TriageControl) -> None:
        super().__init__()
        self.control = control
        self.name_filter = ""
        self._suggested: tuple[str, ...] | None = None
        self.choice = 0  # the highlighted choice of a question answered here (`Answer.inline`)
        self._choice_for: tuple[str, int] | None = None  # the step (id, seq it was entered at) `choice` is for

    def compose(self) -> ComposeResult:
        with Horizontal(id="triage-body"):
            yield OptionList(id="playbooks")
            with VerticalScroll(id="run"):
                yield Static(id="run-title")
                yield Static(id="suspect")
                yield Static(id="current")
                yield Static(id="steps")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#playbooks", OptionList).border_title = "Playbooks"
        self.query_one("#run", VerticalScroll).border_title = "Run"
        self._layout()
        self.show_playbooks()
        self.show_run()
        self.query_one(OptionList).focus()
        self.control.keep_ticking()

    def on_resize(self) -> None:
        self._layout()

    def on_screen_resume(self) -> None:
        """Back from a question, a run or the dashboard: show where the run is now, and let the engine take what
        was done there (a finished action's outcome) at once, not on the next tick."""
        self.refresh_suggestions()
        self.show_run()
        self.control.keep_ticking()
        self.app.call_later(self.control.poll)

    def _layout(self) -> None:
        self.set_class(self.size.width < NARROW, "-narrow")

    # -- what is shown ----------------------------------------------------------------------------

    def show_playbooks(self) -> None:
        """Suggested first (with their evidence), then every other playbook; `/` narrows by name or title."""
        suggested = self.control.suggestions()
        self._suggested = tuple(f"{s.playbook.name} {s.evidence} {s.fit}" for s in suggested)
        names = {s.playbook.name for s in suggested}
        wanted = self.name_filter.lower()
        options: list[Option] = []
        for s in suggested:
            if wanted in f"{s.playbook.name} {s.playbook.title}".lower():
                mark = ("● ", "bold red") if s.setback is None else ("○ ", "dim")  # ○: tried and it did not help
                title = Text.assemble(mark, outside(s.playbook.title, "bold"), outside(f"  {s.severity}"))
                why = Text("  ").append_text(outside(f"why: {s.fit}", "italic"))
                evidence = Text("  ").append_text(outside(s.evidence, "dim"))
                for line in (why, evidence):  # one line each, and a cut one says so: "… of the…"
                    line.no_wrap, line.overflow = True, "ellipsis"
                options.append(Option(Group(title, why, evidence), id=f"{s.playbook.name}\t{s.severity}"))
        for playbook in self.control.playbooks:
            if playbook.name not in names and wanted in f"{playbook.name} {playbook.title}".lower():
                options.append(Option(outside(f"  {playbook.title}"), id=f"{playbook.name}\t"))
        playbooks = self.query_one("#playbooks", OptionList)
        keep = playbooks.highlighted
        playbooks.clear_options()
        empty = "no playbook matches" if self.control.loaded else "loading the playbooks…"
        playbooks.add_options(options or [Option(Text(empty, style="dim"), disabled=True)])
        if options:
            playbooks.highlighted = min(keep or 0, len(options) - 1)

    def refresh_suggestions(self) -> None:
        """Rebuild the list only when what is suggested (or its evidence) changed: the highlight stays put."""
        now = tuple(f"{s.playbook.name} {s.evidence} {s.fit}" for s in self.control.suggestions())
        if self.query("#playbooks") and now != self._suggested:
            self.show_playbooks()

    def show_run(self) -> None:
        if not self.query("#run-title"):  # not composed yet, or being torn down
            return
        suspect = self.query_one("#suspect", Static)
        line = suspect_line(self.control.live.model(FEED))
        suspect.display = bool(line)  # no ledger or no suspect: no line at all
        suspect.update(line)
        engine, view = self.control.engine, self.control.view
        title = self.query_one("#run-title", Static)
        steps, current = self.query_one("#steps", Static), self.query_one("#current", Static)
        self.set_class(engine is not None and view is not None and view.step is not None, "-running")
        if engine is None or view is None or view.step is None:
            self._show_finished(title, steps, current)
            self.refresh_bindings()
            return
        state = engine.state
        if (view.step.id, state.entered_seq) != self._choice_for:
            self.choice, self._choice_for = 0, (view.step.id, state.entered_seq)
        title.update(outside(f"{engine.playbook.title}  ·  {engine.playbook.name}"))
        notice = engine.changed(self.control.latest(engine.playbook.name))
        steps.update(self._checklist(engine, view, notice))
        current.update(self._current(view, state))
        self.refresh_bindings()

    def _show_finished(self, title: Static, steps: Static, current: Static) -> None:
        """No run: the one that ended last (its outcome and every step's result), else how to start one."""
        ended = self.control.finished
        if ended is None:
            title.update("No playbook is running: pick one and press enter.")
            steps.update("")
            current.update("")
            return
        state = ended.state
        title.update(outside(f"{ended.playbook.title}  ·  finished", "bold"))
        text = Text("FINISHED  ", style="bold").append_text(outside(state.outcome or "completed")).append("\n")
        if state.transitions:
            last = state.transitions[-1]
            evidence = f"last: {last.step} {last.result}" + (f": {last.evidence}" if last.evidence else "")
            text.append_text(outside(evidence, "dim")).append("\n")
        text.append("pick a playbook and press enter to start another\n", style="dim")
        current.update(text)
        steps.update(self._checklist(ended, None, None))

    def _checklist(self, engine: Any, view: Any, notice: str | None) -> Text:
        last = {t.step: t for t in engine.state.transitions}
        text = Text()
        for number, step in enumerate(engine.playbook.steps, start=1):
            if view is not None and step.id == view.step.id:
                mark = "⟳" if view.waiting_for == "time" else "▶"
                style = "bold reverse"
            else:
                done = last.get(step.id)
                mark = MARKS.get(done.result, "·") if done else "·"
                style = STYLES.get(mark, "")
            label = step.title or step.describe()
            text.append(f"{mark} {number:>2}. ", style=style)
            text.append_text(outside(label, "bold" if view is not None and step.id == view.step.id else ""))
            text.append("\n")
        if notice:
            text.append("\n").append_text(outside(f"▲ {notice}", "yellow")).append("\n")
        return text

    def _current(self, view: Any, state: Any) -> Text:
        step, move = view.step, view.move
        text = Text()
        text.append(f"{step.kind.upper()}  ", style="bold")
        text.append_text(outside(step.title or step.describe())).append("\n")
        if step.title:
            text.append_text(outside(step.describe(), "dim")).append("\n")
        if view.evidence:
            text.append_text(outside(f"evidence: {view.evidence}", "dim")).append("\n")
        if isinstance(move, Wait) and move.within:
            left = move.within - (self.control.clock.now() - state.entered_at).total_seconds()
            text.append(f"⟳ verifying: {format_duration(max(0.0, left))} left\n", style="yellow")
        if isinstance(move, Answer) and move.inline:
            for index, choice in enumerate(move.choices):
                chosen = index == self.choice
                text.append("▶ " if chosen else "  ", style="bold").append_text(
                    outside(choice, "bold reverse" if chosen else "")
                ).append("\n")
        if isinstance(move, Propose):
            params = "  ".join(f"{k} = {v}" for k, v in move.proposal.params.items())
            text.append_text(outside(f"proposed: {move.proposal.action}  {params}", "bold")).append("\n")
        if hint := getattr(move, "hint", ""):
            text.append(hint + "\n", style="dim")
        return text

    # -- keys -------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The keys of a run only while one goes on, `enter` starting a playbook otherwise; `/` while the list of
        playbooks shows (at 80 columns a run takes its place); the arrows move an inline question's choice, else the
        list. The footer shows what this allows, nothing else."""
        running = self.control.engine is not None
        if action in self.RUN_ONLY:
            return running
        if action == "start":
            return not running
        if action == "filter":
            return not (running and self.has_class("-narrow"))
        if action == "choose":  # the arrows choose an answer only while a question shows its choices here
            return self._inline() is not None
        return True

    async def action_do(self) -> None:
        if self.control.engine is not None:
            inline = self._inline()
            await self.control.do_current(inline.choices[self.choice] if inline is not None else None)

    async def action_start(self) -> None:
        playbooks = self.query_one("#playbooks", OptionList)
        if playbooks.highlighted is None or not (option_id := playbooks.get_option_at_index(playbooks.highlighted).id):
            self.notify("Pick a playbook first (↑ ↓), then enter.", severity="warning")
            return
        name, _, severity = option_id.partition("\t")
        playbook = self.control.latest(name)
        if playbook is not None:
            await self.control.begin(playbook, severity or playbook.severity or "SEV-3")

    @on(OptionList.OptionSelected, "#playbooks")
    async def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.control.engine is None:
            await self.action_start()

    def _inline(self) -> Answer | None:
        """The question the screen shows with its choices, if the current step is one."""
        view = self.control.view
        move = view.move if view is not None else None
        return move if isinstance(move, Answer) and move.inline and self.control.engine is not None else None

    def action_choose(self, step: int) -> None:
        inline = self._inline()
        if inline is not None:
            self.choice = (self.choice + step) % len(inline.choices)
            self.show_run()

    def action_skip(self) -> None:
        self.control.ask_skip()

    async def action_previous(self) -> None:
        await self.control.back()

    def action_abandon(self) -> None:
        self.control.ask_abandon()

    def action_note(self) -> None:
        self.control.app.incident.ask_note()

    def action_filter(self) -> None:
        def apply(text: str) -> None:
            self.name_filter = text.strip()
            self.show_playbooks()

        self.app.push_screen(PromptScreen("Filter playbooks (name or title; empty clears)", self.name_filter, apply))

    def action_close(self) -> None:
        self.app.pop_screen()
