"""The SQL store: one async data layer over SQLite (default) or PostgreSQL (by URL).

Writes go through :meth:`SqlStore.tx`, one transaction each; on SQLite they are serialised
in-process, on PostgreSQL the audit head row is locked (at the end of the transaction, briefly)
so that the hash chain stays a chain even with several dispatch instances on one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from dispatch.audit import AuditEntry, canonical, entry_hash
from dispatch.models import CommandRecord, IncidentRecord, TimelineRecord
from dispatch.service_errors import UnavailableError
from dispatch.store import tables as t
from dispatch.store.migrations import migrate
from edge.protocol import Ack, Event, now_utc

__all__ = ["ACK_CHANNEL", "CommitObserver", "SqlStore", "Tx", "lost_race", "normalise_url"]

ACK_CHANNEL = "outrider_ack"
"""PostgreSQL ``NOTIFY`` channel told the id of each command whose ack was just stored."""

CommitObserver = Callable[[list[tuple[str, int]]], None]
"""Told, after each commit, the ``(incident_id, timeline seq)`` of every line it added."""

logger = logging.getLogger(__name__)


def normalise_url(url: str) -> str:
    """Pick the async driver: ``sqlite://`` → aiosqlite, ``postgresql://`` → asyncpg."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def lost_race(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL ending a transaction that another one's locks stood in
    the way of (a deadlock or a serialisation failure): worth running again."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code in ("40P01", "40001")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _incident_where(column: str, value: str) -> Any:
    return select(t.incidents).where(t.incidents.c[column] == value).limit(1)


def _sent_to(incident_id: str, dock_id: str) -> Any:
    return (
        select(t.commands.c.id)
        .where(
            t.commands.c.incident_id == incident_id,
            t.commands.c.dock_id == dock_id,
            t.commands.c.type == "dispatch",
        )
        .limit(1)
    )


