"""The post-mortem as Markdown: `to_markdown` renders the document `postmortem.render_json` builds.

Everything in that document came from the journal, so every string in it is escaped with `make_safe`
first (escape sequences, OSC 52, NUL, and a newline that would forge a table row or a line): the file is
read in terminals (`cat`, `less -R`) as much as in a browser. A status update keeps its own lines.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from console.incident.state import cadence_text
from console.models import count, format_duration
from console.redact import Redactor, make_safe

PIN = "★"
TO_FILL = "_To fill in._"


def to_markdown(doc: dict[str, Any]) -> str:
    """The post-mortem document as Markdown: facts filled in from the journal, the analysis headings left to fill."""
    return _markdown(_escaped(doc))


def _escaped(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of the document with every string (dict keys too) made safe; status updates line by line."""
    safe = _safe(doc)
    for update, original in zip(safe["communications"]["updates"], doc["communications"]["updates"], strict=True):
        update["text"] = "\n".join(make_safe(line) for line in original["text"].split("\n"))
    return safe


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return make_safe(value)
    if isinstance(value, dict):
        return {_safe(key): _safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_safe(item) for item in value]
    return value


_CONFIRMATION = {"none": "none needed", "yes": "yes/no", "typed": "typed confirmation"}
_MEASURES = (
    ("detect", "Time to detect", "onset → first alert"),
    ("acknowledge", "Time to acknowledge", "first alert → declared"),
    ("mitigate", "Time to mitigate", "onset → mitigated"),
    ("resolve", "Time to resolve", "onset → resolved"),
)


def _markdown(doc: dict[str, Any]) -> str:
    inc = doc["incident"]
    lines = [f"# Post-mortem: {inc['title']}", ""]
    facts = _facts(doc)
    lines += _table(facts[0], facts[1:])
    lines += ["", "## Summary", "", _summary(doc), "", "_Add two or three sentences for readers who were not there._"]
    lines += ["", "## Impact", "", *_impact(doc)]
    if "figures" in doc:
        lines += ["", "## Figures", "", *_figures(doc["figures"])]
    cause = doc["sections"]["root_cause"]
    lines += ["", "## What happened", "", TO_FILL, "", "## Root cause", "", TO_FILL]
    if cause:
        lines += ["", f"Last stated in a status update: {cause}"]
    lines += ["", "## Resolution", "", TO_FILL, *_remarks(doc["decisions"], "", "Decisions taken:")]
    lines += ["", "## Prevention", "", "_To fill in; the follow-ups below are a start._"]
    lines += ["", "## Timeline (UTC)", "", f"{PIN} marks a pinned entry.", "", *_timeline(doc)]
    lines += ["", "## Changes before the incident", "", *_changes(doc)]
    lines += ["", "## Operator actions", "", *_actions(doc)]
    lines += ["", "## Triage", "", *_triage(doc)]
    lines += ["", "## Follow-ups", ""]
    lines += _remarks(
        doc["follow_ups"], "_None recorded (a note starting with TODO: becomes a follow-up)._", "", "[ ] "
    )
    lines += ["", "## Communications", "", *_communications(doc)]
    lines += ["", "## Integrity", "", *_integrity(doc)]
    return "\n".join(lines) + "\n"


def _figures(figures: dict[str, Any]) -> list[str]:
    """A link per figure (the check's recorded numbers, 30 min before the onset to the end, with markers)."""
    if not figures["files"]:
        return [f"_{figures['note']}_"]
    lines = ["Each check that went WARN or worse, from 30 minutes before the onset to the end, as recorded:", ""]
    return lines + [f"![{check}]({file})" for check, file in figures["files"]]


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
        ["Onset", _onset(inc)],
        ["Roles", roles],
        ["Written", _utc(doc["generated_at"])],
    ]


