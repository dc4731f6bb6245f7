"""The store, the same suite on SQLite and on PostgreSQL (a schema of its own per test)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, text, update
from sqlalchemy.exc import IntegrityError

from dispatch.audit import entry_hash, verify_chain
from dispatch.store import tables as t
from dispatch.store.migrations import MIGRATIONS, Migration, migrate
from dispatch.store.sql import SqlStore
from edge.protocol import Ack, AckCode, Event, EventType, now_utc

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


async def _pg_available() -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """An empty, migrated store on each backend."""
    if request.param == "sqlite":
        async with SqlStore(f"sqlite:///{tmp_path / 'store.db'}") as s:
            yield s
        return
    if not await _pg_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres, db test)")
    import asyncpg

    schema = f"outrider_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=5)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        async with SqlStore(PG_ADMIN, schema=schema) as s:
            yield s
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


def incident_values(incident_id: str, cad_ref: str | None = None) -> dict[str, object]:
    now = now_utc()
    return {
        "id": incident_id,
        "cad_ref": cad_ref,
        "lat": 51.5,
        "lon": -0.1,
        "type": "fire",
        "priority": 1,
        "description": "smoke from a roof",
        "status": "dispatching",
        "dock_id": None,
        "sortie_id": None,
        "eta_s": None,
        "target_lat": 51.5,
        "target_lon": -0.1,
        "alt_rel_m": None,
        "on_scene_s": 300.0,
        "created_by": "user:test",
        "created_at": now,
        "updated_at": now,
        "closed_at": None,
    }


async def test_migrations_run_once_and_a_new_step_applies_on_the_next_start(
    store: SqlStore,
) -> None:
    assert await migrate(store.engine) == []
    ran: list[str] = []
    extra = Migration(99, "test step", lambda conn: ran.append(conn.dialect.name))
    assert await migrate(store.engine, [*MIGRATIONS, extra]) == [99]
    assert await migrate(store.engine, [*MIGRATIONS, extra]) == []
    assert ran == [store.dialect]


async def test_a_store_from_before_incident_addresses_gets_the_column_once(
    store: SqlStore,
) -> None:
    async with store.engine.begin() as conn:  # as a store made at step 6 had it
        await conn.execute(text("ALTER TABLE incidents DROP COLUMN address"))
        await conn.execute(text("DELETE FROM schema_migrations WHERE version = 7"))
    assert await migrate(store.engine) == [7]
    async with store.tx() as tx:
        await tx.insert_incident({**incident_values("INC-ADDR"), "address": "Mannerheimintie 1"})
    found = await store.get_incident("INC-ADDR")
    assert found is not None and found.address == "Mannerheimintie 1"
    assert await migrate(store.engine) == []


async def test_an_incident_round_trips_with_aware_times_and_a_unique_cad_reference(
    store: SqlStore,
) -> None:
    async with store.tx() as tx:
        await tx.insert_incident(incident_values("INC-1", "CAD-1"))
    got = await store.get_incident("INC-1")
    assert got is not None and got.cad_ref == "CAD-1" and got.created_at.tzinfo is not None
    assert (await store.incident_by("cad_ref", "CAD-1")) == got
    with pytest.raises(IntegrityError):
        async with store.tx() as tx:
            await tx.insert_incident(incident_values("INC-2", "CAD-1"))
    assert await store.get_incident("INC-2") is None


async def test_an_event_is_stored_exactly_once_by_its_id(store: SqlStore) -> None:
    ev = Event(id="ev-1", dock_id="dock-01", type=EventType.AIRBORNE, detail={"alt": 10})
    results = []
    for _ in range(3):
        async with store.tx() as tx:
            results.append(await tx.insert_event(ev, now_utc()))
    assert results == [True, False, False]
    [row] = await store.list_events(dock_id="dock-01")
    assert row["detail"] == {"alt": 10} and row["type"] == "airborne"


async def test_the_first_ack_of_a_command_wins(store: SqlStore) -> None:
    now = now_utc()
    async with store.tx() as tx:
        await tx.insert_command(
            {
                "id": "c1",
                "dock_id": "d",
                "type": "ping",
                "incident_id": None,
                "actor": "x",
                "issued_at": now,
                "expires_at": now + timedelta(seconds=30),
                "body": {},
                "signed": True,
            }
        )
    first = Ack(cmd_id="c1", dock_id="d", ok=True, code=AckCode.ACCEPTED)
    second = Ack(cmd_id="c1", dock_id="d", ok=False, code=AckCode.DUPLICATE)
    async with store.tx() as tx:
        cmd, was_first = await tx.record_ack(first)
        assert cmd is not None and was_first and cmd.ack_ok is True
    async with store.tx() as tx:
        cmd, was_first = await tx.record_ack(second)
        assert cmd is not None and not was_first and cmd.ack_code == "accepted"
    async with store.tx() as tx:
        assert await tx.record_ack(
            Ack(cmd_id="nope", dock_id="d", ok=True, code=AckCode.ACCEPTED)
        ) == (None, False)


async def append(store: SqlStore, n: int) -> None:
    for i in range(n):
        async with store.tx() as tx:
            await tx.audit(
                "user:test", "incident.create", f"INC-{i}", {"i": i, "ü": "ß"}, now_utc()
            )
    await store.chain_pending()  # PostgreSQL chains committed rows moments later: now


async def verify(store: SqlStore) -> tuple[bool, int | None, list[str]]:
    report = await verify_chain(store.audit_rows(batch=3), await store.audit_head())
    return report.ok, report.first_bad_seq, report.problems


async def test_an_untouched_audit_chain_verifies(store: SqlStore) -> None:
    assert await verify(store) == (True, None, [])
    await append(store, 7)
    assert (await verify(store))[0] is True


async def test_concurrent_audit_appends_still_form_one_chain(store: SqlStore) -> None:
    await asyncio.gather(*(append(store, 5) for _ in range(6)))
    report = await verify_chain(store.audit_rows(), await store.audit_head())
    assert report.ok and report.rows == 30


async def tamper(store: SqlStore, statement: object) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(statement)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("how", "bad_seq"),
    [
        ("edit a detail", 3),
        ("edit an actor", 2),
        ("delete a middle row", 4),
        ("delete the last rows", 5),
        ("append a row outside the log", 7),
    ],
)
async def test_audit_tampering_is_detected(store: SqlStore, how: str, bad_seq: int) -> None:
    await append(store, 6)
    if how == "edit a detail":
        await tamper(store, update(t.audit).where(t.audit.c.seq == 3).values(detail='{"i":99}'))
    elif how == "edit an actor":
        await tamper(store, update(t.audit).where(t.audit.c.seq == 2).values(actor="user:other"))
    elif how == "delete a middle row":
        await tamper(store, delete(t.audit).where(t.audit.c.seq == 4))
    elif how == "delete the last rows":
        await tamper(store, delete(t.audit).where(t.audit.c.seq >= 5))
    else:
        head = await store.audit_head()
        assert head is not None
        at = now_utc().isoformat()
        digest = entry_hash(head[1], 7, at, "x", "y", "z", "{}")
        await tamper(
            store,
            insert(t.audit).values(
                seq=7,
                at=at,
                actor="x",
                action="y",
                subject="z",
                detail="{}",
                prev_hash=head[1],
                hash=digest,
            ),
        )
    ok, first_bad, problems = await verify(store)
    assert not ok and first_bad == bad_seq and problems


async def test_a_rewritten_row_with_a_recomputed_hash_still_breaks_the_next_link(
    store: SqlStore,
) -> None:
    await append(store, 4)
    rows = [r async for r in store.audit_rows()]
    row = rows[1]
    forged = entry_hash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.subject, "{}")
    await tamper(store, update(t.audit).where(t.audit.c.seq == 2).values(detail="{}", hash=forged))
    ok, first_bad, _ = await verify(store)
    assert not ok and first_bad == 3


async def test_a_track_is_stored_at_its_first_sighting_only(store: SqlStore) -> None:
    row = {
        "incident_id": "INC-1",
        "sortie_id": "S-1",
        "dock_id": "d",
        "track_id": 7,
        "cls": "person",
        "conf": 0.8,
        "lat": 51.5,
        "lon": -0.1,
        "first_seen": now_utc(),
    }
    async with store.tx() as tx:
        assert await tx.insert_detection(row) is True
        assert await tx.insert_detection({**row, "conf": 0.9}) is False
    [stored] = await store.list_detections("INC-1")
    assert stored["conf"] == 0.8


async def test_the_store_answers_a_ping(store: SqlStore) -> None:
    await store.ping()
    async with store.engine.connect() as conn:
        assert (await conn.execute(text("SELECT 1"))).scalar() == 1
