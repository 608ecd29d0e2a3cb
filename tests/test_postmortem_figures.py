"""`journal export --format md` with a recording: an SVG figure per check that went WARN or worse, from 30 minutes
before the onset to the resolution, with its thresholds and the journal's markers, linked from a Figures section;
drawn without Textual; outside text escaped; the files 0600."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

from console.clock import ManualClock
from console.config import Config
from console.config.record import RecordSettings
from console.incident.commands import IncidentDesk
from console.journal import Journal
from console.models import State
from console.models.health import MetricSnapshot
from console.record.codec import Sample
from console.record.recorder import recording_path
from console.record.writer import Writer
from console.redact import Redactor
from tests.helpers import cli
from tests.incident_flow import ACTOR
from tests.test_replay import DECLARED, START, make_recording


def resolve(config: Config, at: datetime, note: str = "") -> None:
    clock = ManualClock(at)
    desk = IncidentDesk(Journal(Path(str(config.console.journal)), environment="staging", clock=clock.now, actor=ACTOR))
    if note:
        desk.add_note(note)
    desk.set_status("resolved")


def test_export_writes_a_figure_per_check_that_went_warn_with_thresholds_and_markers(tmp_path: Path) -> None:
    config = make_recording(tmp_path)
    quiet = Writer(recording_path(config), RecordSettings(), Redactor())  # a check that stayed OK: no figure
    try:
        samples = []
        for step in range(100):
            at = START + timedelta(seconds=6 * step)
            model = MetricSnapshot(name="queue", state=State.OK, value=3.0, taken_at=at)
            samples.append(Sample("metric:queue", at.timestamp(), 6.0, model, model.checks()))
        quiet.write(samples)
    finally:
        quiet.close()
    resolve(config, START + timedelta(minutes=9, seconds=50), note="<script>alert(1)</script> & \x1b[31m")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    exported = cli("journal", "export", "--format", "md", "--config", config.source, cwd=out_dir)
    assert exported.returncode == 0, exported.stderr
    incident = re.search(r"INC-[0-9-]+", exported.stdout)
    assert incident is not None
    folder = out_dir / f"postmortem-{incident.group()}-figures"
    assert "## Figures" in exported.stdout
    assert f"![metric:latency]({folder.name}/metric-latency.svg)" in exported.stdout
    assert "queue" not in exported.stdout.split("## Figures")[1].split("##")[0]
    figure = folder / "metric-latency.svg"
    assert oct(figure.stat().st_mode & 0o777) == "0o600" and oct(folder.stat().st_mode & 0o777) == "0o700"
    root = ET.fromstring(figure.read_text())  # well-formed XML, whatever the journal said
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "metric:latency" in texts
    assert "warn 200" in texts and "crit 500" in texts
    assert any("declared SEV-2: checkout is slow" in t for t in texts)
    assert any("<script>alert(1)</script> & \\x1b[31m" in t for t in texts)  # escaped, the control made visible
    assert "02:35" in texts or "02:40" in texts  # from 30 minutes before the onset (03:05)
    line = next(root.iter("{http://www.w3.org/2000/svg}polyline")).get("points", "").split()
    assert len(line) > 50  # the climb is drawn


def test_export_says_why_there_are_no_figures(tmp_path: Path) -> None:
    config = make_recording(tmp_path)
    recording_path(config).unlink()
    for side in ("-wal", "-shm"):
        Path(f"{recording_path(config)}{side}").unlink(missing_ok=True)
    exported = cli("journal", "export", "--format", "md", "--config", config.source, cwd=tmp_path)
    assert exported.returncode == 0
    figures = exported.stdout.split("## Figures")[1].split("##")[0]
    assert "No figures:" in figures and "no recording" in figures


def test_export_without_a_recording_configured_has_no_figures_section(tmp_path: Path) -> None:
    from tests.helpers import config_file

    path = config_file(tmp_path / "cfg", "")
    clock = ManualClock(DECLARED)
    journal = Journal(tmp_path / "state" / "journal.jsonl", environment="staging", clock=clock.now, actor=ACTOR)
    IncidentDesk(journal, clock).declare("checkout is slow", "SEV-2")
    exported = cli("journal", "export", "--format", "md", "--config", path, cwd=tmp_path)
    assert exported.returncode == 0 and "## Figures" not in exported.stdout


def test_the_figures_module_never_imports_textual() -> None:
    import subprocess
    import sys

    code = "import sys, console.postmortem.figures, console.record.chart; print('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


async def test_the_incident_screens_export_writes_the_same_figures_as_journal_export(tmp_path: Path) -> None:
    from actions.registry import build_runner
    from console.sources.base import Feeds
    from console.tui.app import ConsoleApp
    from console.tui.screens.incident import IncidentScreen
    from tests.helpers import toasts, until

    config = make_recording(tmp_path)
    resolve(config, START + timedelta(minutes=9, seconds=50))
    journal_folder = Path(str(config.console.journal)).parent
    app = ConsoleApp(config, build_runner(config), clock=ManualClock(START + timedelta(hours=1)), feeds=Feeds())
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("i")
        await until(lambda: isinstance(app.screen, IncidentScreen) and app.screen.state is not None)
        await pilot.press("e")
        await until(lambda: any("post-mortem written to" in t for t in toasts(app)), what="the post-mortem")
    written = sorted(journal_folder.glob("postmortem-*.md"))
    incident = written[0].stem.removeprefix("postmortem-")
    markdown = written[0].read_text()
    folder = journal_folder / f"postmortem-{incident}-figures"
    assert "## Figures" in markdown and f"![metric:latency]({folder.name}/metric-latency.svg)" in markdown
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    exported = cli("journal", "export", "--format", "md", "--config", config.source, cwd=out_dir)
    assert exported.returncode == 0, exported.stderr
    by_cli = out_dir / f"postmortem-{incident}-figures"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(p.name for p in by_cli.iterdir()) == ["metric-latency.svg"]
    assert (folder / "metric-latency.svg").read_text() == (by_cli / "metric-latency.svg").read_text()
    figures = markdown.split("## Figures")[1].split("\n## ")[0]
    assert figures == exported.stdout.split("## Figures")[1].split("\n## ")[0]  # one section, in the same words
