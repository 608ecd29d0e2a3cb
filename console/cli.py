"""The `incident-console` command: the TUI, `demo`, `check`, `status`, `changes`, `run`, `incident`, `record`,
`replay`, `journal`, `init`, `config schema` and `--version` (README, "Using it").

A command imports what it needs when it runs: the TUI's first frame (console/tui/shell.py) waits for no config
model, action or journal code, so this module imports none of them at the top.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from console.output import finish, out
from console.redact import make_safe

if TYPE_CHECKING:
    from console.config import Config
    from console.journal.verify import Anchor

EXIT_USAGE = 2
CHANGES = "changes"  # the ledger's command, named as its config section (which only the source registry lists)
# console.incident.state.IncidentStatus's forward flow, written out so `--help` imports no model (tests/test_cli.py)
STATUSES = ("triage", "investigating", "identified", "mitigated", "resolved", "closed")


class UsageError(Exception):
    """A user mistake on the command line: one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    """Errors are UsageErrors pointing at this (sub)command's own --help; a long option is never matched by a prefix
    (`--y` is not `--yes`). The deepest parser used is left in the namespace (`usage_parser`), so a mistake found
    after parsing points at the right help too."""

    def __init__(self, **kwargs: Any) -> None:  # argparse makes subparsers with keywords only
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(allow_abbrev=False, **kwargs)
        self.set_defaults(usage_parser=self)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="config file (one environment)")
    common.add_argument(
        "--read-only", action="store_true", default=argparse.SUPPRESS, help="refuse every action that changes something"
    )
    parser = _Parser(
        prog="incident-console",
        parents=[common],
        description="A keyboard-driven incident console: health, logs, PostgreSQL, Redis, safe actions, a journal.",
    )
    parser.add_argument("--wall", action="store_true", help="read-only war-room wall screen")
    parser.add_argument("--theme", metavar="THEME", help="incident-dark, incident-light or incident-mono")
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    init = sub.add_parser("init", help="write a commented starter config; never overwrites a file")
    init.add_argument("path", metavar="PATH", nargs="?", help="where (default: the default config path)")
    config = sub.add_parser("config", help="about the config file: `config schema` prints its JSON Schema")
    config_sub = config.add_subparsers(required=True, parser_class=_Parser)
    config_sub.add_parser("schema", help="the config's JSON Schema, for completion and checks in editors")
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="the console on an embedded demo environment (needs no config)",
        description=(
            "The console on an embedded demo (no config needed): a loopback service that plays an incident after\n"
            "a minute (latency and errors climb, the cache hit rate drops), a log writer, and throwaway PostgreSQL\n"
            "and Redis servers when their binaries are installed (apt-get install postgresql redis-server). The\n"
            "rollback action mitigates it (type `demo` to confirm). On quit everything it started stops; its\n"
            "config and journal are kept and their paths printed, for `journal show` and `--wall`."
        ),
    )
    demo.add_argument("--wall", action="store_true", default=argparse.SUPPRESS, help="the war-room wall on the demo")
    sub.add_parser("check", parents=[common], help="validate the config and reach every target once")
    status = sub.add_parser("status", parents=[common], help="one poll of every source, thresholds applied")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    triage = sub.add_parser("triage", parents=[common], help="suggest, show or check the triage playbooks")
    triage.add_argument("--json", action="store_true", help="machine-readable output")
    triage_sub = triage.add_subparsers(dest="triage_command", parser_class=_Parser)
    triage_sub.add_parser("show", parents=[common], help="print a playbook's steps").add_argument("name")
    triage_sub.add_parser("check", parents=[common], help="validate every playbook")
    run = sub.add_parser(
        "run",
        parents=[common],
        help="run an action through the runner and journal",
        usage="%(prog)s [ACTION [--PARAM VALUE ...]] [--dry-run] [--yes] [--confirm ENVIRONMENT] [--config PATH]",
        description="Preview, confirm, run and journal ACTION, e.g. `run rollback --version v1.2.2`.",
        epilog=(
            "--PARAM VALUE    each parameter the action declares (--older-than 10m, or --older-than=10m);\n"
            "                 a secret one is asked without echo on a terminal\n"
            "Without ACTION: the actions of the config, built-in and configured, with their risk and parameters."
        ),
    )
    run.add_argument("action", metavar="ACTION", nargs="?", help="the action to run (none: list them)")
    run.add_argument("--dry-run", action="store_true", help="print the preview and stop")
    run.add_argument("--yes", action="store_true", help="confirm without asking")
    run.add_argument("--confirm", metavar="ENVIRONMENT", help="typed confirmation for wide destructive actions")
    _incident_parser(sub, common)
    changes = sub.add_parser(CHANGES, parents=[common], help="what was deployed or changed, and the suspects")
    changes.add_argument("--since", metavar="WHEN", help="changes since: 2h, 2h ago, 03:10 UTC (default: 24h)")
    changes.add_argument("--json", action="store_true", help="one JSON object (its keys: README, The change ledger)")
    runbook = sub.add_parser("runbook", parents=[common], help="show a markdown runbook's steps or run one")
    runbook_sub = runbook.add_subparsers(dest="runbook_command", required=True, parser_class=_Parser)
    runbook_show = runbook_sub.add_parser("show", parents=[common], help="print the steps parsed from FILE")
    runbook_show.add_argument("file", metavar="FILE")
    runbook_show.add_argument("--json", action="store_true", help="machine-readable output")
    runbook_run = runbook_sub.add_parser(
        "run",
        parents=[common],
        help="run one step (--PARAM VALUE ...)",
        usage="%(prog)s FILE STEP_ID [--PARAM VALUE ...] [--dry-run] [--yes] [--confirm ENVIRONMENT] [--config PATH]",
        description="Preview, confirm, run and journal one step of a Markdown runbook, as `run` does an action.",
        epilog=(
            "--PARAM VALUE    each placeholder of the step (`runbook show FILE` lists them: params: --namespace);\n"
            "                 a secret one is asked without echo on a terminal\n"
            "A dry run of a shell step needs no config; an SQL or flush step needs the config's [postgres] or\n"
            "[redis] to plan, and a run (not --dry-run) needs the config's journal."
        ),
    )
    runbook_run.add_argument("file", metavar="FILE")
    runbook_run.add_argument("step", metavar="STEP_ID")
    runbook_run.add_argument("--dry-run", action="store_true", help="print the preview and stop")
    runbook_run.add_argument("--yes", action="store_true", help="confirm without asking")
    runbook_run.add_argument("--confirm", metavar="ENVIRONMENT", help="typed confirmation for destructive steps")
    _record_parser(sub, common)
    journal = sub.add_parser("journal", help="verify, show, export or archive the journal")
    journal_sub = journal.add_subparsers(dest="journal_command", required=True, parser_class=_Parser)
    for name, text in (
        ("verify", "walk the hash chain"),
        ("show", "print entries"),
        ("export", "post-mortem"),
        ("archive", "move the entries before the last resolved incident to an archive beside the journal"),
    ):
        p = journal_sub.add_parser(name, parents=[common], help=text)
        p.add_argument("--journal", metavar="FILE", help="journal file (default: the config's, else the state dir)")
        if name == "verify":
            p.add_argument(
                "--anchor",
                action="append",
                default=[],
                type=_anchor,
                metavar="SEQ:HASH",
                help="a (seq, hash) witnessed elsewhere, e.g. 1234:sha256:abcdef012345 from an update (repeatable)",
            )
        if name == "show":
            p.add_argument("--kind", help="only entries whose kind starts with this, e.g. action")
            p.add_argument("--json", action="store_true", help="raw JSON lines")
        if name == "export":
            p.add_argument("--format", choices=["md", "json"], default="md")
            p.add_argument("--incident", metavar="ID", help="incident id (default: the latest)")
    return parser


