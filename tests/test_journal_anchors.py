"""`journal verify --anchor SEQ:HASH` as a real process: an anchor witnessed outside the file catches what the chain
alone cannot (a rewrite that re-hashes everything after it, a cut tail)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.journal import Journal
from console.journal.verify import Anchor, anchor_text, canonical, entry_hash
from tests.helpers import cli


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    path = tmp_path / "journal.jsonl"
    writer = Journal(path, environment="production")
    for i in range(1, 9):
        writer.append("note", {"text": f"note {i}"})
    return path


def hash_of(journal: Path, seq: int) -> str:
    return json.loads(journal.read_text().splitlines()[seq - 1])["hash"]


def rewrite(journal: Path, seq: int, text: str) -> None:
    """What an attacker with write access does: change one entry, then re-hash it and every entry after it."""
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    entries[seq - 1]["data"]["text"] = text
    for before, entry in zip([None, *entries], entries, strict=False):
        if entry["seq"] >= seq:
            entry["prev"] = before["hash"] if before else None
            entry["hash"] = entry_hash(entry)
    journal.write_text("".join(canonical(entry) + "\n" for entry in entries))


def verify(journal: Path, *anchors: str) -> tuple[int, str]:
    result = cli("journal", "verify", "--journal", journal, *(arg for a in anchors for arg in ("--anchor", a)))
    assert result.stderr == ""
    return result.returncode, result.stdout


def test_without_an_anchor_it_says_what_it_cannot_tell(journal: Path) -> None:
    code, out = verify(journal)
    assert code == 0 and "ok, 8 entries" in out
    assert "checked: chain intact: the file is self-consistent" in out
    assert "without an anchor, a rewrite that re-hashes the whole chain, or a cut tail, cannot be detected" in out
    assert f"{anchor_text(8, hash_of(journal, 8))} (keep it elsewhere" in out


def test_an_anchor_holds_full_or_short(journal: Path) -> None:
    full, short = hash_of(journal, 3), hash_of(journal, 6)[len("sha256:") :][:12]
    code, out = verify(journal, f"3:{full}", f"6:{short}", f"seq 6 sha256:{short}")
    assert code == 0, out
    assert "checked: anchor seq 3 sha256:" in out and "the journal still extends seq 6" in out
    assert "not checked: entries after seq 6 (the latest anchor) may be rewritten and re-hashed, or cut" in out


def test_a_rewritten_and_rehashed_journal_fails_at_the_anchor(journal: Path) -> None:
    before = {seq: hash_of(journal, seq) for seq in (2, 5, 8)}
    rewrite(journal, 4, "nothing happened here")
    code, out = verify(journal)
    assert code == 0  # self-consistent: the chain alone cannot tell
    anchors = [f"{seq}:{value[7:19]}" for seq, value in before.items()]
    code, out = verify(journal, *anchors)
    assert code == 1
    lines = out.splitlines()
    assert "checked: anchor seq 2 sha256:" in out
    first = next(line for line in lines if "FAILED" in line)
    assert first.startswith(f"  FAILED: anchor seq 5 sha256:{before[5][7:19]}: seq 5 differs: its hash is sha256:")
    assert first.endswith("the journal was rewritten at or before seq 5 and after seq 2, which an anchor holds")
    assert "FAILED: anchor seq 8" in out and "keep it elsewhere" not in out


def test_a_cut_tail_fails(journal: Path) -> None:
    anchor = f"7:{hash_of(journal, 7)}"
    journal.write_text("".join(journal.read_text().splitlines(keepends=True)[:5]))
    code, out = verify(journal)
    assert code == 0 and "ok, 5 entries" in out
    code, out = verify(journal, anchor)
    assert code == 1 and "FAILED: anchor seq 7 sha256:" in out
    assert "the journal ends at seq 5, before anchor seq 7" in out


def test_a_broken_chain_fails_every_anchor_past_the_break(journal: Path) -> None:
    anchor = f"6:{hash_of(journal, 6)}"
    journal.write_text(journal.read_text().replace("note 3", "note X"))
    code, out = verify(journal, anchor)
    assert code == 1 and "BAD at seq 3: hash mismatch" in out
    assert "the chain breaks at seq 3, before anchor seq 6" in out


@pytest.mark.parametrize("bad", ["7", "7:", "x:abcdef012345", "0:abcdef012345", "7:abcdef01", "7:sha256:zzzzzzzzzzzz"])
def test_a_malformed_anchor_is_a_usage_error(journal: Path, bad: str) -> None:
    result = cli("journal", "verify", "--journal", journal, "--anchor", bad)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"incident-console: argument --anchor: expected SEQ:HASH such as 1234:sha256:abcdef012345, got {bad!r} "
        "(see incident-console journal verify --help)\n"
    )


def test_anchor_forms() -> None:
    digest = "ab" * 32
    assert Anchor.parse(f"12:sha256:{digest}") == Anchor(12, digest)
    assert Anchor.parse("12:ABCDEF012345") == Anchor(12, "abcdef012345")
    assert Anchor.parse("anchor: seq 12 sha256:abcdef012345") == Anchor(12, "abcdef012345")
    assert anchor_text(12, f"sha256:{digest}") == "anchor: seq 12 sha256:abababababab"
    assert Journal(Path("/nonexistent/j.jsonl")).verify([Anchor(1, "abcdef012345")]).anchors[0].detail == (
        "the journal ends at seq 0, before anchor seq 1"
    )
