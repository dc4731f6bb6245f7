"""Queries of the evidence tables: manifests, segments, track, flights and holds."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dispatch.store import tables as t
from dispatch.store.sql import SqlStore, Tx

__all__ = ["EvidenceRecords", "Holds", "audit_of", "set_segment", "upsert"]


def upsert(tx: Tx, table: Any, keys: list[str], values: dict[str, Any]) -> Any:
    """An INSERT that updates the given row when its primary key is already there."""
    dialect = postgresql if tx.conn.dialect.name == "postgresql" else sqlite
    changes = {k: v for k, v in values.items() if k not in keys}
    return (
        dialect.insert(table)
        .values(**values)
        .on_conflict_do_update(index_elements=keys, set_=changes)
    )


class Holds:
    """Whether an incident is under legal hold or marked as evidence."""

    __slots__ = ("evidence", "legal_hold")

    def __init__(self, legal_hold: bool = False, evidence: bool = False) -> None:
        self.legal_hold = legal_hold
        self.evidence = evidence


class EvidenceRecords:
    """Reads of the evidence tables (writes go through the store's transactions)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    async def _rows(self, query: Any) -> list[dict[str, Any]]:
        async with self.store.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(query)).mappings()]

    async def manifest(self, sortie_id: str) -> dict[str, Any] | None:
        """The manifest row of a sortie."""
        rows = await self._rows(
            select(t.evidence_manifests).where(t.evidence_manifests.c.sortie_id == sortie_id)
        )
        return rows[0] if rows else None

    async def manifests_of(self, incident_id: str) -> list[dict[str, Any]]:
        """Manifest rows of an incident's sorties, oldest first."""
        return await self._rows(
            select(t.evidence_manifests)
            .where(t.evidence_manifests.c.incident_id == incident_id)
            .order_by(t.evidence_manifests.c.received_at)
        )

    async def segments(
        self, *, sortie_id: str | None = None, incident_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Segment rows of a sortie or an incident, in file order."""
        query = select(t.evidence_segments).order_by(
            t.evidence_segments.c.sortie_id, t.evidence_segments.c.file
        )
        if sortie_id is not None:
            query = query.where(t.evidence_segments.c.sortie_id == sortie_id)
        if incident_id is not None:
            query = query.where(t.evidence_segments.c.incident_id == incident_id)
        return await self._rows(query)

    async def segments_before(self, cutoff: datetime) -> list[dict[str, Any]]:
        """Kept segments that ended before ``cutoff`` (candidates for deletion)."""
        return await self._rows(
            select(t.evidence_segments)
            .where(t.evidence_segments.c.end < cutoff, t.evidence_segments.c.state != "deleted")
            .order_by(t.evidence_segments.c.id)
        )

    async def track(self, sortie_ids: list[str]) -> list[dict[str, Any]]:
        """Track points of the sorties, in time order."""
        if not sortie_ids:
            return []
        return await self._rows(
            select(t.track_points)
            .where(t.track_points.c.sortie_id.in_(sortie_ids))
            .order_by(t.track_points.c.sortie_id, t.track_points.c.t, t.track_points.c.id)
        )

    async def flights(
        self, *, incident_id: str | None = None, ended_before: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Flights that took off, newest first; of one incident, or ended before a time."""
        query = (
            select(t.flights)
            .where(t.flights.c.started_at.is_not(None))
            .order_by(t.flights.c.started_at.desc())
        )
        if incident_id is not None:
            query = query.where(t.flights.c.incident_id == incident_id)
        if ended_before is not None:
            query = query.where(
                t.flights.c.ended_at.is_not(None), t.flights.c.ended_at <= ended_before
            )
        return await self._rows(query)

    async def holds(self, incident_id: str | None) -> Holds:
        """The holds of an incident (none for ``None``)."""
        if incident_id is None:
            return Holds()
        rows = await self._rows(
            select(t.incident_holds).where(t.incident_holds.c.incident_id == incident_id)
        )
        return Holds(rows[0]["legal_hold"], rows[0]["evidence"]) if rows else Holds()

    async def all_holds(self) -> dict[str, Holds]:
        """Every incident with a hold or an evidence mark."""
        rows = await self._rows(select(t.incident_holds))
        return {r["incident_id"]: Holds(r["legal_hold"], r["evidence"]) for r in rows}


async def set_segment(tx: Tx, sortie_id: str, file: str, **values: Any) -> None:
    """Update one segment row."""
    await tx.conn.execute(
        update(t.evidence_segments)
        .where(t.evidence_segments.c.sortie_id == sortie_id, t.evidence_segments.c.file == file)
        .values(**values)
    )


async def audit_of(store: SqlStore, incident_id: str, sortie_ids: list[str]) -> list[Any]:
    """The audit rows about an incident: its own, its sorties' and those naming it."""
    await store.chain_pending()  # PostgreSQL: rows committed but not yet chained, chained now
    mention = f'%"incident_id":{_json_str(incident_id)}%'
    query = (
        select(t.audit)
        .where(
            or_(
                t.audit.c.subject == incident_id,
                t.audit.c.subject.in_(sortie_ids or [""]),
                t.audit.c.detail.like(mention),
            )
        )
        .order_by(t.audit.c.seq)
    )
    async with store.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]


def _json_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)
