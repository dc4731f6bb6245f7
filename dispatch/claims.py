"""Who sends which dock, and who works on which incident: rows in the store, not memory.

Several dispatch instances on one database agree through two tables:

- ``dock_assignments``: one row per dock, naming the incident it is held for and until when.
  A dock is claimed for an incident under the row locks of both (PostgreSQL ``SELECT ... FOR
  UPDATE``: the incident's row first, then the dock's, always in that order, so two claims
  never wait on each other in a circle; the incident's as ``FOR NO KEY UPDATE``, so lines added
  to its timeline meanwhile do not wait; SQLite has one writer at a time). Under those locks
  the claim checks that the dock is held for no other incident and the incident has no other
  dock, then writes the hold. So no dock is sent to two incidents and no incident gets two
  docks, whichever instances the requests reach. A hold lasts while the command waits for
  its ack (and as long as an incident lease, so it outlives a sender that died), then
  ``reserve_ttl_s`` after the acceptance, by when every instance sees the dock's sortie in
  its state; it ends at once when the dock refuses, stays silent, or reports its sortie over.
- ``incident_leases``: the instance working on an incident (dispatching it, watching its
  launch) holds a lease on it, renewed while it works. A lease that expired names work an
  instance left unfinished (it died mid-wait): another instance takes the incident over.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dispatch.service_errors import DockReason
from dispatch.store import tables as t
from dispatch.store.sql import SqlStore, Tx
from edge.protocol import now_utc

__all__ = ["Claims", "Lease"]

ACTIVE = frozenset({"dispatched", "launching", "en_route", "on_scene", "returning"})
"""Incident statuses in which it has its dock."""


@dataclass(frozen=True)
class Lease:
    """This instance's hold on one incident."""

    incident_id: str
    token: str
    purpose: str


