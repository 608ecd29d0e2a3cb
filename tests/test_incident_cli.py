"""`incident-console incident ...` as real processes on real journal files: every command, every refusal (one line,
exit 2), and two consoles declaring at the same moment."""

from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path

import pytest

from console.cli import main
from console.journal import Journal
from tests.helpers import cli


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


def ok(*argv: str | Path) -> str:
    result = cli("incident", *argv)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


def refused(*argv: str | Path) -> str:
    """The one-line refusal of an incident command: exit 2, nothing on stdout, no traceback."""
    result = cli("incident", *argv)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("incident-console: ")
    return result.stderr


def kinds(journal: Path) -> list[str]:
    return [entry["kind"] for entry in Journal(journal).entries()]


def declare(journal: Path, *extra: str) -> str:
    return ok("declare", "--title", "Checkout returns 500s", "--severity", "SEV-2", *extra, "--journal", journal)


def test_a_second_operator_runs_the_incident_from_a_shell(journal: Path) -> None:
    assert "declared SEV-2: Checkout returns 500s (impact since" in declare(journal, "--started", "15m")
    assert ok("note", "p99 back under 300ms", "--journal", journal).startswith("#2 INC-")
    ok("role", "commander", "Alice", "Smith", "--journal", journal)
    ok("severity", "sev1", "--journal", journal)
    assert "status triage -> mitigated" in ok("status", "mitigated", "--journal", journal)
    ok("decision", "roll back to v1.2.2", "--journal", journal)
    assert kinds(journal) == [
        "incident.declared",
        "note",
        "incident.role",
        "incident.severity",
        "incident.status",
        "decision",
    ]
    declared = next(Journal(journal).entries())
    assert declared["data"]["backdated"] and declared["data"]["backdated_s"] == pytest.approx(900, abs=5)

    shown = ok("show", "--journal", journal)
    assert "SEV-1 Critical  MITIGATED  Checkout returns 500s" in shown
    assert "roles: commander Alice Smith, scribe -, comms -" in shown
    assert "note #2" in shown and "p99 back under 300ms" in shown and "decision #6" in shown
    facts = json.loads(ok("show", "--json", "--journal", journal))
    assert list(facts) == [
        "id",
        "title",
        "environment",
        "scheme",
        "severity",
        "status",
        "open",
        "impact_started",
        "declared_at",
        "declared_by",
        "declared_seq",
        "resolved_at",
        "ended_at",
        "elapsed_s",
        "roles",
        "next_update_at",
        "overdue_s",
        "notes",
        "decisions",
        "follow_ups",
        "updates_posted",
        "anchor",
    ]
    assert facts["severity"] == "SEV-1" and facts["status"] == "mitigated" and facts["open"] is True
    assert facts["roles"] == {"commander": "Alice Smith", "scribe": None, "comms": None}
    assert [n["text"] for n in facts["notes"]] == ["p99 back under 300ms"]
    assert facts["anchor"]["seq"] == 6 and facts["anchor"]["hash"].startswith("sha256:")


def test_a_chat_bot_drafts_then_posts_an_update_ending_with_the_anchor(journal: Path) -> None:
    declare(journal)
    ok("note", "investigating the pool", "--journal", journal)
    draft = ok("update", "--journal", journal)
    assert draft.startswith("🚨 INCIDENT ALERT - SEV-2") and "ETA: Unknown" in draft and "anchor:" not in draft
    assert kinds(journal) == ["incident.declared", "note"]  # a draft journals nothing

    posting = ["--kind", "initial", "--field", "eta=30 minutes", "--posted"]
    result = cli("incident", "update", *posting, "--journal", journal)
    assert result.returncode == 0 and "posted as #3" in result.stderr
    text = result.stdout.rstrip("\n")
    head = Journal(journal).tail(2)[0]
    assert "ETA: 30 minutes" in text
    assert text.splitlines()[-1] == f"anchor: seq 2 {head['hash'][:19]}"
    posted = Journal(journal).tail(1)[0]
    assert posted["kind"] == "update.posted" and posted["data"]["text"] == text

    witnessed = text.splitlines()[-1].removeprefix("anchor: ")  # what the chat channel now holds
    verified = cli("journal", "verify", "--journal", journal, "--anchor", witnessed)
    assert verified.returncode == 0 and "checked: anchor seq 2" in verified.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["severity", "SEV-9"], "severity: unknown severity 'SEV-9' (SEV-1, SEV-2, SEV-3, SEV-4)"),
        (["status", "investigating"], "status: INC-"),
        (["note", "  "], "note: the text is empty"),
        (["decision", ""], "decision: the text is empty"),
        (["role", "boss", "bob"], "role: unknown role 'boss' (commander, scribe, comms)"),
        (["update", "--kind", "resolved"], "set it to resolved first"),
        (["update", "--field", "eta"], "--field expects NAME=VALUE"),
        (["update", "--field", "colour=red"], "initial updates have no field 'colour'"),
        (["declare", "--title", "Another"], "a moment ago (Checkout returns 500s) and is still mitigated"),
    ],
)
def test_every_refusal_is_one_line_and_leaves_the_journal_alone(journal: Path, argv: list[str], message: str) -> None:
    declare(journal)
    ok("status", "mitigated", "--journal", journal)
    before = journal.read_bytes()
    assert message in refused(*argv, "--journal", journal)
    assert journal.read_bytes() == before