class Tx:
    """One write transaction: every method runs on the same connection, so reads see what
    the transaction wrote before them."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.lines: list[tuple[str, int]] = []
        # A batch of events asks for the same few incidents over and over: remembered until
        # the transaction writes an incident.
        self._incidents: dict[tuple[str, str], IncidentRecord | None] = {}
        # Audit rows not yet chained and written (at :meth:`flush`).
        self._audit_rows: list[dict[str, Any]] = []

    async def incident_by(self, column: str, value: str) -> IncidentRecord | None:
        """The incident whose ``id``, ``cad_ref`` or ``sortie_id`` is ``value``."""
        key = (column, value)
        if key not in self._incidents:
            row = (await self.conn.execute(_incident_where(column, value))).first()
            self._incidents[key] = IncidentRecord.model_validate(row._mapping) if row else None
        return self._incidents[key]

    async def sent_to(self, incident_id: str, dock_id: str) -> bool:
        """Whether a ``dispatch`` command for ``incident_id`` was sent to ``dock_id``."""
        return (await self.conn.execute(_sent_to(incident_id, dock_id))).first() is not None

    async def sortie_event_types(self, dock_id: str, sortie_id: str) -> set[str]:
        """The kinds of event a dock's sortie has reported so far."""
        query = select(t.events.c.type).where(
            t.events.c.dock_id == dock_id, t.events.c.sortie_id == sortie_id
        )
        return set((await self.conn.execute(query)).scalars())

    async def sortie_seqs(self, dock_id: str, sortie_id: str) -> list[int]:
        """The numbers (``seq``) of a sortie's events stored so far."""
        query = select(t.events.c.seq).where(
            t.events.c.dock_id == dock_id,
            t.events.c.sortie_id == sortie_id,
            t.events.c.seq.is_not(None),
        )
        return [int(v) for v in (await self.conn.execute(query)).scalars()]

    async def insert_incident(self, values: dict[str, Any]) -> IncidentRecord:
        self._incidents.clear()
        await self.conn.execute(insert(t.incidents).values(**values))
        return IncidentRecord.model_validate(values)

    async def update_incident(self, incident_id: str, **values: Any) -> IncidentRecord | None:
        self._incidents.clear()
        await self.conn.execute(
            update(t.incidents).where(t.incidents.c.id == incident_id).values(**values)
        )
        row = (
            await self.conn.execute(select(t.incidents).where(t.incidents.c.id == incident_id))
        ).first()
        return IncidentRecord.model_validate(row._mapping) if row else None

    async def add_timeline(self, incident_id: str, **values: Any) -> None:
        values.setdefault("detail", {})
        result = await self.conn.execute(
            insert(t.timeline).values(incident_id=incident_id, **values)
        )
        key = result.inserted_primary_key
        assert key is not None
        self.lines.append((incident_id, int(key[0])))

    def insert_ignore(self, table: Any) -> Any:
        """``INSERT`` that skips a row whose key is already there."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing()

    async def insert_event(self, ev: Event, received_at: datetime) -> bool:
        """Store an event once; ``False`` when its id was already stored."""
        values = {
            "id": ev.id,
            "dock_id": ev.dock_id,
            "sortie_id": ev.sortie_id,
            "incident_id": ev.incident_id,
            "seq": ev.seq,
            "type": ev.type.value,
            "phase": ev.phase.value if ev.phase else None,
            "at": ev.at,
            "detail": ev.detail,
            "received_at": received_at,
        }
        result = await self.conn.execute(self.insert_ignore(t.events).values(**values))
        return bool(result.rowcount)

    async def insert_detection(self, values: dict[str, Any]) -> bool:
        """Store the first sighting of a track; ``False`` when it was already stored."""
        result = await self.conn.execute(self.insert_ignore(t.detections).values(**values))
        return bool(result.rowcount)

    async def insert_command(self, values: dict[str, Any]) -> None:
        await self.conn.execute(insert(t.commands).values(**values))

    async def record_ack(self, ack: Ack) -> tuple[CommandRecord | None, bool]:
        """Attach an ack to its command: the command, if known, and whether this ack was first.

        Only the dock the command was sent to can answer it: an ack from another dock finds
        no command.
        """
        if ack.cmd_id is None:
            return None, False
        mine = (t.commands.c.id == ack.cmd_id, t.commands.c.dock_id == ack.dock_id)
        result = await self.conn.execute(
            update(t.commands)
            .where(*mine, t.commands.c.acked_at.is_(None))
            .values(
                ack_ok=ack.ok,
                ack_code=ack.code.value,
                ack_reason=ack.reason,
                acked_at=ack.at,
                ack_sortie_id=ack.sortie_id,
            )
        )
        query = select(t.commands).where(*mine)
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None, False
        if result.rowcount and self.conn.dialect.name == "postgresql":
            # the sender may wait on another instance: told at the commit
            await self.conn.execute(select(func.pg_notify(ACK_CHANNEL, ack.cmd_id)))
        return CommandRecord.model_validate(row._mapping), bool(result.rowcount)

    async def give_up(self, cmd_id: str) -> CommandRecord | None:
        """The sender stops waiting for the ack of ``cmd_id``, unless it was stored already
        (by whichever instance received it): then the command with its ack. One row's lock
        decides, so an ack stored after this is known to have come late."""
        c = t.commands.c
        result = await self.conn.execute(
            update(t.commands)
            .where(c.id == cmd_id, c.acked_at.is_(None))
            .values(gave_up_at=now_utc())
        )
        if result.rowcount:
            return None
        row = (await self.conn.execute(select(t.commands).where(c.id == cmd_id))).first()
        return CommandRecord.model_validate(row._mapping) if row is not None else None

    async def audit(
        self, actor: str, action: str, subject: str, detail: dict[str, Any], at: datetime
    ) -> None:
        """Append one row to the hash chain (chained and written with the others at
        :meth:`flush`)."""
        stamp = at.isoformat(timespec="microseconds")
        self._audit_rows.append(
            {
                "at": stamp,
                "actor": actor[:128],
                "action": action[:64],
                "subject": subject[:128],
                "detail": canonical(detail),
            }
        )

    async def flush(self) -> None:
        """Write the audit rows appended so far.

        On SQLite (one writer) they are chained onto the head here. On PostgreSQL they go to
        ``audit_pending``, committed with what they record, and are chained moments later by
        :meth:`SqlStore.chain_pending` (whichever instance runs it), so no transaction waits on
        the chain's head while it does its work: the head would otherwise be one lock that
        every write of every instance queues for.
        """
        if not self._audit_rows:
            return
        if self.conn.dialect.name == "postgresql":
            await self.conn.execute(insert(t.audit_pending), self._audit_rows)
        else:
            await chain(self.conn, self._audit_rows)
        self._audit_rows = []


async def chain(conn: AsyncConnection, pending: list[dict[str, Any]]) -> None:
    """Chain ``pending`` rows (stamp, actor, action, subject, detail) onto the audit log, under
    the head row's lock."""
    head = (
        await conn.execute(
            select(t.audit_head.c.seq, t.audit_head.c.hash)
            .where(t.audit_head.c.id == 1)
            .with_for_update()
        )
    ).one()
    seq, prev = head.seq, head.hash
    rows = []
    for r in pending:
        seq += 1
        parts = (r["at"], r["actor"], r["action"], r["subject"], r["detail"])
        digest = entry_hash(prev, seq, *parts)
        rows.append(dict(AuditEntry(seq, *parts, prev, digest).__dict__))
        prev = digest
    await conn.execute(insert(t.audit), rows)
    await conn.execute(
        update(t.audit_head).where(t.audit_head.c.id == 1).values(seq=seq, hash=prev)
    )


