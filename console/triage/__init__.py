"""Guided triage, headless: playbooks of steps walked against the live state, every move journaled.

The pieces, from the bottom up (no Textual, no I/O but the journal and the playbook files):

- `conditions`  the condition language (`metric."error rate" > 1 and any health is down`, sources named by the
                registry's rows, `alerts.firing{severity="critical"}`, `incident.age > 10m`): `grammar`, a
                recursive-descent parser over `tokens` (no eval; `ConditionError` has line and column; a threshold
                converts to the check's unit) and a three-valued evaluator (PASS / FAIL / UNKNOWN, Kleene logic)
                whose `Result` carries evidence in words; `incident_conditions` reads the open incident. `names()`
                lists the checks a condition reads, `problems()` what `triage check` says of it.
                `sustained.Sustained` adds `for = "5m"` by the clock.
- `steps`       the step kinds, one module each (check, look, ask, action, verify, capture, pick, update, done), in
                one registry (`Step`): each parses itself, says its problems, words itself and runs (see its __init__).
- `playbook`    the format (pydantic, extra keys forbidden), loading from `[[playbook]]` in the config and `*.toml`
                files in the folders named by `[console] playbooks`, and `validate()`: one line per problem (file,
                playbook, step, what).
- `builtins`    playbooks for what the console measures itself (PostgreSQL connections and locks, Redis, log error
                spikes), offered when every source their `when` reads is configured; `all_playbooks(config)` adds
                the configured ones.
- `resolve`     action params made concrete: `{capture}` and live references (`{postgres.top_blocker.pid}`).
- `run`         the journal kinds of a run (`triage.started`, `triage.step`, `triage.skipped`, `triage.back`,
                `triage.finished`) and `replay()`, a dispatch table that rebuilds every run from the journal.
- `engine`      `TriageEngine`: start or resume a run, `poll()` lets each step run (a `StepView` says what the
                current one waits on: its move), `answer`, `proceed`, `skip`, `back`, `proposal()` for action steps
                (the caller runs it through the runner) and `record_action`.
                Its state is the journal's, so a restarted console or a second one resumes at the same step.
- `suggest`     the playbooks whose `when` holds now, the best fit first (severity, the failing checks it `fixes`,
                those its condition names; one whose run fell short in this incident last), with evidence, the
                reason for its rank and a suggested severity.
"""
