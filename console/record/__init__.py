"""The flight recorder: what the live state saw, kept in one SQLite file per environment (README, "Recording and
replay"; ARCHITECTURE.md, "The recording").

codec (a sample's redacted JSON, zstd keyframes and the deltas against them), store (the file, its trust and the
writer's lock), writer (one transaction per batch, pruning), reader (a moment's frame, the next and previous
sample, a check's series), recorder (the writer beside a live state: standby while another process holds the lock),
chart (a series' scales, ticks and braille plot, drawn without Textual).
"""
