"""What the TUI imports on its way to the first frames (benchmarks/startup.py times them): each module named here
cost the shell's paint or the tiles' first data tens of milliseconds when it was imported too early."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import config_file, until

ROOT = Path(__file__).resolve().parents[1]


def imported_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_shell_imports_no_model_no_config_and_no_http_client() -> None:
    """`incident-console` paints its shell before it reads the config: pydantic and the rest come after that paint."""
    modules = imported_after("import console.cli, console.tui.app")
    heavy = ("pydantic", "console.config", "console.models", "aiohttp", "markdown_it", "console.triage")
    assert sorted(m for m in modules if m.startswith(heavy)) == []


def test_a_config_without_channels_or_scripts_loads_without_their_modules(tmp_path: Path) -> None:
    """The loader thread (console/tui/startup.py) builds the runner: the outbox and the script judge wait for a
    config that has channels or script actions."""
    config = config_file(tmp_path, '[actions.hello]\ncommand = ["echo", "hello"]\n')
    code = (
        "from console.tui.startup import load\n"
        f"loaded = load({str(config)!r}, read_only=False, wall=False, theme=None)\n"
        "assert 'hello' in loaded.runner.actions\n"
    )
    modules = imported_after(code)
    assert {"console.channels.outbox", "actions.script", "console.judge.shell"} & modules == set()
    with_both = config_file(
        tmp_path / "both",
        '[actions.hello]\nscript = "echo hello"\n'
        '[[channel]]\nname = "chat"\nkind = "webhook"\nurl = "https://chat.example/hook"\n',
    )
    code = f"from console.tui.startup import load\nload({str(with_both)!r}, read_only=False, wall=False, theme=None)\n"
    assert {"console.channels.outbox", "actions.script"} <= imported_after(code)


async def test_each_footer_key_is_styled_once_on_the_way_to_the_dashboard(tmp_path: Path) -> None:
    """Textual's footer keys are restyled three times as they mount (a class added, then taken off); with the
    console's stylesheet that was half of all restyling before the first data. widgets/footer.py styles each once."""
    from test_dashboard_snapshots import feed_every_pane, make_full_app
    from textual.css.stylesheet import Stylesheet
    from textual.widgets._footer import FooterKey

    styled: list[object] = []
    apply = Stylesheet.apply

    def counting(self: Stylesheet, node: object, *args: object, **kwargs: object) -> None:
        if isinstance(node, FooterKey):
            styled.append(node)
        apply(self, node, *args, **kwargs)  # type: ignore[arg-type]

    app = make_full_app(tmp_path)
    Stylesheet.apply = counting  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await feed_every_pane(pilot)
            keys = list(app.screen.query(FooterKey))
            # the palette's key (not bound to the footer) is restyled once more by Textual, whatever it is given
            counts = {str(key.key): styled.count(key) for key in keys if not key.has_class("-command-palette")}
            assert len(counts) > 10 and all(n == 1 for n in counts.values()), counts
    finally:
        Stylesheet.apply = apply  # type: ignore[method-assign]


async def test_once_the_feeds_start_the_collector_leaves_startup_objects_and_runs_less_often(tmp_path: Path) -> None:
    """console/tui/collector.py: at 3,000 PostgreSQL sessions the default thresholds spent half the pane's CPU in
    the collector. The console's start runs no collection until its first data is shown, then freezes what startup
    made and sets the thresholds."""
    import gc

    from test_dashboard_snapshots import make_full_app

    from console.tui.collector import THRESHOLDS, collect_later

    before = gc.get_threshold()
    app = make_full_app(tmp_path)
    try:
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)
        collect_later()  # as `incident-console` does before it imports Textual
        async with app.run_test(size=(80, 24)):
            assert not gc.isenabled()
            await until(gc.isenabled, what="the collector back on, once the first data is shown")
            assert gc.get_threshold() == THRESHOLDS and THRESHOLDS[0] >= 10_000
            assert gc.get_freeze_count() > 10_000  # the modules, classes and screens of the start
    finally:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_a_batch_polled_before_the_dashboard_is_shown_waits_for_it_and_is_not_lost(tmp_path: Path) -> None:
    """The polls start before the dashboard mounts (console/tui/controllers/feeds.py): a batch that comes back
    first waits until the dashboard is on screen, then goes into the live state as any other."""
    import asyncio

    from test_dashboard_snapshots import make_full_app
    from test_pg_widgets import sample_snapshot

    app = make_full_app(tmp_path)
    async with app.run_test(size=(80, 24)):
        await until(app.polling.shown.is_set, what="the dashboard shown")
        app.polling.shown.clear()  # as before the mount
        delivery = asyncio.create_task(app.polling.deliver([sample_snapshot()]))
        await asyncio.sleep(0.2)  # a sleep by design: time in which a delivery that did not wait would be done
        assert not delivery.done() and not app.live.checks("postgres")
        app.polling.shown.set()
        await asyncio.wait_for(delivery, 5)
        assert app.live.checks("postgres") and app.polling.first_data.is_set()
