"""The one error of a triage command (kept apart so the app can catch it without importing the engine)."""


class TriageError(Exception):
    """A triage command that cannot be done now; str() is one line saying why."""