def _onset(inc: dict[str, Any]) -> str:
    """When it began (`replay.onset`): the impact start, or the first WARN-or-worse observation before it."""
    if inc["onset"] == inc["impact_started"]:
        return "the impact start"
    onset = _moment(inc["onset"])
    before = format_duration((_moment(inc["declared_at"]) - onset).total_seconds())
    return f"{onset:%Y-%m-%d %H:%M:%S} UTC, the first WARN-or-worse observation ({before} before the declaration)"


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
        f"{count(len(doc['actions']), 'operator action')} ({done} completed), "
        f"{count(len(comms['updates']), 'status update')}, {count(len(doc['follow_ups']), 'follow-up')}."
    )


def _impact(doc: dict[str, Any]) -> list[str]:
    inc, impact = doc["incident"], doc["impact"]
    rows = [[label, between, _span(impact[f"time_to_{name}_s"])] for name, label, between in _MEASURES]
    if inc["detected_seq"] is not None:
        rows[0][1] += f" (#{inc['detected_seq']})"
    else:
        rows[0][1] = "onset → declared (no alert was journaled before)"
    action_seq = impact["mitigating_action_seq"]
    rows.append(
        [
            "Time to first mitigating action",
            "declared → first write or destructive action completed" + (f" (#{action_seq})" if action_seq else ""),
            _span(impact["time_to_mitigating_action_s"]),
        ]
    )
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


def _changes(doc: dict[str, Any]) -> list[str]:
    """The change ledger's changes in the day before the onset, suspects first, and what undid the top one."""
    ledger = doc["change_ledger"]
    if not ledger["changes"]:
        return ["_No change was journaled in the day before the onset (`[[changes]]` sources: docs/config.md)._"]
    rows = [
        [
            f"#{c['suspect']['rank']} ({c['suspect']['score']:.2f})" if c["suspect"] else "",
            _stamp(c["live_at"] or c["time"]),
            c["kind"],
            " ".join(part for part in (c["version"], c["summary"]) if part),
            c["source"],
            c["suspect"]["reason"] if c["suspect"] else "",
        ]
        for c in ledger["changes"]
    ]
    lines = _table(["Suspect", "Live (UTC)", "Kind", "Change", "Source", "Why"], rows)
    undone = ledger["undone_by"]
    if undone:
        lines += [
            "",
            f"Undone by `{undone['action']}` to {undone['version']} (#{undone['seq']}, {_stamp(undone['at'])} UTC, "
            f"by {undone['by']}): it replaced {undone['undid']}.",
        ]
    return lines


def _triage(doc: dict[str, Any]) -> list[str]:
    if not doc["triage"]:
        return ["_No playbook was run during the incident._"]
    lines: list[str] = []
    for run in doc["triage"]:
        if lines:
            lines.append("")
        if run["outcome"] is None:
            end = "not finished"
        else:
            reason = f" ({run['reason']})" if run["reason"] else ""
            end = f"finished {_clock(run['finished_at'])} UTC: {run['outcome']}{reason}"
        lines += [f"### {run['title']} ({run['playbook']}, run #{run['run']})", ""]
        lines += [f"Started {_clock(run['started_at'])} UTC, {end}.", ""]
        rows = [
            [
                _stamp(s["at"]),
                f"{s['step']} ({s['kind']})" if s["kind"] else s["step"],
                s["result"],
                " · ".join(part for part in (s["answer"], s["reason"], s["evidence"]) if part) or "—",
            ]
            for s in run["steps"]
        ]
        lines += _table(["Time (UTC)", "Step", "Result", "Evidence / answer"], rows)
    return lines


def _communications(doc: dict[str, Any]) -> list[str]:
    comms, inc = doc["communications"], doc["incident"]
    updates, overdue = comms["updates"], comms["overdue"]
    late = sum(1 for u in updates if u["late_s"] > 0)
    verdict = "kept" if comms["cadence_kept"] else "missed"
    lines = [
        f"Cadence: an update every {cadence_text(comms['update_every_s'])} at {inc['severity']}; {verdict}. "
        f"{count(len(updates), 'update')} posted ({late} late), {count(len(overdue), 'overdue reminder')}.",
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
        if check.get("anchor"):
            lines.append(
                f"- {check['anchor'].capitalize()}: keep it elsewhere; `incident-console journal verify --anchor` "
                "then proves that the journal still extends this post-mortem."
            )
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
