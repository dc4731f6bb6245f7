"""Who may come in, as stored: sign-in sessions and officer view links.

Both live in the store rather than in signed cookies, so they hold across restarts and across
several dispatch instances on one PostgreSQL, and they can be ended: a session by signing out
or by removing its token, a link by revoking it or by closing its incident. Neither the cookie
nor the link token is stored, only its HMAC under the service secret.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, update

from dispatch.store import tables as t
from dispatch.store.sql import SqlStore

__all__ = ["AccessStore", "LinkRecord", "SessionRecord"]


class SessionRecord(BaseModel):
    """A sign-in session as stored."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    name: str
    token_digest: str
    peer: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None


class LinkRecord(BaseModel):
    """An officer view link as stored: one incident, and the sortie it was made for."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    token_hash: str
    incident_id: str
    sortie_id: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    raw: bool = False


class AccessStore:
    """Sessions and links in the store.

    Args:
        store: the (open) store.
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    async def add_session(self, record: SessionRecord) -> None:
        async with self.store.tx() as tx:
            await tx.conn.execute(insert(t.sessions).values(**record.model_dump()))

    async def session(self, session_id: str) -> SessionRecord | None:
        rows = await self.store.rows(select(t.sessions).where(t.sessions.c.id == session_id))
        return SessionRecord.model_validate(rows[0]) if rows else None

    async def end_session(self, session_id: str, at: datetime) -> bool:
        """End a session; ``False`` when there was no open one."""
        async with self.store.tx() as tx:
            result = await tx.conn.execute(
                update(t.sessions)
                .where(t.sessions.c.id == session_id, t.sessions.c.ended_at.is_(None))
                .values(ended_at=at)
            )
        return bool(result.rowcount)

    async def add_link(self, record: LinkRecord) -> None:
        async with self.store.tx() as tx:
            await tx.conn.execute(insert(t.links).values(**record.model_dump()))

    async def link_by_hash(self, token_hash: str) -> LinkRecord | None:
        rows = await self.store.rows(select(t.links).where(t.links.c.token_hash == token_hash))
        return LinkRecord.model_validate(rows[0]) if rows else None

    async def links(self, incident_id: str) -> list[LinkRecord]:
        """The incident's links, oldest first."""
        rows = await self.store.rows(
            select(t.links)
            .where(t.links.c.incident_id == incident_id)
            .order_by(t.links.c.created_at)
        )
        return [LinkRecord.model_validate(r) for r in rows]

    async def revoke_link(
        self, incident_id: str, link_id: str, actor: str, at: datetime
    ) -> LinkRecord | None:
        """Revoke one link of an incident; the link as it now is, ``None`` if there is none."""
        where = (t.links.c.id == link_id, t.links.c.incident_id == incident_id)
        async with self.store.tx() as tx:
            await tx.conn.execute(
                update(t.links)
                .where(*where, t.links.c.revoked_at.is_(None))
                .values(revoked_at=at, revoked_by=actor[:128])
            )
            row = (await tx.conn.execute(select(t.links).where(*where))).first()
            if row is not None:
                await tx.audit(actor, "link.revoke", incident_id, {"link_id": link_id}, at)
        return LinkRecord.model_validate(row._mapping) if row is not None else None
