"""Signed HTTP requests between systems: HMAC-SHA256 over a timestamp and the body.

A sender puts two headers on every request::

    X-Outrider-Source:    <its name, as the receiver's configuration knows it>
    X-Outrider-Signature: t=<UNIX seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>

The receiver refuses a request whose signature does not verify (``bad_signature``), whose
timestamp is outside its window (``stale_request``), or whose signature it has already seen
within that window (``replayed``). Outbound webhooks and calls to neighbouring forces are
signed the same way, so one function checks all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections import OrderedDict

from dispatch.service_errors import AuthError, ConflictError

__all__ = [
    "SIGNATURE_HEADER",
    "SOURCE_HEADER",
    "ReplayGuard",
    "check_headers",
    "parse_signature",
    "sign",
    "signed_headers",
    "verify",
]

SIGNATURE_HEADER = "X-Outrider-Signature"
SOURCE_HEADER = "X-Outrider-Source"
MAX_HEADER = 512
_PART = re.compile(r"^(t|v1)=([0-9a-fA-F]{1,128})$")


def sign(key: bytes, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(
    source: str, key: bytes, body: bytes, now: float | None = None
) -> dict[str, str]:
    """The headers that sign ``body`` as ``source``."""
    t = int(now if now is not None else time.time())
    return {SOURCE_HEADER: source, SIGNATURE_HEADER: f"t={t},v1={sign(key, t, body)}"}


def parse_signature(header: str) -> tuple[int, list[str]]:
    """The timestamp and the ``v1`` signatures of a signature header.

    Raises:
        AuthError: ``bad_signature`` when the header is missing parts or malformed.
    """
    if not header or len(header) > MAX_HEADER:
        raise AuthError(f"missing or oversized {SIGNATURE_HEADER} header", code="bad_signature")
    stamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        match = _PART.match(part.strip())
        if match is None:
            raise AuthError(f"{SIGNATURE_HEADER} is malformed", code="bad_signature")
        name, value = match.groups()
        if name == "t":
            if stamp is not None or not value.isdigit() or len(value) > 12:
                raise AuthError(f"{SIGNATURE_HEADER} has a bad timestamp", code="bad_signature")
            stamp = int(value)
        elif len(value) == 64:
            macs.append(value.lower())
    if stamp is None or not macs:
        raise AuthError(f"{SIGNATURE_HEADER} needs t= and v1=", code="bad_signature")
    return stamp, macs


def check_headers(
    source: str | None, header: str | None, known: frozenset[str], window_s: float
) -> str:
    """The sender of a signed request, judged by its headers alone (before any body is read).

    Raises:
        AuthError: ``unknown_source`` for a sender with no key here; ``bad_signature`` for a
            missing or malformed signature header; ``stale_request`` outside the window.
    """
    if not source or source not in known:
        raise AuthError(f"no key for {SOURCE_HEADER} {source!r}", code="unknown_source")
    stamp, _ = parse_signature(header or "")
    if abs(time.time() - stamp) > window_s:
        raise AuthError(
            f"request timestamp is outside the {window_s:g} s window", code="stale_request"
        )
    return source


class ReplayGuard:
    """Remembers signatures seen within the window, so that a request is taken once.

    Args:
        window_s: how far a request's timestamp may be from now, either way.
        capacity: bound on signatures remembered (the oldest are forgotten first).
    """

    def __init__(self, window_s: float, capacity: int = 100_000) -> None:
        self.window_s = window_s
        self.capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()

    def _forget_old(self, now: float) -> None:
        while self._seen and (
            len(self._seen) > self.capacity or next(iter(self._seen.values())) < now - self.window_s
        ):
            self._seen.popitem(last=False)

    def verify(self, key: bytes, header: str, body: bytes, now: float | None = None) -> None:
        """Check a request's signature, freshness and novelty; remember it when it passes.

        Raises:
            AuthError: ``bad_signature`` or ``stale_request``.
            ConflictError: ``replayed`` when this signature was already taken.
        """
        now = time.time() if now is None else now
        stamp, macs = parse_signature(header)
        verify(key, stamp, macs, body)
        if abs(now - stamp) > self.window_s:
            raise AuthError(
                f"request timestamp is {now - stamp:.0f} s from now; the window is "
                f"{self.window_s:g} s",
                code="stale_request",
            )
        self._forget_old(now)
        signature = f"{stamp}.{macs[0]}"
        if signature in self._seen:
            raise ConflictError("this signed request was already received", code="replayed")
        self._seen[signature] = float(stamp)


def verify(key: bytes, stamp: int, macs: list[str], body: bytes) -> None:
    """Raises ``AuthError`` (``bad_signature``) unless one of ``macs`` signs ``body``."""
    want = sign(key, stamp, body)
    if not any(hmac.compare_digest(want, mac) for mac in macs):
        raise AuthError("signature does not verify", code="bad_signature")
