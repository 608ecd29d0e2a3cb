"""The post-mortem, written from the journal: `incident-console journal export [--format md|json] [--incident ID]`.

`render_json` builds the document as data; `render_markdown` is that same data as Markdown, so both formats
always agree. Headings follow the blaze-production runbook (what happened, root cause, impact, timeline,
resolution, prevention). Exit codes of `export`: 0 written; 1 the journal failed verification (one line on
stderr): what precedes the first bad line is written, its integrity appendix saying so, unless no incident
was declared before it; 2 no such incident (one line on stderr).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from console import output
from console.clock import Clock
from console.incident.replay import incident_ids, replay
from console.incident.state import IncidentState, author_of, describe
from console.journal import Journal, JournalError, VerifyResult
from console.journal.verify import anchor_text
from console.postmortem.changes import change_ledger
from console.postmortem.figures import Figure, write_figures
from console.postmortem.markdown import to_markdown
from console.postmortem.triage import first_mitigating_action, triage_runs
from console.timeparse import iso

if TYPE_CHECKING:
    from console.config import Config

EXIT_OK, EXIT_TAMPERED, EXIT_NO_INCIDENT = 0, 1, 2


@dataclass(frozen=True)
class Recorded:
    """Where the figures come from (the recording) and what their threshold lines are; without `configured` (the
    config has no `[record]`) the figures are drawn only when the file exists (the default one `incident-console
    record` writes)."""

    path: Path
    limits: dict[str, tuple[float | None, float | None]]
    configured: bool = True

    def used(self) -> bool:
        """Whether the post-mortem has figures (and a Figures section saying why there are none); a stat: a thread."""
        return self.configured or self.path.exists()


def recorded(config: Config | None) -> Recorded | None:
    """The figures' source of a config (its recording and each check's warn and crit), None without a config; no I/O."""
    from console.record.recorder import recording_path
    from console.sources.base import check_limits

    if config is None:
        return None
    return Recorded(recording_path(config), check_limits(config), config.record is not None)


def render_json(
    state: IncidentState, verify: VerifyResult, now: datetime, entries: list[dict] | None = None
) -> dict[str, Any]:
    """The post-mortem as data (times are ISO 8601 UTC, durations in seconds); `entries`, the journal's, give the
    changes before the incident (console.postmortem.changes)."""
    level = state.level
    metrics = state.metrics()
    last_cause = next((u.fields["root_cause"] for u in reversed(state.updates) if u.fields.get("root_cause")), "")
    to_action, action_seq = first_mitigating_action(state)
    return {
        "generated_at": iso(now),
        "incident": {
            "id": state.id,
            "title": state.title,
            "environment": state.environment,
            "scheme": state.scheme,
            "severity": state.severity,
            "severity_label": level.label,
            "status": state.status.value,
            "declared_at": iso(state.declared_at),
            "declared_by": state.declared_by,
            "impact_started": iso(state.impact_started),
            "backdated_s": state.backdated_s,
            "onset": iso(state.onset),
            "detected_at": iso(state.detected_at),
            "detected_seq": state.detected_seq,
            "acknowledged_at": iso(state.acknowledged_at),
            "identified_at": _iso(state.identified_at),
            "mitigated_at": _iso(state.mitigated_at),
            "resolved_at": _iso(state.resolved_at),
            "ended_at": _iso(state.ended_at),
            "roles": dict(state.roles),
        },
        "impact": {
            "duration_s": state.elapsed_s(now),
            "response_target_s": state.response_target_s,
            **{f"time_to_{name}_s": value for name, value in metrics.items()},
            "time_to_mitigating_action_s": to_action,
            "mitigating_action_seq": action_seq,
        },
        "changes": [
            {"seq": c.seq, "at": iso(c.at), "kind": c.kind, "from": c.before, "to": c.after, "reason": c.reason}
            for c in state.changes
        ],
        "sections": {"what_happened": "", "root_cause": last_cause, "resolution": "", "prevention": ""},
        "timeline": [
            {
                "seq": e.get("seq"),
                "ts": e.get("ts"),
                "kind": e.get("kind"),
                "by": author_of(e),
                "pinned": e.get("seq") in state.pinned,
                "text": describe(e),
            }
            for e in state.entries
        ],
        "actions": [_action(a) for a in state.actions.values()],
        "change_ledger": change_ledger(entries or [], state),
        "triage": triage_runs(state),
        "decisions": [_remark(r) for r in state.decisions],
        "follow_ups": [_remark(r) for r in state.follow_ups],
        "communications": {
            "update_every_s": state.update_every_s,
            "updates": [
                {
                    "seq": u.seq,
                    "at": iso(u.at),
                    "kind": u.kind,
                    "by": u.author,
                    "due_at": _iso(u.due_at),
                    "late_s": u.late_s,
                    "next_update_at": _iso(u.next_update_at),
                    "text": u.text,
                }
                for u in state.updates
            ],
            "overdue": [{"seq": r.seq, "at": iso(r.at), "due_at": iso(r.due_at)} for r in state.reminders],
            "cadence_kept": not state.reminders and all(u.late_s == 0 for u in state.updates),
        },
        "integrity": {
            "entries": verify.count,
            "head": verify.head,
            "ok": verify.ok,
            "bad_seq": verify.bad_seq,
            "reason": verify.reason,
            "anchor": anchor_text(verify.last_seq, verify.head) if verify.ok and verify.head else None,
        },
    }


def render_markdown(
    state: IncidentState,
    verify: VerifyResult,
    now: datetime,
    entries: list[dict] | None = None,
    figures: tuple[list[Figure], str] | None = None,
) -> str:
    """The post-mortem as Markdown (`postmortem_md`): the same data, every journal-derived text escaped; with
    `figures` (written, and why there are none), a Figures section linking them."""
    doc = render_json(state, verify, now, entries)
    if figures is not None:
        doc["figures"] = {"files": [[f.check, f.file] for f in figures[0]], "note": figures[1]}
    return to_markdown(doc)


def export(
    journal: Journal,
    fmt: str = "md",
    incident: str | None = None,
    *,
    clock: Clock | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    recording: Recorded | None = None,
) -> int:
    """Print the post-mortem of `incident` (default: the latest) to `out`; see the module doc for exit codes. With a
    `recording` (Markdown only), the figures go in `postmortem-ID-figures/` in the working directory."""
    entries, read_error = _readable_entries(journal)
    state = replay(entries, incident)
    if state is None and read_error is not None:
        _say(f"incident-console: {read_error}", err, True)
        return EXIT_TAMPERED
    if state is None:
        known = incident_ids(entries)
        if incident:
            listed = ", ".join(known[-5:]) or "none"
            _say(f"incident-console: no incident {incident} in {journal.path} (incidents: {listed})", err, True)
        else:
            _say(f"incident-console: no incident has been declared in {journal.path}; nothing to export", err, True)
        return EXIT_NO_INCIDENT
    verify = journal.verify()
    now = (clock or Clock()).now()
    if fmt == "json":
        _say(output.json_text(render_json(state, verify, now, entries), indent=2), out)
    else:
        _say(postmortem_markdown(state, verify, now, entries, recording, Path.cwd()).removesuffix("\n"), out)
    if verify.ok and read_error is None:
        return EXIT_OK
    _say(f"incident-console: {tampered_line(journal, verify)}", err, True)
    return EXIT_TAMPERED


def _say(text: str, stream: TextIO | None, stderr: bool = False) -> None:
    """`text` and a newline to `stream`, else through the CLI's writer to stdout (stderr with `stderr`)."""
    if stream is None:
        output.out(text, err=stderr)
    else:
        print(text, file=stream)


