"""The post-mortem, written from the journal: `incident-console journal export [--format md|json] [--incident ID]`.

`render_json` builds the document as data; `render_markdown` is that same data as Markdown, so both formats
always agree. Headings follow shared/runbooks/blaze-production.md (what happened, root cause, impact, timeline,
resolution, prevention). Exit codes of `export`: 0 written; 1 written but the journal failed verification
(the integrity appendix says so, and one line on stderr); 2 no such incident (one line on stderr).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from console import output
from console.clock import Clock
from console.incident.replay import incident_ids, replay
from console.incident.state import IncidentState, author_of, cadence_text, describe
from console.journal import Journal, JournalError, VerifyResult
from console.models import format_duration
from console.redact import Redactor
from console.timeparse import iso

EXIT_OK, EXIT_TAMPERED, EXIT_NO_INCIDENT = 0, 1, 2
PIN = "★"
TO_FILL = "_To fill in._"


def render_json(state: IncidentState, verify: VerifyResult, now: datetime) -> dict[str, Any]:
    """The post-mortem as data (times are ISO 8601 UTC, durations in seconds)."""
    level = state.level
    metrics = state.metrics()
    last_cause = next((u.fields["root_cause"] for u in reversed(state.updates) if u.fields.get("root_cause")), "")
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
        },
    }


def render_markdown(state: IncidentState, verify: VerifyResult, now: datetime) -> str:
    """The post-mortem as Markdown: facts filled in from the journal, the analysis headings left to fill."""
    return _markdown(render_json(state, verify, now))


def export(
    journal: Journal,
    fmt: str = "md",
    incident: str | None = None,
    *,
    clock: Clock | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print the post-mortem of `incident` (default: the latest) to `out`; see the module doc for exit codes."""
    entries, read_error = _readable_entries(journal)
    state = replay(entries, incident)
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
        _say(json.dumps(render_json(state, verify, now), indent=2, ensure_ascii=False), out)
    else:
        _say(render_markdown(state, verify, now).removesuffix("\n"), out)
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


def write_markdown(
    journal: Journal, clock: Clock, directory: Path | None = None, incident: str | None = None
) -> tuple[Path, VerifyResult]:
    """Write `postmortem-<id>.md` next to the journal (or in `directory`, else the working directory when the
    journal's folder is not writable). Raises LookupError when there is no incident."""
    entries, _ = _readable_entries(journal)
    state = replay(entries, incident)
    if state is None:
        raise LookupError("no incident has been declared in this journal; nothing to export")
    verify = journal.verify()
    folder = directory or journal.path.parent
    if directory is None and not os.access(folder, os.W_OK):
        folder = Path.cwd()
    path = folder / f"postmortem-{state.id}.md"
    path.write_text(render_markdown(state, verify, clock.now()), encoding="utf-8")
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


# -- Markdown ---------------------------------------------------------------------------------------------

_CONFIRMATION = {"none": "none needed", "yes": "yes/no", "typed": "typed confirmation"}
_MEASURES = (
    ("detect", "Time to detect", "impact started → first alert"),
    ("acknowledge", "Time to acknowledge", "first alert → declared"),
    ("mitigate", "Time to mitigate", "impact started → mitigated"),
    ("resolve", "Time to resolve", "impact started → resolved"),
)


def _markdown(doc: dict[str, Any]) -> str:
    inc = doc["incident"]
    lines = [f"# Post-mortem: {inc['title']}", ""]
    facts = _facts(doc)
    lines += _table(facts[0], facts[1:])
    lines += ["", "## Summary", "", _summary(doc), "", "_Add two or three sentences for readers who were not there._"]
    lines += ["", "## Impact", "", *_impact(doc)]
    cause = doc["sections"]["root_cause"]
    lines += ["", "## What happened", "", TO_FILL, "", "## Root cause", "", TO_FILL]
    if cause:
        lines += ["", f"Last stated in a status update: {cause}"]
    lines += ["", "## Resolution", "", TO_FILL, *_remarks(doc["decisions"], "", "Decisions taken:")]
    lines += ["", "## Prevention", "", "_To fill in; the follow-ups below are a start._"]
    lines += ["", "## Timeline (UTC)", "", f"{PIN} marks a pinned entry.", "", *_timeline(doc)]
    lines += ["", "## Operator actions", "", *_actions(doc)]
    lines += ["", "## Follow-ups", ""]
    lines += _remarks(
        doc["follow_ups"], "_None recorded (a note starting with TODO: becomes a follow-up)._", "", "[ ] "
    )
    lines += ["", "## Communications", "", *_communications(doc)]
    lines += ["", "## Integrity", "", *_integrity(doc)]
    return "\n".join(lines) + "\n"


