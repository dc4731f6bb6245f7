"""Schema migrations: numbered steps, each applied once and recorded in ``schema_migrations``.

A step is a function of a synchronous SQLAlchemy connection. Step 1 creates the tables as
:mod:`dispatch.store.tables` first defined them; a later change to a table adds a step here
(``ALTER TABLE ...``) and changes ``tables.py`` with it. Steps run in one transaction, under a
PostgreSQL advisory lock so that instances starting together do not race.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.audit import GENESIS
from dispatch.store import tables as t

__all__ = ["MIGRATIONS", "Migration", "migrate"]

ADVISORY_LOCK_KEY = 0x0D15BA7C


@dataclass(frozen=True)
class Migration:
    """One numbered schema step."""

    version: int
    name: str
    upgrade: Callable[[Connection], None]


def _initial(conn: Connection) -> None:
    t.metadata.create_all(
        conn,
        tables=[t.incidents, t.timeline, t.events, t.commands, t.detections, t.audit, t.audit_head],
    )
    # The head row exists from the start, so every append can lock it (no race for row 1).
    conn.execute(insert(t.audit_head).values(id=1, seq=0, hash=GENESIS))


def _events_by_dock_and_time(conn: Connection) -> None:
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_events_dock_received ON events (dock_id, received_at)")
    )


def _sessions_and_links(conn: Connection) -> None:
    t.metadata.create_all(conn, tables=[t.sessions, t.links])


def _evidence(conn: Connection) -> None:
    t.metadata.create_all(
        conn,
        tables=[
            t.evidence_manifests,
            t.evidence_segments,
            t.track_points,
            t.flights,
            t.incident_holds,
        ],
    )


def _interop(conn: Connection) -> None:
    t.metadata.create_all(conn, tables=[t.cad_inbox, t.subscriptions, t.deliveries, t.aid_requests])
    # Stores made before this step have links without ``raw``; newer ones got it at step 3.
    if "raw" not in {c["name"] for c in inspect(conn).get_columns("links")}:
        conn.execute(text("ALTER TABLE links ADD COLUMN raw BOOLEAN NOT NULL DEFAULT FALSE"))


def _event_seq(conn: Connection) -> None:
    # Stores made before this step have events without ``seq``; newer ones got it at step 1.
    if "seq" not in {c["name"] for c in inspect(conn).get_columns("events")}:
        conn.execute(text("ALTER TABLE events ADD COLUMN seq INTEGER"))
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_events_dock_sortie ON events (dock_id, sortie_id)")
    )


def _incident_address(conn: Connection) -> None:
    # Stores made at this version got the column with the table at step 1.
    if "address" not in {c["name"] for c in inspect(conn).get_columns("incidents")}:
        conn.execute(text("ALTER TABLE incidents ADD COLUMN address TEXT"))


def _cluster(conn: Connection) -> None:
    t.metadata.create_all(conn, tables=[t.dock_assignments, t.incident_leases, t.audit_pending])
    have = {c["name"] for c in inspect(conn).get_columns("commands")}
    for name, kind in (("ack_sortie_id", "VARCHAR(128)"), ("gave_up_at", "TIMESTAMP")):
        if name not in have:
            pg = kind == "TIMESTAMP" and conn.dialect.name == "postgresql"
            zone = " WITH TIME ZONE" if pg else ""
            conn.execute(text(f"ALTER TABLE commands ADD COLUMN {name} {kind}{zone}"))
    # Every instance hears every dock's telemetry and keeps the same track points: stored once.
    conn.execute(
        text(
            "DELETE FROM track_points WHERE id NOT IN "
            "(SELECT min(id) FROM track_points GROUP BY sortie_id, dock_id, t)"
        )
    )
    conn.execute(
        text(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_track_points_at "
            "ON track_points (sortie_id, dock_id, t)"
        )
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _initial),
    Migration(2, "index events by dock and arrival", _events_by_dock_and_time),
    Migration(3, "server-side sessions and officer links", _sessions_and_links),
    Migration(4, "evidence uploads, flight log and track, legal holds", _evidence),
    Migration(5, "CAD inbox, webhook subscriptions and deliveries, mutual aid", _interop),
    Migration(6, "events carry their place in their sortie", _event_seq),
    Migration(7, "the address an incident was raised at", _incident_address),
    Migration(8, "several instances: dock holds, incident leases, acks seen by all", _cluster),
)


def _apply(conn: Connection, migrations: Sequence[Migration]) -> list[int]:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
    t.schema_migrations.create(conn, checkfirst=True)
    done = set(conn.execute(select(t.schema_migrations.c.version)).scalars())
    applied = []
    for step in sorted(migrations, key=lambda m: m.version):
        if step.version in done:
            continue
        step.upgrade(conn)
        conn.execute(
            insert(t.schema_migrations).values(
                version=step.version, name=step.name, applied_at=datetime.now(UTC)
            )
        )
        applied.append(step.version)
    return applied


async def migrate(engine: AsyncEngine, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply every step not yet recorded; returns the versions applied now."""
    async with engine.begin() as conn:
        return await conn.run_sync(_apply, migrations)