def test_a_backwards_status_is_refused_as_the_desk_does(journal: Path) -> None:
    declare(journal)
    ok("status", "identified", "--journal", journal)
    err = refused("status", "investigating", "--journal", journal)
    assert err.endswith("is identified; statuses only move forward\n")


def test_a_bad_severity_or_start_refuses_the_declaration(journal: Path) -> None:
    err = refused("declare", "--title", "x", "--severity", "P7", "--journal", journal)
    assert "declare: unknown severity 'P7' (SEV-1, SEV-2, SEV-3, SEV-4)" in err
    assert "--started: expected a time like 15m ago" in refused(
        "declare", "--title", "x", "--started", "soonish", "--journal", journal
    )
    assert kinds(journal) == []


def test_no_incident_open(journal: Path) -> None:
    for argv in (["status", "mitigated"], ["severity", "SEV-1"], ["role", "scribe", "bob"], ["update"], ["show"]):
        assert "no incident has been declared; declare one first" in refused(*argv, "--journal", journal)
    declare(journal)
    ok("status", "resolved", "--journal", journal)
    ok("status", "closed", "--journal", journal)
    assert "is closed; reopen it or declare a new incident" in refused("severity", "SEV-1", "--journal", journal)
    assert "is closed; reopen it" in refused("update", "--journal", journal)


def test_a_journal_it_cannot_read(tmp_path: Path) -> None:
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    assert f"journal {folder}: a folder, not a regular file; refused" in refused("show", "--journal", folder)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("shopping list\n")
    assert "line 1 is not a journal entry; refusing to write to it" in refused("note", "milk", "--journal", foreign)
    assert foreign.read_text() == "shopping list\n"


def test_usage_errors_exit_2(journal: Path) -> None:
    assert "required: --title" in refused("declare", "--journal", journal)
    assert "invalid choice" in refused("update", "--kind", "final", "--journal", journal)


def test_the_config_names_the_journal_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    console = f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "j.jsonl"}"\n'
    config.write_text(console + '[incident]\nscheme = "p"\n')
    assert "declared P1" in ok("declare", "--title", "Slow search", "--config", config)
    facts = json.loads(ok("show", "--json", "--config", config))
    assert (facts["environment"], facts["scheme"], facts["severity"]) == ("staging", "p", "P1")


# -- two consoles declaring at once -------------------------------------------------------------------------------


def _declare_at_the_barrier(barrier, journal: str, title: str, out_path: str) -> None:
    """A second process: wait for the other, then declare through the real CLI entry point."""
    with open(out_path, "w") as sink:
        sys.stdout = sys.stderr = sink
        barrier.wait()
        code = main(["incident", "declare", "--title", title, "--journal", journal])
    sys.exit(code)


def test_two_consoles_declaring_at_once_one_wins_the_other_is_told(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")  # imports done once, so both start declaring at the same moment
    for round_no in range(25):
        journal = tmp_path / f"race-{round_no}.jsonl"
        barrier = context.Barrier(2)
        outputs = [tmp_path / f"race-{round_no}-{side}.out" for side in ("a", "b")]
        workers = [
            context.Process(target=_declare_at_the_barrier, args=(barrier, str(journal), f"outage {side}", str(out)))
            for side, out in zip("ab", outputs, strict=True)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        codes = sorted(worker.exitcode for worker in workers)
        texts = [out.read_text() for out in outputs]
        assert codes == [0, 2], (round_no, texts)
        assert kinds(journal) == ["incident.declared"], round_no
        winner = next(Journal(journal).entries())
        loser = next(text for text in texts if text.startswith("incident-console:"))
        who = f"{winner['actor']['user']}@{winner['actor']['host']}"
        assert f"declare: {winner['incident']} was declared by {who} a moment ago" in loser
        assert loser.count("\n") == 1
