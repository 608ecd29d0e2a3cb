"""What the console may write or show: secrets masked (`Redactor`), control characters escaped (`make_safe`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter secrets are masked too, with a warning when the config is loaded

# scheme://user:PASS@host -- PASS ends at the last "@" of the authority (so "p@ss" is masked whole)
# and never spans a "/", so "http://host:8080/path?mail=a@b" is left alone.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@]*:)(?P<pw>[^\s/]*?)(?=@[^\s@/]*(?:[/?#\s]|$))"
)
# key=value secrets: libpq `password=`, PGPASSWORD=..., `token=` (access_token, ...), `secret=` (client_secret,
# ...), `api_key=`/`apikey=`, and `key=` in a query string (`?key=`, `&key=`); a quoted value may hold spaces.
_KV_SECRET = re.compile(
    r"(?P<head>(?:password|token|secret|api[_-]?key|(?<=[?&])key)[ \t]*=[ \t]*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s&]+)",
    re.IGNORECASE,
)
_PATTERNS = (_URL_PASSWORD, _KV_SECRET)


def passwords(text: str) -> list[str]:
    """The values in ``text`` that :meth:`Redactor.text` masks by pattern (URL passwords, ``key=value`` secrets)."""
    return [m.group("pw") for pattern in _PATTERNS for m in pattern.finditer(text) if m.group("pw")]


class Redactor:
    """Replaces secrets in text and nested JSON-like values before they are written or shown.

    Secrets are the values that came from ``${VAR}`` expansions; besides those, every password
    in a URL/DSN (``scheme://user:PASS@host``) and every ``password=``, ``token=``, ``secret=``,
    ``api_key=`` and query-string ``key=`` value is masked.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Remember one more secret, however short (the config warns about one under MIN_SECRET_LENGTH characters:
        masking it hides the same characters in ordinary text too); an empty value is ignored."""
        if secret and secret not in self._secrets:
            self._remember(secret)

    def _remember(self, secret: str) -> None:
        self._secrets.add(secret)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(self._secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        """A copy that also masks `secrets` (for one action run)."""
        copy = Redactor(self._secrets)
        for secret in secrets:
            copy.add(secret)
        return copy

    def text(self, s: str) -> str:
        """Return ``s`` with every secret, URL/DSN password and key=value secret replaced by ``***``."""
        if not s:  # most readings have no reason to redact
            return s
        if self._pattern is not None:
            s = self._pattern.sub(MASK, s)
        for pattern in _PATTERNS:
            s = pattern.sub(rf"\g<head>{MASK}", s)
        return s

    def value(self, obj: Any) -> Any:
        """Apply :meth:`text` to every str inside dicts, lists and tuples; dict keys and other types stay."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {key: self.value(item) for key, item in obj.items()}
        if isinstance(obj, list):
            return [self.value(item) for item in obj]
        if isinstance(obj, tuple):
            return tuple(self.value(item) for item in obj)
        return obj


# Every C0/C1 control (tab becomes spaces), DEL, and the bidi overrides that reorder what is shown.
UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\t":
        return "    "
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def is_safe(text: str) -> bool:
    """No character make_safe would change (every one of them is non-printable: `isprintable` is the fast answer)."""
    return text.isprintable() or UNSAFE_CHARS.search(text) is None


def make_safe(text: str, *, newlines: bool = False) -> str:
    """Untrusted text as the terminal may show it: ESC -> `\\x1b`, other controls `\\xNN`, bidi controls `\\u202e`,
    tab -> spaces. With `newlines`, a newline stays one (text the console shows as several lines)."""
    if is_safe(text):
        return text
    return (UNSAFE_BUT_NEWLINE if newlines else UNSAFE_CHARS).sub(_visible, text)
