"""The source registry drives everything a source needs: every config section has its row, every list of sources
the console uses is derived from the rows, and no module keeps a list of its own."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.registry import action_names, builtin_actions
from console import config as cfg
from console.clock import Clock
from console.config import Config
from console.config.keys import BINDING_IDS
from console.models import State
from console.models.alerts import AlertsSnapshot
from console.models.postgres import PostgresSnapshot
from console.models.redis import RedisSnapshot
from console.sources.base import (
    BY_NAME,
    PANE_KEYS,
    REGISTRY,
    build_feeds,
    configured,
    known_checks,
    look_problem,
    resolve,
    sustain_rules,
)
from console.triage.builtins import BUILT_IN, builtin_playbooks
from console.triage.conditions import ConditionError, parse
from console.triage.playbook import Playbook
from console.tui.screens.dashboard import DashboardScreen, initial_checks

ROOT = Path(__file__).parent.parent
# Where a source's name may be listed: the registry and the sources themselves (the change ledger too), their
# models, the demo's environment.
OWN_MODULES = ("console/sources/", "console/models/", "console/demo/", "console/changes/")
SOURCE_NAMES = {kind.section for kind in REGISTRY} | set(BY_NAME)

# Config sections that are not sources: what the console is, what it can do, how it looks, its playbooks, where it
# posts updates and pages, what it records. `prometheus` is where `[[metric]] promql` queries go, not a source of
# its own.
NOT_SOURCES = {
    "console", "actions", "keys", "incident", "playbook", "share", "runbooks", "prometheus", "channel", "record"
}  # fmt: skip

EVERY_SECTION = """
[console]
environment = "staging"
[[health]]
name = "api"
url = "http://127.0.0.1:9/health"
[[metric]]
name = "error rate"
url = "http://127.0.0.1:9/metrics"
path = "errorRate"
[postgres]
dsn = "postgresql://app@127.0.0.1:9/app"
[redis]
url = "redis://127.0.0.1:9/0"
[[logs]]
name = "app"
path = "app.log"
[alertmanager]
url = "http://127.0.0.1:9"
[[changes]]
name = "api repo"
kind = "git"
repo = "."
"""


def test_every_source_section_of_the_config_has_exactly_one_registry_row() -> None:
    sections = set(Config.model_fields) - NOT_SOURCES - {"source", "base_dir", "secrets"}
    assert sorted(kind.section for kind in REGISTRY) == sorted(sections)


def test_every_row_resolves_to_a_builder_a_reach_check_and_a_pane_that_renders_models() -> None:
    for kind in REGISTRY:
        assert list(inspect.signature(resolve(kind.build)).parameters) == ["config", "clock", "feeds"], kind.section
        assert callable(resolve(kind.reach)), kind.section
        if kind.pane is not None:
            widget = resolve(kind.pane.widget)
            assert callable(getattr(widget, "update_model", None)), f"{widget.__name__} has no update_model"
        assert kind.pane is not None or kind.tiles, f"{kind.section} is shown nowhere"


def test_feeds_for_every_section_and_status_leaves_out_streams(tmp_path: Path) -> None:
    config = cfg.loads(EVERY_SECTION, source=tmp_path / "config.toml", environ={})
    assert [kind.section for kind in configured(config)] == [kind.section for kind in REGISTRY]
    feeds = build_feeds(config, Clock())
    keys = ["health:api", "metric:error rate", "postgres", "redis", "alertmanager", "changes"]
    assert [source.key for source in feeds.polled] == keys
    assert len(feeds.streams) == 1
    status = build_feeds(config, Clock(), status_only=True)
    assert [source.key for source in status.polled] == keys[:-1], "the ledger has its own one-shot: `changes`"
    assert status.streams == []
    wall = build_feeds(config, Clock(), wall=True)
    assert [source.key for source in wall.polled] == keys, "the wall runs the feed of each pane it shows (the ledger)"
    assert wall.streams == [] and not wall.journals and feeds.journals


def test_a_config_without_servers_never_imports_their_drivers_or_widgets(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[console]\nenvironment = "staging"\n[[health]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n')
    program = f"""
