"""Secrets kept out of every log line: passwords in URLs, tokens, bearer credentials.

:class:`RedactingFilter` sits on the log handlers of every Outrider process (the edge, dispatch,
the demo's children), so it sees every record, uvicorn's access log included, and rewrites its
text before any formatter or file sees it: ``scheme://user:password@host`` loses the password,
``?token=...`` (an officer link) and ``Authorization: Bearer ...`` lose the credential, and any
value registered with :func:`remember_secret` (the session secret, a broker password read from
a file) is replaced wherever it appears.
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED", "RedactingFilter", "install", "redact", "remember_secret"]

REDACTED = "***"
MIN_SECRET_LEN = 8  # shorter values would blank ordinary words out of the logs
_PATTERNS = (
    # scheme://user:password@host, the password holding "@" or not
    (re.compile(r"([a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)[^\s'\"]*@", re.I), rf"\1{REDACTED}@"),
    # ?token=... &password=... in URLs and query strings
    (
        re.compile(r"([?&](?:token|access_token|password|secret|key)=)[^&\s'\"]+", re.I),
        rf"\1{REDACTED}",
    ),
    # Authorization: Bearer <credential>, in headers or their reprs
    (re.compile(r"(\bBearer\s+)[^\s'\",}]+", re.I), rf"\1{REDACTED}"),
)
_secrets: set[str] = set()


def remember_secret(value: str | None) -> None:
    """Replace ``value`` in every log line from now on (ignored when too short to be one)."""
    if value and len(value) >= MIN_SECRET_LEN:
        _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every secret it holds replaced by ``***``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and its traceback) without the secrets it holds."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put one :class:`RedactingFilter` on every handler of ``logger`` (the root by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
