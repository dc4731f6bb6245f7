"""Outbound webhooks: subscriptions to incident updates, signed deliveries, retries, dead letters.

Each update a subscription matches becomes one delivery row (unique per subscription and
update id, so it is never queued twice), rendered when queued. A worker POSTs due deliveries
in order per subscription, signed like every request between systems
(:mod:`dispatch.interop.signing`), with ``X-Outrider-Delivery: <update id>`` so a receiver can
drop a repeat. A failure is retried with doubling backoff; after ``max_attempts`` the
delivery is dead-lettered, listed, and can be sent again by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Table, insert, select, update

from dispatch.interop.config import InteropConfig
from dispatch.interop.render import Format, render
from dispatch.interop.signing import signed_headers
from dispatch.interop.updates import IncidentUpdate
from dispatch.service_errors import NotFoundError
from dispatch.store import tables as t
from dispatch.store.sql import SqlStore, Tx
from edge.protocol import now_utc

__all__ = [
    "DELIVERY_HEADER",
    "DeliveryPublic",
    "SubscriptionCreate",
    "SubscriptionPublic",
    "Webhooks",
]

logger = logging.getLogger(__name__)

DELIVERY_HEADER = "X-Outrider-Delivery"
BATCH = 100
IDLE_S = 1.0


class SubscriptionCreate(BaseModel):
    """Subscribe a URL to incident updates (all incidents, or one)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2000)
    format: Format = "geojson"
    incident_id: str | None = Field(None, max_length=40)


class SubscriptionPublic(BaseModel):
    """A subscription; ``secret`` (the HMAC key of its deliveries) is shown once, on creation."""

    id: str
    url: str
    format: Format
    incident_id: str | None
    peer: str | None
    active: bool
    created_by: str
    created_at: AwareDatetime
    secret: str | None = None


class DeliveryPublic(BaseModel):
    """One update's delivery to one subscription."""

    id: int
    subscription_id: str
    update_id: int
    incident_id: str
    status: str
    attempts: int
    next_at: AwareDatetime
    last_error: str | None
    delivered_at: AwareDatetime | None