import sys
from console import config
from console.clock import Clock
from console.sources.base import build_feeds
from console.tui.panes import build_panes
cfg = config.load({str(path)!r}, environ={{}})
build_feeds(cfg, Clock())
build_panes(cfg, [])
print(sorted(m for m in ("asyncpg", "redis", "widgets.postgres_pane", "widgets.redis_pane", "widgets.log_pane",
                                "widgets.alerts_pane")
             if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"



def listed_sources(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Where source names are listed: a tuple, list or set whose strings are all source names, a dict keyed by them
    only, a comparison with one."""
    found: list[tuple[int, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            strings = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if strings and set(strings) <= SOURCE_NAMES:
                found.append((node.lineno, strings))
        elif isinstance(node, ast.Dict):  # keyed by sources only: `changes` is also a word (a post-mortem's key)
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            if keys and set(keys) <= SOURCE_NAMES:
                found.append((node.lineno, keys))
        elif isinstance(node, ast.Compare):
            named = [e.value for e in (node.left, *node.comparators) if isinstance(e, ast.Constant)]
            if set(named) & SOURCE_NAMES:
                found.append((node.lineno, named))
    return found


def test_no_module_keeps_its_own_list_of_sources() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {names}"
        for package in ("console", "actions", "widgets")
        for path in sorted((ROOT / package).rglob("*.py"))
        if not str(path.relative_to(ROOT)).startswith(OWN_MODULES)
        for line, names in listed_sources(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == [], "derive these from console.sources.base.REGISTRY"


def test_the_condition_language_and_look_steps_name_every_row_and_nothing_else() -> None:
    for name, kind in BY_NAME.items():
        assert parse(f"{name}.x is ok").source == kind.section
        assert parse(f"any {name} is down").source == kind.section
        step = {"kind": "look", "pane": name}
        Playbook.model_validate({"name": "n", "title": "t", "when": "", "steps": [step]})
    sources = r"expected a source \(health, metric, logs, postgres, redis, alerts, changes\)"
    with pytest.raises(ConditionError, match=sources):
        parse("alertmanager.firing > 0")  # the section's name in conditions is its row's: alerts


def test_the_dashboard_has_a_key_per_pane_and_the_timeline_and_never_more_than_nine() -> None:
    panes = [kind for kind in REGISTRY if kind.pane is not None]
    assert len(PANE_KEYS) == len(panes) + 1 <= 9
    pane_bindings = [binding for binding in DashboardScreen.BINDINGS if str(binding.id).startswith("pane.")]
    assert [binding.key for binding in pane_bindings] == list(PANE_KEYS)


def test_a_new_row_with_a_pane_needs_no_new_binding_id(tmp_path: Path) -> None:
    """`[keys]` knows the key of every pane the registry may have (up to nine), not only of today's rows: a row
    added with a pane takes the next key, and `[keys] pane.N` for it loads without an edit to console/config/keys.py."""
    assert {f"pane.{key}" for key in "123456789"} <= BINDING_IDS
    text = '[console]\nenvironment = "staging"\n[keys]\n"pane.8" = "f8"\n"pane.9" = "f9"\n'
    assert cfg.loads(text, source=tmp_path / "config.toml", environ={}).keys == {"pane.8": "f8", "pane.9": "f9"}


def test_check_names_tiles_and_sustain_rules_come_from_the_rows(tmp_path: Path) -> None:
    text = EVERY_SECTION.replace('url = "http://127.0.0.1:9/health"', 'url = "http://127.0.0.1:9/health"\nfor = "1m"')
    config = cfg.loads(text.replace('[redis]\n', '[redis]\nfor = "1m"\n'), source=tmp_path / "c.toml", environ={})
    now = datetime(2026, 12, 1, tzinfo=UTC)
    servers = [
        PostgresSnapshot(state=State.OK, max_connections=100, connections={"active": 5}),
        RedisSnapshot(state=State.OK, ping_ms=0.4, hit_ratio=0.8, lookups=1000),
        AlertsSnapshot(state=State.OK, taken_at=now),
    ]
    fixed = {snapshot.feed_key: {check.name for check in snapshot.checks()} for snapshot in servers}
    assert known_checks(config) == {
        "health": {"api"},
        "metric": {"error rate"},
        "logs": {"app"},
        "changes": {"suspects"},
        **fixed,
    }
    assert [(c.source, c.name) for c in initial_checks(config)] == [("health", "api"), ("metric", "error rate")]
    assert set(sustain_rules(config)) == {"health:api", "redis"}


def test_every_look_filter_has_a_pane_that_takes_it_and_presets_pass() -> None:
    for kind in REGISTRY:
        name = kind.conditions.name
        if kind.look_filter is not None:
            assert kind.pane is not None, f"{name}: a filter for a pane it does not have"
            assert callable(getattr(resolve(kind.pane.widget), "set_filter", None)), f"{name}: no set_filter"
        presets = resolve(kind.look_presets) if kind.look_presets else ()
        assert presets == () or kind.look_filter is not None, f"{name}: presets for a pane that takes no filter"
        assert all(look_problem(name, preset) is None for preset in presets)
    assert look_problem("postgres", "(").startswith("not a valid regular expression: missing )")
    assert look_problem("alerts", 'severity="critical", job=~"api.*"') is None
    assert look_problem("alerts", "critical").startswith('expected name="value"')
    assert look_problem("logs", "level=error") is None
    assert look_problem("redis", "x") == "the redis pane takes no filter"


def test_built_in_actions_and_playbooks_follow_the_configured_rows(tmp_path: Path) -> None:
    every = cfg.loads(EVERY_SECTION, source=tmp_path / "config.toml", environ={})
    bare = cfg.loads('[console]\nenvironment = "staging"\n', source=tmp_path / "config.toml", environ={})
    offered = {action.name for action in builtin_actions(every)[0]}
    assert offered == {"kill-idle", "cancel-query", "terminate", "flush-cache", "silence", "unsilence"}
    assert builtin_actions(bare)[0] == []
    # a playbook may name any built-in (the channels' too): the runner refuses what is not offered
    assert action_names(bare) == offered | {"post-update", "page"}
    assert len(builtin_playbooks(every)) == len(BUILT_IN) and builtin_playbooks(bare) == []