def _facts(doc: dict[str, Any]) -> list[list[str]]:
    inc = doc["incident"]
    impact = _utc(inc["impact_started"])
    if inc["backdated_s"]:
        impact += f" (backdated {format_duration(inc['backdated_s'])} before the declaration)"
    roles = " · ".join(f"{role} {inc['roles'].get(role, '—')}" for role in ("commander", "scribe", "comms"))
    return [
        ["Incident", inc["id"]],
        ["Severity", f"{inc['severity']} ({inc['severity_label']})"],
        ["Status", inc["status"]],
        ["Environment", inc["environment"] or "—"],
        ["Declared", f"{_utc(inc['declared_at'])} by {inc['declared_by']}"],
        ["Impact started", impact],
        ["Roles", roles],
        ["Written", _utc(doc["generated_at"])],
    ]


def _summary(doc: dict[str, Any]) -> str:
    inc, comms = doc["incident"], doc["communications"]
    end = inc["resolved_at"] or inc["ended_at"]
    until = (
        f"{_clock(inc['impact_started'])} → {_clock(end)} UTC" if end else f"since {_clock(inc['impact_started'])} UTC"
    )
    done = sum(1 for a in doc["actions"] if a["status"] == "completed")
    return (
        f"{inc['severity']} incident in {inc['environment'] or 'an unnamed environment'}: {inc['title']}. "
        f"Impact lasted {format_duration(doc['impact']['duration_s'])} ({until}), now {inc['status']}. "
        f"{_count(len(doc['actions']), 'operator action')} ({done} completed), "
        f"{_count(len(comms['updates']), 'status update')}, {_count(len(doc['follow_ups']), 'follow-up')}."
    )


def _impact(doc: dict[str, Any]) -> list[str]:
    inc, impact = doc["incident"], doc["impact"]
    rows = [[label, between, _span(impact[f"time_to_{name}_s"])] for name, label, between in _MEASURES]
    if inc["detected_seq"] is not None:
        rows[0][1] += f" (#{inc['detected_seq']})"
    else:
        rows[0][1] = "impact started → declared (no alert was journaled before)"
    lines = _table(["Measure", "Between", "Time"], rows)
    target, acknowledged = impact["response_target_s"], impact["time_to_acknowledge_s"]
    if target:
        verdict = "met" if acknowledged <= target else "missed"
        lines += ["", f"Response target when declared: {format_duration(target)}; {verdict}."]
    severity = [c for c in doc["changes"] if c["kind"] == "severity"]
    if severity:
        moves = ", ".join(f"{c['from']} → {c['to']} at {_clock(c['at'])} UTC (#{c['seq']})" for c in severity)
        lines += ["", f"Severity changes: {moves}."]
    return lines


def _timeline(doc: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"{PIN} {e['seq']}" if e["pinned"] else str(e["seq"]),
            _stamp(e["ts"]),
            e["kind"],
            e["by"],
            e["text"],
        ]
        for e in doc["timeline"]
    ]
    return _table(["#", "Time (UTC)", "Kind", "Who", "What"], rows, right=(0,))