class Webhooks:
    """Subscriptions and the delivery worker.

    Args:
        store: the store (subscriptions and deliveries live there).
        config: the interop settings (delivery policy, peers' keys, our force name).
        transport: an httpx transport (tests may pass one); the network by default.
    """

    def __init__(
        self,
        store: SqlStore,
        config: InteropConfig,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.policy = config.webhooks
        self.transport = transport
        self._wake = asyncio.Event()

    async def subscribe(
        self, req: SubscriptionCreate, actor: str, *, peer: str | None = None
    ) -> SubscriptionPublic:
        """Add a subscription; a peer's is signed with the agreement's key."""
        values = {
            "id": f"SUB-{secrets.token_hex(6).upper()}",
            "url": req.url,
            "format": req.format,
            "incident_id": req.incident_id,
            "secret": None if peer else secrets.token_urlsafe(32),
            "peer": peer,
            "created_by": actor[:128],
            "created_at": now_utc(),
            "active": True,
        }
        async with self.store.tx() as tx:
            await tx.conn.execute(insert(t.subscriptions).values(**values))
            detail = {"url": req.url, "format": req.format, "incident_id": req.incident_id}
            await tx.audit(actor, "subscription.create", str(values["id"]), detail, now_utc())
        if req.incident_id is not None:
            await self._backfill(req.incident_id)
        return SubscriptionPublic(**values)

    async def _backfill(self, incident_id: str) -> None:
        """Queue what already happened to the one incident a new subscription follows."""
        incident = await self.store.get_incident(incident_id)
        if incident is None:
            return
        for line in await self.store.timeline(incident_id):
            await self.enqueue(IncidentUpdate(line.seq, incident, line))

    async def unsubscribe(self, subscription_id: str, actor: str) -> SubscriptionPublic:
        """Stop a subscription (its pending deliveries are dropped).

        Raises:
            NotFoundError: no such subscription.
        """
        async with self.store.tx() as tx:
            await self._change(tx, t.subscriptions, "subscription", subscription_id, active=False)
            await tx.conn.execute(
                update(t.deliveries)
                .where(t.deliveries.c.subscription_id == subscription_id)
                .where(t.deliveries.c.status == "pending")
                .values(status="dropped")
            )
            await tx.audit(actor, "subscription.delete", subscription_id, {}, now_utc())
        [row] = await self._read(t.subscriptions, subscription_id)
        return SubscriptionPublic(**{**row, "secret": None})

    @staticmethod
    async def _change(tx: Tx, table: Table, what: str, row_id: object, **values: object) -> None:
        """Update one row by id (``what`` names it in the refusal).

        Raises:
            NotFoundError: no such row.
        """
        done = await tx.conn.execute(update(table).where(table.c.id == row_id).values(**values))
        if not done.rowcount:
            raise NotFoundError(f"{what} {row_id} does not exist")

    async def _read(self, table: Table, row_id: object) -> list[Any]:
        return await self.store.rows(select(table).where(table.c.id == row_id))

    async def subscriptions(self, *, active_only: bool = True) -> list[SubscriptionPublic]:
        """Subscriptions, oldest first (without their secrets)."""
        query = select(t.subscriptions).order_by(t.subscriptions.c.created_at)
        if active_only:
            query = query.where(t.subscriptions.c.active.is_(True))
        rows = await self.store.rows(query)
        return [SubscriptionPublic(**{**r, "secret": None}) for r in rows]

    async def deliveries(
        self, *, status: str | None = None, limit: int = 100
    ) -> list[DeliveryPublic]:
        """Deliveries, newest first; ``status="dead"`` for the dead-letter list."""
        query = select(t.deliveries).order_by(t.deliveries.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(t.deliveries.c.status == status)
        rows = await self.store.rows(query)
        return [DeliveryPublic.model_validate(dict(r)) for r in rows]

    async def retry(self, delivery_id: int, actor: str) -> DeliveryPublic:
        """Send a dead-lettered delivery again, from its first attempt.

        Raises:
            NotFoundError: no such delivery.
        """
        async with self.store.tx() as tx:
            values = {"status": "pending", "attempts": 0, "next_at": now_utc()}
            await self._change(tx, t.deliveries, "delivery", delivery_id, **values)
            await tx.audit(actor, "delivery.retry", str(delivery_id), {}, now_utc())
        self._wake.set()
        [row] = await self._read(t.deliveries, delivery_id)
        return DeliveryPublic.model_validate(dict(row))

    async def enqueue(self, update_: IncidentUpdate) -> None:
        """Queue the update for every active subscription it matches (a hub sink)."""
        subs = [
            s for s in await self.subscriptions() if s.incident_id in (None, update_.incident.id)
        ]
        if not subs:
            return
        async with self.store.tx() as tx:
            for sub in subs:
                payload = json.dumps(render(update_, sub.format, self.config.force), default=str)
                await tx.conn.execute(
                    tx.insert_ignore(t.deliveries).values(
                        subscription_id=sub.id,
                        update_id=update_.id,
                        incident_id=update_.incident.id,
                        status="pending",
                        payload=payload,
                        attempts=0,
                        next_at=now_utc(),
                    )
                )
        self._wake.set()

    def _key(self, sub: dict[str, object]) -> bytes:
        if sub["peer"]:
            peer = self.config.peer(str(sub["peer"]))
            return peer.secret.get_secret_value().encode() if peer else b""
        return str(sub["secret"] or "").encode()

    async def _post(
        self, client: httpx.AsyncClient, sub: dict[str, object], row: dict[str, object]
    ) -> str | None:
        """POST one delivery; ``None`` when the receiver took it, else what went wrong."""
        body = str(row["payload"]).encode()
        headers = {
            "Content-Type": "application/geo+json"
            if sub["format"] == "geojson"
            else "application/json",
            DELIVERY_HEADER: str(row["update_id"]),
            "X-Outrider-Event": "incident.update",
            "X-Outrider-Subscription": str(sub["id"]),
            **signed_headers(self.config.force, self._key(sub), body),
        }
        try:
            response = await client.post(str(sub["url"]), content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}: {response.text[:300]}"

    def _backoff(self, attempts: int) -> timedelta:
        delay = min(self.policy.backoff_s * 2 ** (attempts - 1), self.policy.backoff_max_s)
        return timedelta(seconds=delay)

    async def deliver_due(self, client: httpx.AsyncClient) -> datetime | None:
        """Send every due delivery once, in order per subscription; when the next is due."""
        now = now_utc()
        c = t.deliveries.c
        due = await self.store.rows(
            select(t.deliveries)
            .where(c.status == "pending")
            .order_by(c.update_id, c.id)
            .limit(BATCH)
        )
        subs = {r["id"]: dict(r) for r in await self.store.rows(select(t.subscriptions))}
        blocked: set[str] = set()
        upcoming: datetime | None = None
        for row in due:
            sub_id = row["subscription_id"]
            if sub_id in blocked:
                continue
            if row["next_at"] > now:
                blocked.add(sub_id)  # later updates wait behind it: order is kept
                upcoming = min(upcoming or row["next_at"], row["next_at"])
                continue
            error = await self._post(client, subs[sub_id], dict(row))
            attempts = row["attempts"] + 1
            if error is None:
                values: dict[str, object] = {"status": "delivered", "delivered_at": now_utc()}
            elif attempts >= self.policy.max_attempts:
                values = {"status": "dead", "last_error": error}
                logger.warning("delivery %d to %s dead-lettered: %s", row["id"], sub_id, error)
            else:
                retry_at = now_utc() + self._backoff(attempts)
                values = {"last_error": error, "next_at": retry_at}
                blocked.add(sub_id)
                upcoming = min(upcoming or retry_at, retry_at)
            async with self.store.tx() as tx:
                await tx.conn.execute(
                    update(t.deliveries)
                    .where(c.id == row["id"])
                    .values(attempts=attempts, **values)
                )
        return upcoming

    async def run(self) -> None:
        """Deliver forever (the runtime's task group owns it)."""
        timeout = httpx.Timeout(self.policy.timeout_s)
        async with httpx.AsyncClient(timeout=timeout, transport=self.transport) as client:
            while True:
                self._wake.clear()
                try:
                    upcoming = await self.deliver_due(client)
                except Exception:
                    logger.exception("webhook delivery round failed")
                    upcoming = None
                wait = IDLE_S
                if upcoming is not None:
                    wait = max(0.01, min(IDLE_S, (upcoming - now_utc()).total_seconds()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
