"""The change ledger: what was deployed, changed or run, and which change is the suspect (ARCHITECTURE.md).

model (Change, Suspect, ChangeLedger: the live model the pane, triage and `changes` read), mapping (a JSON document
-> changes, by `items` / `map`), readers (git, http, command: one fetch each, never raising), suspects (the onset
and each change's score and reason), ledger (the feed: every source on its own interval, ranked on every poll).
"""