def _actions(doc: dict[str, Any]) -> list[str]:
    if not doc["actions"]:
        return ["_No operator actions were run during the incident._"]
    redactor = Redactor()
    rows = []
    for a in doc["actions"]:
        params = ", ".join(f"{k}={v}" for k, v in sorted(a["params"].items())) or "—"
        if a["status"] is None:
            result = "no outcome journaled (the console stopped?)"
        else:
            result = " · ".join(
                part
                for part in (
                    a["status"],
                    a["message"],
                    ", ".join(f"{k} {v}" for k, v in sorted(a["counts"].items())),
                    f"#{a['outcome_seq']}",
                )
                if part
            )
        duration = format_duration(a["duration_ms"] / 1000) if isinstance(a["duration_ms"], int) else "—"
        rows.append(
            [
                str(a["seq"]),
                _stamp(a["at"]),
                f"{a['action']} ({a['risk']})" if a["risk"] else a["action"],
                a["target"] or "—",
                redactor.text(params),
                _CONFIRMATION.get(a["confirmation"], a["confirmation"] or "—"),
                result,
                duration,
                a["by"],
            ]
        )
    headers = ["#", "Time (UTC)", "Action", "Target", "Parameters", "Confirmation", "Result", "Duration", "By"]
    return _table(headers, rows, right=(0,))


def _communications(doc: dict[str, Any]) -> list[str]:
    comms, inc = doc["communications"], doc["incident"]
    updates, overdue = comms["updates"], comms["overdue"]
    late = sum(1 for u in updates if u["late_s"] > 0)
    verdict = "kept" if comms["cadence_kept"] else "missed"
    lines = [
        f"Cadence: an update every {cadence_text(comms['update_every_s'])} at {inc['severity']}; {verdict}. "
        f"{_count(len(updates), 'update')} posted ({late} late), {_count(len(overdue), 'overdue reminder')}.",
        "",
    ]
    if updates:
        rows = [
            [
                str(u["seq"]),
                _stamp(u["at"]),
                u["kind"],
                _stamp(u["due_at"]) if u["due_at"] else "—",
                f"missed by {format_duration(u['late_s'])}" if u["late_s"] else "kept",
                _stamp(u["next_update_at"]) if u["next_update_at"] else "—",
                u["by"],
            ]
            for u in updates
        ]
        lines += _table(["#", "Posted (UTC)", "Kind", "Due (UTC)", "Cadence", "Next update (UTC)", "By"], rows, (0,))
    else:
        lines.append("_No status update was posted._")
    if overdue:
        lines.append("")
    for r in overdue:
        lines.append(f"- #{r['seq']} at {_utc(r['at'])}: the update due at {_utc(r['due_at'])} had not been posted.")
    for u in updates:
        lines += ["", f"#{u['seq']} as posted:", "", "```text", *u["text"].splitlines(), "```"]
    return lines


def _integrity(doc: dict[str, Any]) -> list[str]:
    check = doc["integrity"]
    lines = [f"- Journal entries: {check['entries']} verified", f"- Head hash: `{check['head'] or 'none'}`"]
    if check["ok"]:
        lines.append("- Verify: ok; every entry's hash chains to the one before it.")
    else:
        lines.append(
            f"- Verify: **FAILED** at seq {check['bad_seq']}: {check['reason']}. The journal was altered or damaged "
            "after it was written; check this timeline against another copy before trusting it."
        )
    return lines


def _remarks(remarks: list[dict], empty: str, title: str, prefix: str = "") -> list[str]:
    if not remarks:
        return ["", empty] if empty else []
    lines = ["", title] if title else []
    return lines + [f"- {prefix}{r['text']} (#{r['seq']}, {_clock(r['at'])} UTC, {r['by']})" for r in remarks]


def _table(headers: list[str], rows: list[list[str]], right: tuple[int, ...] = ()) -> list[str]:
    rule = ["---:" if i in right else "---" for i in range(len(headers))]
    return [_row(headers), _row(rule)] + [_row(row) for row in rows]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(" ".join(str(c).split()).replace("|", "\\|") for c in cells) + " |"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "not reached"
    return "0s" if seconds < 0.5 else format_duration(seconds)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _utc(text: str) -> str:
    return _moment(text).strftime("%Y-%m-%d %H:%M UTC")


def _stamp(text: str) -> str:
    """For tables whose header says UTC."""
    return _moment(text).strftime("%Y-%m-%d %H:%M:%S")


def _clock(text: str) -> str:
    return _moment(text).strftime("%H:%M")
