"""Who is calling: API tokens with roles, server-side sessions, and officer view links.

Roles rank ``admin`` > ``dispatcher`` > ``viewer``; ``edge`` tokens may only stream video of
their docks and ``metrics`` tokens only read ``/metrics``. A session (the UI's cookie) and an
officer link are random tokens; the store keeps only their HMAC under the service secret
(:mod:`dispatch.store.access`), so both hold across restarts and instances, and both end when
they should: a session by signing out, by expiring, or when its API token is removed or
replaced in the settings; a link by being revoked, by expiring (never later than
``link_max_ttl_s``), or when its incident is closed. Changing the secret ends every session and
link at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from dispatch.config import Role, TokenConfig
from dispatch.models import IncidentRecord, IncidentStatus
from dispatch.service_errors import AuthError, ConflictError, DispatchError, ForbiddenError
from dispatch.store.access import AccessStore, LinkRecord, SessionRecord
from dispatch.store.sql import SqlStore
from edge.protocol import now_utc

__all__ = ["RANK", "Authenticator", "Principal"]

RANK: dict[str, int] = {"edge": 0, "metrics": 0, "viewer": 1, "dispatcher": 2, "admin": 3}
LIMITED = {"edge": "edge tokens may only stream video", "metrics": "metrics tokens read /metrics"}
Via = Literal["token", "session", "link"]


@dataclass(frozen=True)
class Principal:
    """The caller, once known.

    Attributes:
        docks: the docks an ``edge`` token may stream for (``None``: any, development only).
        incident_id: set for an officer view link, which may see that incident only.
        sortie_id: the sortie a link was made for (``None``: its incident's current one).
        via: how the caller proved who it is.
        credential: the stored key of its session or link, to check again on long streams.
    """

    name: str
    role: Role
    raw_video: bool
    docks: frozenset[str] | None = None
    incident_id: str | None = None
    sortie_id: str | None = None
    via: Via = "token"
    credential: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return self.name if self.incident_id else f"user:{self.name}"

    def require(self, role: Role, *, link_ok: bool = False) -> None:
        """Raises:
        ForbiddenError: when the role ranks lower, or a view link asks beyond its incident.
        """
        if self.role in LIMITED and role != self.role:
            raise ForbiddenError(LIMITED[self.role])
        if RANK[self.role] < RANK[role]:
            raise ForbiddenError(f"{self.role} may not do this; it needs {role}")
        if self.incident_id is not None and not link_ok:
            raise ForbiddenError("a view link only opens its own incident")

    def check_incident(self, incident_id: str) -> None:
        if self.incident_id is not None and self.incident_id != incident_id:
            raise ForbiddenError("a view link only opens its own incident")


class Authenticator:
    """Checks tokens, and issues, reads and ends sessions and view links.

    Args:
        tokens: the configured API tokens.
        secret: the key of the HMAC under which sessions and links are stored.
        store: the store (sessions, links, incidents).
        session_ttl_s: lifetime of a session.
        link_max_ttl_s: the longest lifetime a link may be given.
    """

    def __init__(
        self,
        tokens: list[TokenConfig],
        secret: bytes,
        store: SqlStore,
        *,
        session_ttl_s: float,
        link_max_ttl_s: float,
    ) -> None:
        self._by_digest = {t.digest: t for t in tokens}
        self._by_name = {t.name: t for t in tokens}
        self._secret = secret
        self.store = store
        self.access = AccessStore(store)
        self.session_ttl_s = session_ttl_s
        self.link_max_ttl_s = link_max_ttl_s
        self._changed = asyncio.Event()

    def _hash(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _principal(t: TokenConfig, via: Via = "token", credential: str | None = None) -> Principal:
        raw = t.raw_video if t.raw_video is not None else t.role in ("admin", "dispatcher")
        docks = frozenset(t.docks) if t.docks is not None else None
        return Principal(t.name, t.role, raw, docks, via=via, credential=credential)

    def token(self, token: str) -> Principal:
        """The holder of an API token.

        Raises:
            AuthError: for an unknown token.
        """
        found = self._by_digest.get(hashlib.sha256(token.encode()).hexdigest())
        if found is None:
            raise AuthError("unknown API token")
        return self._principal(found)

    # -- sessions ----------------------------------------------------------------------------

    async def issue_session(self, principal: Principal, peer: str) -> str:
        """A new session for the holder of an API token; returns the cookie's value."""
        cookie = secrets.token_urlsafe(32)
        now = now_utc()
        await self.access.add_session(
            SessionRecord(
                id=self._hash(cookie),
                name=principal.name,
                token_digest=self._by_name[principal.name].digest,
                peer=peer[:64],
                created_at=now,
                expires_at=now + timedelta(seconds=self.session_ttl_s),
                ended_at=None,
            )
        )
        return cookie

    async def _open_session(self, session_id: str) -> Principal:
        record = await self.access.session(session_id)
        if record is None or record.ended_at is not None:
            raise AuthError("this session has ended; sign in again")
        if now_utc() > record.expires_at:
            raise AuthError("this session has expired; sign in again")
        token = self._by_name.get(record.name)
        if token is None or token.digest != record.token_digest:
            raise AuthError("this session's token was removed or replaced; sign in again")
        return self._principal(token, "session", session_id)

    async def session(self, cookie: str) -> Principal:
        """The holder of a session cookie.

        Raises:
            AuthError: for an unknown, ended or expired session, or one whose token is gone.
        """
        return await self._open_session(self._hash(cookie))

    async def end_session(self, cookie: str) -> bool:
        """Sign out: the session ends for every instance; ``False`` if it was not open."""
        ended = await self.access.end_session(self._hash(cookie), now_utc())
        self.notify()
        return ended

    # -- officer view links --------------------------------------------------------------------

    async def issue_link(
        self, incident: IncidentRecord, ttl_s: float, actor: str, *, raw: bool = False
    ) -> tuple[str, LinkRecord]:
        """A new link to ``incident`` (and its current sortie); returns its token and record.

        ``raw`` links (issued under a sharing agreement that lets raw video cross) see the raw
        rendition; every other link sees the redacted one.

        Raises:
            ConflictError: when the incident is closed.
            DispatchError: ``invalid_field`` for a lifetime over ``link_max_ttl_s``.
        """
        if incident.status is IncidentStatus.CLOSED:
            raise ConflictError(f"incident {incident.id} is closed")
        if ttl_s > self.link_max_ttl_s:
            raise DispatchError(
                f"ttl_s: a link lives at most {self.link_max_ttl_s:g} s", code="invalid_field"
            )
        token = secrets.token_urlsafe(32)
        now = now_utc()
        record = LinkRecord(
            id=secrets.token_hex(8),
            token_hash=self._hash(token),
            incident_id=incident.id,
            sortie_id=incident.sortie_id,
            created_by=actor[:128],
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
            revoked_at=None,
            revoked_by=None,
            raw=raw,
        )
        await self.access.add_link(record)
        return token, record

    async def _open_link(self, token_hash: str) -> Principal:
        record = await self.access.link_by_hash(token_hash)
        if record is None:
            raise AuthError("this is not a valid link")
        if record.revoked_at is not None:
            raise AuthError("this link was withdrawn by the control room", code="link_revoked")
        if now_utc() > record.expires_at:
            raise AuthError("this link has expired", code="link_expired")
        incident = await self.store.get_incident(record.incident_id)
        if incident is None or incident.status is IncidentStatus.CLOSED:
            raise AuthError("the incident is closed, and its links with it", code="link_ended")
        return Principal(
            f"link:{record.id}",
            "viewer",
            record.raw,
            incident_id=record.incident_id,
            sortie_id=record.sortie_id,
            via="link",
            credential=token_hash,
        )

    async def link(self, token: str) -> Principal:
        """The officer holding a view link.

        Raises:
            AuthError: ``link_expired``, ``link_revoked``, ``link_ended`` (incident closed), or
                ``unauthorized`` for a token that is no link.
        """
        return await self._open_link(self._hash(token))

    async def revoke_link(self, incident_id: str, link_id: str, actor: str) -> LinkRecord | None:
        """Withdraw a link; whoever holds it is refused from now on, open streams included."""
        record = await self.access.revoke_link(incident_id, link_id, actor, now_utc())
        self.notify()
        return record

    # -- long-lived streams --------------------------------------------------------------------

    async def recheck(self, who: Principal) -> None:
        """Check again that a session or link still holds (a stream outlives its handshake).

        Raises:
            AuthError: once it has ended, expired or been revoked.
        """
        if who.via == "session" and who.credential is not None:
            await self._open_session(who.credential)
        elif who.via == "link" and who.credential is not None:
            await self._open_link(who.credential)

    def notify(self) -> None:
        """Wake every stream waiting in :meth:`changed`: a session, link or incident ended."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, within_s: float) -> None:
        """Return when access may have changed, or after ``within_s`` seconds at the latest."""
        event = self._changed
        try:
            async with asyncio.timeout(within_s):
                await event.wait()
        except TimeoutError:
            return