def _upsert(tx: Tx, table: Table) -> Any:
    dialect = postgresql if tx.conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class Claims:
    """Dock holds and incident leases of this instance.

    Args:
        store: the store shared by the instances.
        owner: this instance's name.
    """

    def __init__(self, store: SqlStore, owner: str) -> None:
        self.store = store
        self.owner = owner

    # -- docks ------------------------------------------------------------------------

    async def busy(self) -> dict[str, DockReason]:
        """Docks held for an incident now, by any instance."""
        d = t.dock_assignments.c
        rows = await self.store.rows(
            select(d.dock_id, d.incident_id).where(
                d.incident_id.is_not(None), d.lease_until > now_utc()
            )
        )
        return {
            r["dock_id"]: DockReason(r["dock_id"], "busy", f"sent to incident {r['incident_id']}")
            for r in rows
        }

    async def claim_dock(
        self, tx: Tx, dock_id: str, incident_id: str, command_id: str, for_s: float
    ) -> DockReason | None:
        """Hold ``dock_id`` for ``incident_id`` in ``tx``; ``None`` when held, else why not.

        Takes the incident's row lock, then the dock's, and checks under both.
        """
        conn, now = tx.conn, now_utc()
        inc = t.incidents.c
        found = (
            await conn.execute(
                select(inc.status, inc.dock_id)
                .where(inc.id == incident_id)
                .with_for_update(key_share=True)  # FOR NO KEY UPDATE: timeline inserts go on
            )
        ).first()
        if found is None:
            return DockReason(dock_id, "no_incident", f"incident {incident_id} is gone")
        if found.status == "closed" or (found.status in ACTIVE and found.dock_id != dock_id):
            why = f"incident {incident_id} is {found.status} with {found.dock_id or 'no dock'}"
            return DockReason(dock_id, "incident_taken", why)
        d = t.dock_assignments.c
        first = _upsert(tx, t.dock_assignments).values(dock_id=dock_id)
        await conn.execute(first.on_conflict_do_nothing())
        row = (
            await conn.execute(
                select(d.incident_id, d.lease_until).where(d.dock_id == dock_id).with_for_update()
            )
        ).one()
        if row.incident_id not in (None, incident_id) and _live(row.lease_until, now):
            return DockReason(dock_id, "busy", f"sent to incident {row.incident_id}")
        other = (
            await conn.execute(
                select(d.dock_id).where(
                    d.incident_id == incident_id,
                    d.dock_id != dock_id,
                    d.lease_until > now,
                    d.phase != "silent",  # held only against other incidents
                )
            )
        ).first()
        if other is not None:
            why = f"incident {incident_id} is held for {other.dock_id}"
            return DockReason(dock_id, "incident_taken", why)
        await conn.execute(
            update(t.dock_assignments)
            .where(d.dock_id == dock_id)
            .values(
                incident_id=incident_id,
                command_id=command_id,
                owner=self.owner,
                phase="sending",
                lease_until=now + timedelta(seconds=for_s),
                updated_at=now,
            )
        )
        return None

    @staticmethod
    async def hold_dock(tx: Tx, dock_id: str, incident_id: str, for_s: float) -> None:
        """The dock accepted: held for its incident ``for_s`` more (its state will show it)."""
        d, now = t.dock_assignments.c, now_utc()
        await tx.conn.execute(
            update(t.dock_assignments)
            .where(d.dock_id == dock_id, d.incident_id == incident_id)
            .values(phase="assigned", lease_until=now + timedelta(seconds=for_s), updated_at=now)
        )

    @staticmethod
    async def hold_until(tx: Tx, dock_id: str, incident_id: str, until: datetime) -> None:
        """Keep the dock held for the incident until ``until`` (a silent dock: until its
        command has expired, so a late acceptance finds it still held)."""
        d = t.dock_assignments.c
        await tx.conn.execute(
            update(t.dock_assignments)
            .where(d.dock_id == dock_id, d.incident_id == incident_id)
            .values(phase="silent", lease_until=until, updated_at=now_utc())
        )

    @staticmethod
    async def free_dock(tx: Tx, dock_id: str, incident_id: str | None = None) -> None:
        """The dock is no longer held (for ``incident_id``, or for whichever incident)."""
        d = t.dock_assignments.c
        where = [d.dock_id == dock_id]
        if incident_id is not None:
            where.append(d.incident_id == incident_id)
        await tx.conn.execute(
            update(t.dock_assignments)
            .where(*where)
            .values(incident_id=None, command_id=None, phase=None, lease_until=None,
                    updated_at=now_utc())
        )  # fmt: skip

    # -- incidents --------------------------------------------------------------------

    async def take(self, incident_id: str, purpose: str, for_s: float) -> Lease | None:
        """Lease the incident for ``for_s`` seconds; ``None`` while another holds it (one whose
        lease expired is taken over)."""
        lease = Lease(incident_id, uuid.uuid4().hex, purpose)
        now = now_utc()
        values = {
            "incident_id": incident_id,
            "owner": self.owner,
            "token": lease.token,
            "purpose": purpose,
            "lease_until": now + timedelta(seconds=for_s),
        }
        async with self.store.tx() as tx:
            stmt = _upsert(tx, t.incident_leases).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["incident_id"],
                set_={k: v for k, v in values.items() if k != "incident_id"},
                where=t.incident_leases.c.lease_until < now,
            )
            result = await tx.conn.execute(stmt)
        return lease if result.rowcount else None

    async def renew(self, lease: Lease, for_s: float, purpose: str | None = None) -> bool:
        """Extend a lease still ours; ``False`` when it was lost (expired and taken over)."""
        async with self.store.tx() as tx:
            return await self.renew_in(tx, lease, for_s, purpose)

    @staticmethod
    async def renew_in(tx: Tx, lease: Lease, for_s: float, purpose: str | None = None) -> bool:
        """:meth:`renew` in ``tx``."""
        c = t.incident_leases.c
        values: dict[str, object] = {"lease_until": now_utc() + timedelta(seconds=for_s)}
        if purpose is not None:
            values["purpose"] = purpose
        result = await tx.conn.execute(
            update(t.incident_leases)
            .where(c.incident_id == lease.incident_id, c.token == lease.token)
            .values(**values)
        )
        return bool(result.rowcount)

    async def release(self, lease: Lease) -> None:
        """Give a lease up (the work is done)."""
        c = t.incident_leases.c
        async with self.store.tx() as tx:
            await tx.conn.execute(
                delete(t.incident_leases).where(
                    c.incident_id == lease.incident_id, c.token == lease.token
                )
            )

    @staticmethod
    async def drop_in(tx: Tx, incident_id: str, purpose: str) -> None:
        """End whichever instance's ``purpose`` lease on the incident, in ``tx`` (its work is
        over: the drone is airborne, or the incident left its dock)."""
        c = t.incident_leases.c
        await tx.conn.execute(
            delete(t.incident_leases).where(c.incident_id == incident_id, c.purpose == purpose)
        )

    async def expired(self, limit: int = 100) -> list[tuple[str, str, str]]:
        """``(incident id, purpose, owner)`` of leases that ran out, oldest first."""
        c = t.incident_leases.c
        rows = await self.store.rows(
            select(c.incident_id, c.purpose, c.owner)
            .where(c.lease_until < now_utc())
            .order_by(c.lease_until)
            .limit(limit)
        )
        return [(r["incident_id"], r["purpose"], r["owner"]) for r in rows]

    async def held(self) -> int:
        """Leases held now by any instance (metrics, tests)."""
        c = t.incident_leases.c
        rows = await self.store.rows(
            select(func.count()).select_from(t.incident_leases).where(c.lease_until >= now_utc())
        )
        return int(next(iter(rows[0].values())))


def _live(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now
