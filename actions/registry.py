"""Every action the config offers, and the runner that the TUI and the headless CLI share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from actions.base import Action, ActionContext
from actions.command import CommandAction
from actions.runner import Runner
from console.config import Config, ConfigError
from console.journal import Journal, actor_info, default_journal_path
from console.models import utc_now
from console.redact import Redactor
from console.sources.base import REGISTRY, configured, resolve


def builtin_actions(config: Config) -> tuple[list[Action], list[str]]:
    """Actions that come with the console, offered when their config section exists (its registry row names them),
    and one line per runbook file that cannot be used, or not wholly (`load_runbooks` says why)."""
    found: list[Action] = [action for kind in configured(config) if kind.actions for action in resolve(kind.actions)()]
    if config.channel:
        from actions.post_update import channel_actions

        found.extend(channel_actions())
    problems: list[str] = []
    if config.runbooks:
        from actions.runbook import runbook_actions

        steps, problems = runbook_actions(config)
        found.extend(steps)
    return found, problems


def action_names(config: Config) -> set[str]:
    """Every action a playbook may name: each built-in of the registry, configured here or not (a playbook may serve
    several environments; the runner refuses an action its config does not offer), and the config's own."""
    from actions.post_update import channel_actions

    builtins = {action.name for kind in REGISTRY if kind.actions for action in resolve(kind.actions)()}
    return builtins | {action.name for action in channel_actions()} | set(config.actions)


def build_actions(config: Config) -> tuple[dict[str, Action], list[str]]:
    builtins, problems = builtin_actions(config)
    actions: dict[str, Action] = {a.name: a for a in builtins}
    for name, spec in config.actions.items():
        if name in actions:
            raise ConfigError(f"{config.source}: actions.{name}: the name is taken by a built-in action; rename it")
        if spec.script is None:
            actions[name] = CommandAction(name, spec)
        else:
            from actions.script import ScriptAction  # imported for a config that has a script: the TUI's start

            actions[name] = ScriptAction(name, spec)
    return actions, problems


def open_journal(config: Config, clock: Callable[[], datetime] = utc_now) -> Journal:
    path = config.console.journal.expanduser() if config.console.journal else default_journal_path()
    return Journal(
        path,
        environment=config.console.environment,
        redactor=Redactor(config.secrets),
        clock=clock,
        actor=actor_info(),
    )


def build_runner(
    config: Config,
    *,
    read_only: bool = False,
    journal: Journal | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Runner:
    """The runner for this config: read-only if asked here or in `[console]`. Its `runbook_problems` name the runbook
    files that could not be used (the CLI warns; the TUI's triage controller shows the same lines)."""
    journal = journal or open_journal(config, clock)
    outbox = None
    if config.channel:
        from console.channels.outbox import Outbox  # imported for a config with channels: the TUI's start

        outbox = Outbox(journal, config, clock)
    ctx = ActionContext(config=config, redactor=Redactor(config.secrets), clock=clock, outbox=outbox)
    actions, runbook_problems = build_actions(config)
    return Runner(
        actions,
        ctx,
        journal,
        read_only=read_only or config.console.read_only,
        runbook_problems=runbook_problems,
    )
