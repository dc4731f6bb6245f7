"""The store side of mutual aid: one row per cross-force request, on either side."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from dispatch.interop.aid_models import AidRecordPublic
from dispatch.store import tables as t
from dispatch.store.sql import SqlStore, Tx
from edge.protocol import now_utc

__all__ = ["AidRecords"]


class AidRecords:
    """Reads and writes ``aid_requests``.

    Args:
        store: the store.
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    async def find(self, **where: Any) -> AidRecordPublic | None:
        """The first row matching every ``column=value``."""
        rows = await self.rows(**where)
        return rows[0] if rows else None

    async def rows(self, **where: Any) -> list[AidRecordPublic]:
        """Rows matching every ``column=value``, oldest first."""
        query = select(t.aid_requests).order_by(t.aid_requests.c.id)
        for column, value in where.items():
            query = query.where(t.aid_requests.c[column] == value)
        rows = await self.store.rows(query)
        return [AidRecordPublic.model_validate(dict(r)) for r in rows]

    async def last_update(self, direction: str, peer: str, incident_id: str) -> int:
        """The newest update id taken for this request (0 before any)."""
        found = await self.find(direction=direction, peer=peer, incident_id=incident_id)
        return found.last_update if found else 0

    async def save(
        self, tx: Tx, direction: str, peer: str, incident_id: str, **values: Any
    ) -> None:
        """Insert the row, or update it when it exists."""
        c = t.aid_requests.c
        now = now_utc()
        done = await tx.conn.execute(
            update(t.aid_requests)
            .where(c.direction == direction, c.peer == peer, c.incident_id == incident_id)
            .values(**values, updated_at=now)
        )
        if done.rowcount:
            return
        row = {
            "direction": direction,
            "peer": peer,
            "incident_id": incident_id,
            "remote_incident_id": None,
            "status": "asked",
            "dock_id": None,
            "eta_s": None,
            "reasons": [],
            "video": None,
            "last_update": 0,
            "created_at": now,
            "updated_at": now,
            **values,
        }
        await tx.conn.execute(insert(t.aid_requests).values(**row))
