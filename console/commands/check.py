"""`check` (the config is valid; reach every target once) and `status` (one poll of everything, thresholds applied)."""

from __future__ import annotations

import json

from console.commands import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from console.commands import fail as _err
from console.config import Config, ConfigError
from console.models import count
from console.output import out
from console.redact import Redactor, make_safe


async def check(config: Config) -> int:
    """`check`: the config is valid (else exit 2 earlier); reach every target once; exit 1 if any is unreachable, 2 if
    anything another command would refuse is found (one line each on stderr): an action named like a built-in, a
    playbook or runbook file that cannot be used (others could change it, it cannot be read or parsed), a playbook
    `triage check` refuses."""
    from actions.registry import build_actions
    from console.commands.record import record_problem
    from console.commands.triage import playbook_problems
    from console.sources.reach import reach_all

    problems = []
    try:
        build_actions(config)  # as the TUI and `run` do: a name a built-in takes is refused there
    except ConfigError as exc:
        problems.append(str(exc))
    problems += playbook_problems(config)[1]
    if problem := record_problem(config):
        problems.append(problem)
    for problem in problems:
        _err(problem)
    results = await reach_all(config)
    if config.channel:
        from console.channels.services import reach_all as reach_channels

        results += await reach_channels(config.channel, config.console.ca_file, config.console.proxy)
    width, redactor = max((len(r.name) for r in results), default=0), Redactor(config.secrets)
    for r in results:
        said = "ok" if r.ok and r.checked else "--" if r.ok else "FAIL"
        out(make_safe(redactor.text(f"{said:4}  {r.kind:8}  {r.name:{width}}  {r.detail}")))
    if not results:
        out("nothing to reach: the config has no targets")
    failed = sum(not r.ok for r in results)
    unchecked = sum(not r.checked for r in results)
    verdict = f"{count(len(problems), 'problem')}, listed above" if problems else "valid"
    also = f" ({unchecked} not checked: they cannot be reached without posting)" if unchecked else ""
    out(f"{config.source}: {verdict}; {len(results) - failed} of {len(results)} targets reachable{also}")
    return EXIT_USAGE if problems else EXIT_FAIL if failed else EXIT_OK


async def status(config: Config, *, as_json: bool) -> int:
    """`status`: one poll of every source with thresholds; exit 0 ok, 1 warn, 2 crit/down."""
    from console.sources.status import poll_all

    report = await poll_all(config)
    if as_json:
        out(json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=True))
    else:
        for line in report.lines():
            out(make_safe(line))
    return report.exit_code
