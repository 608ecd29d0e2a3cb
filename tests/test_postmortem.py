"""The post-mortem export: a golden Markdown file from a fixed-clock incident, JSON, and every way it can fail."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from incident_flow import (
    FOLLOW_UP,
    GOLDEN,
    GOLDEN_TRIAGE,
    PLAYBOOK,
    SKIP_REASON,
    TITLE,
    Flow,
    make_flow,
    normalize,
    run_headless,
)

from console.cli import main
from console.journal import Journal
from console.postmortem.document import export


def exported(journal: Journal, flow: Flow | None = None, **kwargs) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = export(journal, clock=flow.clock if flow else None, out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("triage", "golden"), [(False, GOLDEN), (True, GOLDEN_TRIAGE)])
async def test_markdown_matches_the_golden_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, triage: bool, golden: Path
) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    await run_headless(flow, triage=triage)
    code, markdown, err = exported(flow.journal, flow)
    assert (code, err) == (0, "")
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(normalize(markdown))
    assert normalize(markdown) == golden.read_text()


async def test_json_is_the_same_document_as_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    await run_headless(flow)
    code, text, _ = exported(flow.journal, flow, fmt="json")
    doc = json.loads(text)
    assert code == 0
    assert doc["incident"]["id"] == "INC-20250115-0310"
    assert doc["incident"]["impact_started"] == "2025-01-15T03:00:00.000Z"
    assert doc["incident"]["backdated_s"] == 600
    assert doc["impact"] == {
        "duration_s": 2400.0,
        "response_target_s": 3600.0,
        "time_to_detect_s": 120.0,
        "time_to_acknowledge_s": 480.0,
        "time_to_mitigate_s": 1200.0,
        "time_to_resolve_s": 2400.0,
        "time_to_mitigating_action_s": 300.0,
        "mitigating_action_seq": 7,
    }
    assert [e["seq"] for e in doc["timeline"]] == list(range(1, 14))
    assert [e["seq"] for e in doc["timeline"] if e["pinned"]] == [6]
    [action] = doc["actions"]
    assert action["params"] == {"version": "v1.2.2"}
    assert (action["status"], action["confirmation"], action["exit_code"]) == ("completed", "typed", 0)
    assert doc["follow_ups"][0]["text"] == FOLLOW_UP.removeprefix("TODO:").strip()
    assert doc["communications"]["cadence_kept"] is True
    assert doc["integrity"]["ok"] is True and doc["integrity"]["entries"] == 13
    assert doc["triage"] == []


async def test_json_lists_the_playbook_runs_of_the_incident(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    await run_headless(flow, triage=True)
    flow.desk.set_status("closed")
    flow.journal.append("triage.started", {"playbook": "after", "title": "After the close", "definition": {}})
    code, text, _ = exported(flow.journal, flow, fmt="json")
    doc = json.loads(text)
    assert code == 0
    [run] = doc["triage"]  # the run started after the close belongs to no incident
    assert {k: run[k] for k in ("run", "playbook", "incident", "started_at", "finished_at", "outcome")} == {
        "run": 5,
        "playbook": "high-error-rate",
        "incident": "INC-20250115-0310",
        "started_at": "2025-01-15T03:13:00.000Z",
        "finished_at": "2025-01-15T03:18:00.000Z",
        "outcome": "mitigated by a rollback",
    }
    assert [(s["step"], s["kind"], s["result"], s["answer"], s["reason"]) for s in run["steps"]] == [
        ("errors", "check", "pass", None, None),
        ("logs", "look", "skipped", None, SKIP_REASON),
        ("deploy", "ask", "answered", "yes", None),
        ("rollback", "action", "pass", None, None),
        ("verify", "verify", "pass", None, None),
        ("mitigated", "done", "done", None, None),
    ]
    assert run["steps"][4]["evidence"] == "metric error rate 0.1% (ok) < 1 (held 2m 00s)"
    assert (doc["impact"]["time_to_mitigating_action_s"], doc["impact"]["mitigating_action_seq"]) == (300.0, 11)


async def test_triage_text_is_escaped_in_the_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    await run_headless(flow, triage=True)
    incident = flow.desk.state().id
    data = {"playbook": PLAYBOOK.name, "title": PLAYBOOK.title, "definition": PLAYBOOK.definition()}
    run = flow.journal.append("triage.started", {**data, "incident": incident}, incident=incident)["seq"]
    reason = "\x1b]52;c;cm0gLXJmIH4=\x07forged | row\n| 99 | fake |"
    skip = {"step": "errors", "reason": reason, "next": "logs"}
    flow.journal.append("triage.skipped", skip, incident=incident, corr=run)
    code, markdown, _ = exported(flow.journal, flow)
    assert code == 0
    assert "\x1b" not in markdown and "\x07" not in markdown
    again = markdown.split(f"### {PLAYBOOK.title} (high-error-rate, run #{run})")[1].split("## Follow-ups")[0]
    assert "Started 03:45 UTC, not finished." in again
    assert [line for line in again.splitlines() if line.startswith("|")][2:] == [
        "| 2025-01-15 03:45:00 | errors (check) | skipped | "
        "\\x1b]52;c;cm0gLXJmIH4=\\x07forged \\| row\\x0a\\| 99 \\| fake \\| |"
    ]


async def test_cli_exports_through_the_journal_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    await run_headless(flow)
    assert main(["journal", "export", "--journal", str(flow.journal.path), "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# Post-mortem: {TITLE}\n")
    assert "| ★ 6 | 2025-01-15 03:15:00 | action.requested |" in out


def test_no_incident_is_one_line_on_stderr_and_exit_2(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append("note", {"text": "quiet night"})
    code, out, err = exported(journal)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "no incident has been declared" in err


async def test_an_unknown_incident_id_names_the_known_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    await run_headless(flow)
    code, out, err = exported(flow.journal, flow, incident="INC-19990101-0000")
    assert (code, out) == (2, "")
    assert (
        err
        == f"incident-console: no incident INC-19990101-0000 in {flow.journal.path} (incidents: INC-20250115-0310)\n"
    )


async def test_an_older_incident_is_exported_by_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    await run_headless(flow)
    flow.desk.set_status("closed")
    flow.at(5, 0)
    flow.desk.declare("Search is slow", "SEV-3")
    code, latest, _ = exported(flow.journal, flow)
    assert code == 0 and latest.startswith("# Post-mortem: Search is slow")
    code, first, _ = exported(flow.journal, flow, incident="INC-20250115-0310")
    assert code == 0 and first.startswith(f"# Post-mortem: {TITLE}")
    assert "Search is slow" not in first


async def test_a_tampered_journal_is_reported_in_the_appendix_and_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    await run_headless(flow)
    path = flow.journal.path
    lines = path.read_text().splitlines(keepends=True)
    assert '"version":"v1.2.2"' in lines[5]
    lines[5] = lines[5].replace('"version":"v1.2.2"', '"version":"v1.2.1"')  # someone rewrites history
    path.write_text("".join(lines))
    code, markdown, err = exported(flow.journal, flow)
    assert code == 1
    assert "- Verify: **FAILED** at seq 6: hash mismatch." in markdown
    assert err.count("\n") == 1 and "failed verification at seq 6 (hash mismatch)" in err


async def test_an_unreadable_line_still_exports_what_precedes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = make_flow(tmp_path, monkeypatch)
    await run_headless(flow)
    with flow.journal.path.open("a") as f:
        f.write("this is not JSON\n")
    code, markdown, err = exported(flow.journal, flow)
    assert code == 1
    assert "| 13 | 2025-01-15 03:42:00 | pin |" in markdown
    assert "- Verify: **FAILED** at seq 14: not JSON." in markdown
    assert "failed verification at seq 14" in err


def test_onset_is_the_first_warning_before_a_declaration_that_is_not_backdated(tmp_path: Path) -> None:
    from test_incident import START, make_desk

    from console.clock import ManualClock

    clock = ManualClock(START)
    desk = make_desk(tmp_path, clock)
    observe = {"source": "health", "name": "api", "from": "ok"}
    desk.journal.append("observation", {**observe, "state": "ok", "name": "db"})  # healthy: not part of it
    clock.advance(60)
    warned = desk.journal.append("observation", {**observe, "state": "warn"})
    clock.advance(24)
    desk.journal.append("observation", {**observe, "state": "crit", "from": "warn"})
    clock.advance(30)
    desk.declare("Checkout is slow", "SEV-2")  # not backdated: the impact start is the declaration, 54 s after
    clock.advance(300)
    desk.set_status("mitigated")
    code, text, _ = exported(desk.journal, fmt="json")
    doc = json.loads(text)
    assert code == 0
    assert doc["incident"]["onset"] == warned["ts"] and doc["incident"]["detected_seq"] == warned["seq"]
    assert doc["impact"]["time_to_detect_s"] == 0.0 and doc["impact"]["time_to_acknowledge_s"] == 54.0
    assert doc["impact"]["time_to_mitigate_s"] == 354.0
    assert [e["seq"] for e in doc["timeline"]] == [2, 3, 4, 5]
    _, markdown, _ = exported(desk.journal)
    assert "| Onset | 2025-01-15 03:01:00 UTC, the first WARN-or-worse observation (54s before the declaration) |" in (
        markdown
    )
    assert "| Time to acknowledge | first alert → declared | 54s |" in markdown