class SqlStore:
    """The dispatch store; an async context manager that connects and migrates on enter.

    Args:
        url: ``sqlite:///path``, ``sqlite:///:memory:`` or ``postgresql://user@host/db``.
        schema: PostgreSQL schema to use instead of the default search path.
    """

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = normalise_url(url)
        self.schema = schema
        self._engine: AsyncEngine | None = None
        self._write_lock = asyncio.Lock()
        self.observers: list[CommitObserver] = []

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise UnavailableError("store is not open", code="store_unavailable")
        return self._engine

    @property
    def dialect(self) -> str:
        return make_url(self.url).get_backend_name()

    def _create_engine(self) -> AsyncEngine:
        url = make_url(self.url)
        kwargs: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            db = url.database or ":memory:"
            if db == ":memory:":
                kwargs["poolclass"] = StaticPool
            else:
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(url, **kwargs)
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            return engine
        if self.schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": self.schema}}
        return create_async_engine(url, pool_size=10, max_overflow=10, **kwargs)

    async def __aenter__(self) -> Self:
        if self._engine is not None:
            raise RuntimeError("store is already open")
        self._engine = self._create_engine()
        try:
            applied = await migrate(self._engine)
        except (SQLAlchemyError, OSError) as exc:
            await self._engine.dispose()
            self._engine = None
            raise UnavailableError(
                f"store {make_url(self.url).render_as_string()} cannot be opened: {exc}",
                code="store_unavailable",
            ) from exc
        if applied:
            logger.info("store migrated to version %d", applied[-1])
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()

    @contextlib.asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        """One write transaction; committed on success, rolled back on error.

        After a commit that added timeline lines, every observer is told which (the one
        source of the incident update stream: webhooks, Server-Sent Events, neighbours).
        """
        lock = self._write_lock if self.dialect == "sqlite" else contextlib.nullcontext()
        async with lock:
            async with self.engine.begin() as conn:
                tx = Tx(conn)
                yield tx
                await tx.flush()
            if tx.lines:
                for observer in self.observers:
                    observer(tx.lines)

    async def rows(self, query: Any) -> list[Any]:
        """The rows of a read-only query, as mappings."""
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).mappings())

    async def ping(self) -> None:
        """Raise unless the database answers."""
        await self.rows(select(func.count()).select_from(t.schema_migrations))

    async def get_incident(self, incident_id: str) -> IncidentRecord | None:
        return await self.incident_by("id", incident_id)

    async def incident_by(self, column: str, value: str) -> IncidentRecord | None:
        """The incident whose ``id``, ``cad_ref`` or ``sortie_id`` is ``value``."""
        rows = await self.rows(_incident_where(column, value))
        return IncidentRecord.model_validate(rows[0]) if rows else None

    async def list_incidents(
        self, *, limit: int = 100, offset: int = 0, open_only: bool = False
    ) -> list[IncidentRecord]:
        query = select(t.incidents).order_by(t.incidents.c.created_at.desc())
        if open_only:
            query = query.where(t.incidents.c.status != "closed")
        rows = await self.rows(query.limit(limit).offset(offset))
        return [IncidentRecord.model_validate(r) for r in rows]

    async def queued_incidents(self) -> list[IncidentRecord]:
        """Incidents waiting for a dock, in the order they are served: priority, then age."""
        c = t.incidents.c
        query = (
            select(t.incidents).where(c.status == "queued").order_by(c.priority, c.created_at, c.id)
        )
        return [IncidentRecord.model_validate(r) for r in await self.rows(query)]

    async def timeline(self, incident_id: str) -> list[TimelineRecord]:
        rows = await self.rows(
            select(t.timeline)
            .where(t.timeline.c.incident_id == incident_id)
            .order_by(t.timeline.c.seq)
        )
        return [TimelineRecord.model_validate(r) for r in rows]

    async def timeline_after(self, after_seq: int, limit: int = 500) -> list[TimelineRecord]:
        """Timeline lines of every incident with ``seq`` above ``after_seq``, oldest first."""
        rows = await self.rows(
            select(t.timeline)
            .where(t.timeline.c.seq > after_seq)
            .order_by(t.timeline.c.seq)
            .limit(limit)
        )
        return [TimelineRecord.model_validate(r) for r in rows]

    async def timeline_line(self, seq: int) -> TimelineRecord | None:
        """One timeline line by its ``seq``."""
        rows = await self.rows(select(t.timeline).where(t.timeline.c.seq == seq))
        return TimelineRecord.model_validate(rows[0]) if rows else None

    async def list_events(
        self, *, dock_id: str | None = None, incident_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        query = select(t.events).order_by(t.events.c.received_at.desc(), t.events.c.at.desc())
        if dock_id is not None:
            query = query.where(t.events.c.dock_id == dock_id)
        if incident_id is not None:
            query = query.where(t.events.c.incident_id == incident_id)
        return [dict(r) for r in await self.rows(query.limit(limit))]

    async def list_commands(self, incident_id: str) -> list[CommandRecord]:
        rows = await self.rows(
            select(t.commands)
            .where(t.commands.c.incident_id == incident_id)
            .order_by(t.commands.c.issued_at)
        )
        return [CommandRecord.model_validate(r) for r in rows]

    async def sent_to(self, incident_id: str, dock_id: str) -> bool:
        """Whether a ``dispatch`` command for ``incident_id`` was sent to ``dock_id``."""
        return bool(await self.rows(_sent_to(incident_id, dock_id)))

    async def sortie_seqs(self, dock_id: str, sortie_id: str) -> list[int]:
        """The numbers (``seq``) of a sortie's events stored so far."""
        c = t.events.c
        query = select(c.seq).where(
            c.dock_id == dock_id, c.sortie_id == sortie_id, c.seq.is_not(None)
        )
        return [int(r["seq"]) for r in await self.rows(query)]

    async def acked(self, ids: list[str]) -> list[CommandRecord]:
        """The commands among ``ids`` whose ack is stored."""
        c = t.commands.c
        rows = await self.rows(select(t.commands).where(c.id.in_(ids), c.acked_at.is_not(None)))
        return [CommandRecord.model_validate(r) for r in rows]

    async def list_detections(self, incident_id: str) -> list[dict[str, Any]]:
        rows = await self.rows(
            select(t.detections)
            .where(t.detections.c.incident_id == incident_id)
            .order_by(t.detections.c.id)
        )
        return [dict(r) for r in rows]

    async def chain_pending(self, limit: int = 2000) -> int:
        """PostgreSQL: chain the audit rows waiting in ``audit_pending``, oldest first; how
        many. The head's lock is taken first, so two instances chaining at once take turns
        and the second finds what the first chained gone."""
        if self.dialect != "postgresql":
            return 0
        p = t.audit_pending.c
        async with self.engine.begin() as conn:
            await conn.execute(
                select(t.audit_head.c.seq).where(t.audit_head.c.id == 1).with_for_update()
            )
            rows = list(
                (await conn.execute(select(t.audit_pending).order_by(p.id).limit(limit))).mappings()
            )
            if not rows:
                return 0
            await chain(conn, [dict(r) for r in rows])
            await conn.execute(delete(t.audit_pending).where(p.id.in_([r["id"] for r in rows])))
        return len(rows)

    async def chain_forever(self, every_s: float = 0.2) -> None:
        """Chain pending audit rows every ``every_s`` (PostgreSQL); forever."""
        while self.dialect == "postgresql":
            try:
                while await self.chain_pending() > 0:
                    pass
            except (SQLAlchemyError, OSError) as exc:
                logger.warning("chaining audit rows failed: %s", exc)
            await asyncio.sleep(every_s)

    async def _chained(self) -> None:
        """Everything committed so far is on the chain (before reading it)."""
        while await self.chain_pending() > 0:
            pass

    async def list_audit(self, *, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        await self._chained()
        rows = await self.rows(
            select(t.audit).order_by(t.audit.c.seq.desc()).limit(limit).offset(offset)
        )
        return [AuditEntry(**r) for r in rows]

    async def audit_rows(self, batch: int = 1000) -> AsyncIterator[AuditEntry]:
        """Every audit row in ascending order, read in batches."""
        await self._chained()
        after = 0
        while True:
            rows = await self.rows(
                select(t.audit).where(t.audit.c.seq > after).order_by(t.audit.c.seq).limit(batch)
            )
            for r in rows:
                yield AuditEntry(**r)
            if len(rows) < batch:
                return
            after = rows[-1]["seq"]

    async def audit_head(self) -> tuple[int, str] | None:
        await self._chained()
        rows = await self.rows(
            select(t.audit_head.c.seq, t.audit_head.c.hash).where(t.audit_head.c.id == 1)
        )
        return (rows[0]["seq"], rows[0]["hash"]) if rows else None
