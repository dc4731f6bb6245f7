"""Who is calling: API tokens with roles, session cookies, and signed officer view links.

Roles rank ``admin`` > ``dispatcher`` > ``viewer``; ``edge`` tokens may only stream video of
their docks. Sessions and view links are HMAC-SHA256-signed claims
(``base64url(json).base64url(mac)``) that carry their own expiry; a session names its
token, so removing a token from the configuration ends its sessions too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from dispatch.config import Role, TokenConfig
from dispatch.service_errors import AuthError, ForbiddenError

__all__ = ["RANK", "Authenticator", "Principal"]

RANK: dict[str, int] = {"edge": 0, "viewer": 1, "dispatcher": 2, "admin": 3}


@dataclass(frozen=True)
class Principal:
    """The caller, once known.

    Attributes:
        incident_id: set for an officer view link, which may see that incident only.
        docks: the docks an ``edge`` token may stream for (``None``: any).
    """

    name: str
    role: Role
    raw_video: bool
    docks: frozenset[str] | None = None
    incident_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return self.name if self.incident_id else f"user:{self.name}"

    def require(self, role: Role, *, link_ok: bool = False) -> None:
        """Raises:
        ForbiddenError: when the role ranks lower, or a view link asks beyond its incident.
        """
        if self.role == "edge" and role != "edge":
            raise ForbiddenError("edge tokens may only stream video")
        if RANK[self.role] < RANK[role]:
            raise ForbiddenError(f"{self.role} may not do this; it needs {role}")
        if self.incident_id is not None and not link_ok:
            raise ForbiddenError("a view link only opens its own incident")

    def check_incident(self, incident_id: str) -> None:
        if self.incident_id is not None and self.incident_id != incident_id:
            raise ForbiddenError("a view link only opens its own incident")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """Checks tokens and issues/reads sessions and view links.

    Args:
        tokens: the configured API tokens.
        secret: key of the HMAC over sessions and links.
        session_ttl_s: lifetime of a session cookie.
    """

    def __init__(self, tokens: list[TokenConfig], secret: bytes, session_ttl_s: float) -> None:
        self._by_digest = {t.digest: t for t in tokens}
        self._by_name = {t.name: t for t in tokens}
        self._secret = secret
        self.session_ttl_s = session_ttl_s

    @staticmethod
    def _principal(t: TokenConfig) -> Principal:
        raw = t.raw_video if t.raw_video is not None else t.role in ("admin", "dispatcher")
        docks = frozenset(t.docks) if t.docks is not None else None
        return Principal(t.name, t.role, raw, docks)

    def token(self, token: str) -> Principal:
        """The holder of an API token.

        Raises:
            AuthError: for an unknown token.
        """
        digest = hashlib.sha256(token.encode()).hexdigest()
        found = self._by_digest.get(digest)
        if found is None:
            raise AuthError("unknown API token")
        return self._principal(found)

    def _sign(self, kind: str, claims: dict[str, Any]) -> str:
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        mac = hmac.new(self._secret, f"{kind}.{body}".encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(mac)}"

    def _read(self, kind: str, token: str) -> dict[str, Any]:
        body, _, mac = token.partition(".")
        try:
            want = hmac.new(self._secret, f"{kind}.{body}".encode(), hashlib.sha256).digest()
            if not mac or not hmac.compare_digest(want, _unb64(mac)):
                raise AuthError(f"{kind} signature does not verify")
            claims = json.loads(_unb64(body))
        except (binascii.Error, ValueError, UnicodeError) as exc:
            raise AuthError(f"{kind} is malformed") from exc
        if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int | float):
            raise AuthError(f"{kind} is malformed")
        if time.time() > claims["exp"]:
            code = "link_expired" if kind == "link" else "unauthorized"
            raise AuthError(f"{kind} expired", code=code)
        return claims

    def issue_session(self, principal: Principal) -> str:
        return self._sign(
            "session", {"sub": principal.name, "exp": time.time() + self.session_ttl_s}
        )

    def session(self, cookie: str) -> Principal:
        """The holder of a session cookie.

        Raises:
            AuthError: for a forged, expired or revoked session.
        """
        claims = self._read("session", cookie)
        found = self._by_name.get(str(claims.get("sub")))
        if found is None:
            raise AuthError("session's token was revoked")
        return self._principal(found)

    def issue_link(self, incident_id: str, ttl_s: float, *, raw: bool = False) -> tuple[str, float]:
        """A view-link token for one incident and its expiry (UNIX seconds).

        ``raw`` links (issued under a sharing agreement that lets raw video cross) see the raw
        rendition; every other link sees the redacted one.
        """
        exp = time.time() + ttl_s
        claims: dict[str, Any] = {"inc": incident_id, "exp": exp}
        if raw:
            claims["raw"] = True
        return self._sign("link", claims), exp

    def link(self, token: str) -> Principal:
        """The officer holding a view link.

        Raises:
            AuthError: ``link_expired`` after its expiry; ``unauthorized`` when forged.
        """
        claims = self._read("link", token)
        incident_id = str(claims.get("inc"))
        raw = claims.get("raw") is True
        return Principal(f"link:{incident_id}", "viewer", raw, None, incident_id)