def postmortem_markdown(
    state: IncidentState,
    verify: VerifyResult,
    now: datetime,
    entries: list[dict],
    recording: Recorded | None,
    folder: Path,
) -> str:
    """The Markdown post-mortem, as `journal export --format md` prints it and the TUI's `e` writes it: with a
    `recording` in use, its figures written first into `folder`/`postmortem-ID-figures/` (postmortem/figures.py) and
    a Figures section linking them (or saying why there are none). Blocks: a thread in the TUI."""
    figures = None
    if recording is not None and recording.used():
        into = folder / f"postmortem-{state.id}-figures"
        figures = write_figures(state, entries, recording.path, into, recording.limits, now.timestamp())
    return render_markdown(state, verify, now, entries, figures)


def write_markdown(
    journal: Journal,
    clock: Clock,
    directory: Path | None = None,
    incident: str | None = None,
    recording: Recorded | None = None,
) -> tuple[Path, VerifyResult]:
    """Write `postmortem-<id>.md` next to the journal (or in `directory`, else the working directory when the
    journal's folder is not writable), with the figures of `recording` beside it as `export` writes them. Raises
    LookupError when there is no incident."""
    entries, _ = _readable_entries(journal)
    state = replay(entries, incident)
    if state is None:
        raise LookupError("no incident has been declared in this journal; nothing to export")
    verify = journal.verify()
    folder = directory or journal.path.parent
    if directory is None and not os.access(folder, os.W_OK):
        folder = Path.cwd()
    path = folder / f"postmortem-{state.id}.md"
    path.write_text(postmortem_markdown(state, verify, clock.now(), entries, recording, folder), encoding="utf-8")
    return path, verify


def tampered_line(journal: Journal, verify: VerifyResult) -> str:
    return (
        f"{journal.path} failed verification at seq {verify.bad_seq} ({verify.reason}); "
        "the post-mortem's integrity appendix says so"
    )


def _readable_entries(journal: Journal) -> tuple[list[dict], JournalError | None]:
    """Every entry up to the first unreadable line (verify names it)."""
    entries: list[dict] = []
    try:
        entries.extend(journal.entries())
    except JournalError as exc:
        return entries, exc
    return entries, None


def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def _action(record: Any) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "at": iso(record.at),
        "action": record.action,
        "risk": record.risk,
        "target": record.summary,
        "params": record.params,
        "confirmation": record.confirm,
        "status": record.status,
        "message": record.message,
        "counts": record.counts,
        "exit_code": record.exit_code,
        "duration_ms": record.duration_ms,
        "outcome_seq": record.outcome_seq,
        "by": record.author,
    }


def _remark(remark: Any) -> dict[str, Any]:
    return {"seq": remark.seq, "at": iso(remark.at), "text": remark.text, "by": remark.author}