def _record_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """`record` (the flight recorder, until SIGTERM or SIGINT) and `record show --at TIME [--json]`."""
    record = sub.add_parser(
        "record",
        parents=[common],
        help="record what the console sees until SIGTERM or SIGINT; `record show` prints a moment of it",
        description=(
            "Poll every target as the console does and record the checks and models ([record] in the config).\n"
            "While another process records the same file, wait as a standby."
        ),
    )
    record_sub = record.add_subparsers(dest="record_command", parser_class=_Parser)
    show = record_sub.add_parser("show", parents=[common], help="the checks and models as they were at TIME")
    show.add_argument("--at", required=True, metavar="TIME", help="15m, 15m ago, 03:10 UTC or an ISO-8601 time")
    show.add_argument("--json", action="store_true", help="one JSON object (its keys: README, Recording)")
    replay = sub.add_parser(
        "replay",
        parents=[common],
        help="the dashboard as the recording has it, read-only, with a scrubber (? lists its keys)",
        description="Open the dashboard (or, with --wall, the wall) as it was: the last recorded moment by default.",
    )
    replay.add_argument("--wall", action="store_true", default=argparse.SUPPRESS, help="replay the war-room wall")
    moment = replay.add_mutually_exclusive_group()
    moment.add_argument("--at", metavar="TIME", help="start here: 15m ago, 03:10 UTC or an ISO-8601 time")
    moment.add_argument("--incident", metavar="ID", help="start at this incident's onset")


