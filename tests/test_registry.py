"""The source registry drives feeds, status, check and the panes: every config section has its row."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from console import config as cfg
from console.clock import Clock
from console.config import Config
from console.sources.base import REGISTRY, build_feeds, configured, resolve

# Config sections that are not sources: what the console is, what it can do, how it looks, its playbooks.
# `prometheus` is where `[[metric]] promql` queries go, not a source of its own.
NOT_SOURCES = {"console", "actions", "keys", "incident", "playbook", "share", "runbooks", "prometheus"}

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
    keys = ["health:api", "metric:error rate", "postgres", "redis", "alertmanager"]
    assert [source.key for source in feeds.polled] == keys
    assert len(feeds.streams) == 1
    status = build_feeds(config, Clock(), status_only=True)
    assert [source.key for source in status.polled] == [source.key for source in feeds.polled]
    assert status.streams == []


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