def _incident_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The `incident` command and its subcommands, each taking `--config` and `--journal`."""
    incident = sub.add_parser("incident", help="declare, note, move and show the incident without the TUI")
    commands = incident.add_subparsers(dest="incident_command", required=True, parser_class=_Parser)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        p = commands.add_parser(name, parents=[common], help=text)
        p.add_argument("--journal", metavar="FILE", help="journal file (default: the config's, else the state dir)")
        return p

    declare = command("declare", "open an incident")
    declare.add_argument("--title", required=True, help="what is broken, e.g. 'checkout returns 500s'")
    declare.add_argument("--severity", help="e.g. SEV-2 (default: the scheme's second level)")
    declare.add_argument("--started", metavar="WHEN", help="when the impact started: 15m, 15m ago, 03:10 UTC")
    command("note", "add a note (`TODO: ...` makes it a follow-up)").add_argument("text")
    command("decision", "record a decision").add_argument("text")
    command("status", "move the status forward, e.g. mitigated").add_argument(
        "status", help=f"one of {', '.join(STATUSES)}: forward only (steps may be skipped; closed needs resolved first)"
    )
    command("severity", "change the severity, e.g. SEV-1").add_argument("severity")
    role = command("role", "assign a role: commander, scribe or comms")
    role.add_argument("role")
    role.add_argument("person", nargs="+")
    command("show", "the incident: header facts, roles, last notes, next update due").add_argument(
        "--json", action="store_true", help="one JSON object (its keys: README, Headless incident commands)"
    )
    update = command("update", "print a status update filled from the incident; --posted journals it")
    update.add_argument("--kind", choices=["initial", "update", "resolved"], help="default: what is due next")
    update.add_argument("--field", action="append", default=[], metavar="NAME=VALUE", help="set a field (repeatable)")
    update.add_argument("--posted", action="store_true", help="journal it as posted by hand (`update.posted`)")
    update.add_argument(
        "--post", action="extend", nargs="+", default=[], metavar="CHANNEL", help="post it to these [[channel]]s"
    )
    update.add_argument("--yes", action="store_true", help="with --post: confirm without asking")
    outbox = command("outbox", "the messages waiting for a channel; --send delivers what is due (cron, timers)")
    outbox.add_argument("--json", action="store_true", help="a JSON list (its keys: README, Channels)")
    outbox.add_argument("--send", action="store_true", help="send what is due now, unless a console already does")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args: argparse.Namespace | None = None
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and (args.command, getattr(args, "runbook_command", None)) not in (("run", None), ("runbook", "run")):
            args.usage_parser.error(f"unrecognized arguments: {' '.join(extra)}")
        _refuse_read_only_that_means_nothing(args)
        return _dispatch(args, extra)
    except Exception as exc:
        if not _one_line_mistake(exc):
            raise
        # `check` names every config mistake, one line each; the others the first (which says how many more)
        every = getattr(exc, "every", None) if getattr(args, "command", None) == "check" else None
        for line in every or (str(exc),):
            out(f"incident-console: {make_safe(line)}", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        out("incident-console: interrupted", err=True)
        return 130
    finally:
        finish()


def _one_line_mistake(exc: Exception) -> bool:
    """A usage or config mistake: said in one line, exit 2. ConfigError's module is not imported at the top, as it
    brings the config's models (pydantic: 0.1-0.2 s before the TUI's first paint); one can only have been raised
    once its module is imported."""
    reading = sys.modules.get("console.config.reading")
    return isinstance(exc, UsageError) or (reading is not None and isinstance(exc, reading.ConfigError))


READ_ONLY_IS_FOR = "the TUI, `demo`, `run` and `runbook run`"
NEEDS_A_TERMINAL = "the console needs a terminal on stdout; for a one-shot view use `incident-console status`"


def _refuse_read_only_that_means_nothing(args: argparse.Namespace) -> None:
    """`--read-only` refuses the actions that change something, so it is a usage error on a command that runs none:
    a reader has nothing to refuse, and a writer (`incident severity`, `init`) would write anyway."""
    if not getattr(args, "read_only", False) or args.command in (None, "demo", "run"):
        return
    sub = getattr(args, f"{args.command}_command", None)
    if (args.command, sub) in (("runbook", "run"), ("incident", "update")) and getattr(args, "post", True):
        return  # an action through the runner, which refuses it read-only
    name = " ".join(word for word in (args.command, sub) if word)
    writes = args.command == "init" or (
        args.command == "incident"
        and (sub not in ("show", "update", "outbox") or getattr(args, "posted", False) or getattr(args, "send", False))
    )
    what = "runs no action, so the flag would not stop it writing" if writes else "changes nothing"
    raise UsageError(f"--read-only: `{name}` {what}; it is for {READ_ONLY_IS_FOR} (nothing was done)")


class _Version(argparse.Action):
    """`--version`: the installed version, looked up only when asked (importing importlib.metadata for every
    start would cost the TUI's first paint about 30 ms)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from importlib import metadata

        try:
            version = metadata.version("incident-console")
        except metadata.PackageNotFoundError:  # run from a source tree that was never installed
            version = "unknown (not installed)"
        out(f"incident-console {version}")
        parser.exit()


def _dispatch(args: argparse.Namespace, extra: list[str]) -> int:
    command = args.command
    if command == "init":
        from console.config import resolve_config_path
        from console.starter import init

        return init(resolve_config_path(args.path))
    if command == "config":
        from console.starter import print_schema

        return print_schema()
    if command == "run":
        from console.commands.run import list_actions, run_action

        params = _params(extra, args.usage_parser)  # a usage mistake before the config is read
        if args.action is None:
            return list_actions(_load(args))
        return asyncio.run(run_action(_load(args), args, params))
    if command == "check":
        from console.commands.check import check

        return asyncio.run(check(_load(args)))
    if command == "status":
        from console.commands.check import status

        return asyncio.run(status(_load(args), as_json=args.json))
    if command == "triage":
        from console.commands.triage import triage_command

        return triage_command(_load(args), args)
    if command == CHANGES:
        from console.commands.changes import changes_command

        return asyncio.run(changes_command(_load(args), args.since, as_json=args.json))
    if command == "incident":
        from console.commands.incident import incident_command

        return incident_command(args, _optional_config(args))
    if command == "runbook":
        from console.commands.runbook import runbook_command

        params = _params(extra, args.usage_parser)
        return runbook_command(args, params, _runbook_config(args) if args.runbook_command == "run" else None)
    if command == "record":
        from console.commands import record

        if args.record_command == "show":
            return record.show(_load(args), args.at, as_json=args.json)
        return asyncio.run(record.record(_load(args)))
    if command == "journal":
        from console.commands.journal import journal_command

        return journal_command(args, _optional_config(args))
    read_only = getattr(args, "read_only", False)
    if command == "demo":
        if not sys.stdout.isatty():  # before the demo starts its servers, and before Textual writes an escape
            raise UsageError(NEEDS_A_TERMINAL)
        from console.demo.run import run_demo

        return run_demo(theme=args.theme, read_only=read_only, wall=args.wall)
    from console.tui.collector import collect_later

    collect_later()  # until the dashboard shows its first data (console/tui/collector.py)
    from console.tui.app import run_tui  # run_tui reads the config itself, after its first paint

    config = getattr(args, "config", None)
    replay = (args.at, args.incident) if command == "replay" else None
    if not sys.stdout.isatty():  # Textual would write its first frame into the pipe or file, then fail
        from console.tui import startup

        startup.load(config, read_only=read_only, wall=args.wall, theme=args.theme, replay=replay)
        raise UsageError(NEEDS_A_TERMINAL)  # a config mistake (raised above) is the more useful line
    return run_tui(config, read_only=read_only, wall=args.wall, theme=args.theme, replay=replay)


def _load(args: argparse.Namespace) -> Config:
    from console.config import load

    return load(getattr(args, "config", None))


def _optional_config(args: argparse.Namespace) -> Config | None:
    """The config for `journal` and `incident`: loaded when one is named or exists, else None (default journal path)."""
    from console.config import load, resolve_config_path

    path = resolve_config_path(getattr(args, "config", None))
    if getattr(args, "config", None) or Path(path).exists():
        return load(path)
    return None


def _runbook_config(args: argparse.Namespace) -> Config:
    """`runbook run`'s config; a dry run finds none and goes on without one (a shell step plans with none; an SQL or
    flush step then says which section it needs)."""
    from console.config import Config

    config = _optional_config(args)
    if config is not None or not args.dry_run:
        return config or _load(args)
    out("incident-console: no config: a dry run only, on no environment (SQL and flush steps need --config)", err=True)
    return Config()


def _anchor(text: str) -> Anchor:
    from console.journal.verify import Anchor

    try:
        return Anchor.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _params(extra: list[str], parser: argparse.ArgumentParser) -> dict[str, str]:
    """`--name value`, `--name=value` and bare `--flag` (true) into a dict; dashes become underscores."""
    params: dict[str, str] = {}
    i = 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or token == "--":
            parser.error(f"expected --PARAM VALUE, got {token!r}")
        name, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 < len(extra) and not extra[i + 1].startswith("--"):
                value = extra[i + 1]
                i += 1
            else:
                value = "true"
        params[name.replace("-", "_")] = value
        i += 1
    return params


if __name__ == "__main__":
    sys.exit(main())
