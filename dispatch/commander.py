"""Commands out: build, sign (Ed25519), record, audit, publish, and wait for the ack.

An ack answers a command only when it comes from the dock the command was sent to (its topic,
checked against the dock's signature by the ingest): an ack with the right ``cmd_id`` from any
other dock is ignored.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dispatch.bus import Bus
from dispatch.metrics import Metrics
from dispatch.store.sql import SqlStore
from edge.protocol import (
    QOS,
    AbortBody,
    AbortCommand,
    Ack,
    CommandEnvelope,
    DispatchBody,
    DispatchCommand,
    Kind,
    PingCommand,
    RecallCommand,
    ResendBody,
    ResendCommand,
    RetaskBody,
    RetaskCommand,
    encode,
    now_utc,
    topic,
)
from edge.protocol.signing import sign

__all__ = ["Commander"]

BODIES: dict[str, tuple[type[CommandEnvelope], type[Any] | None]] = {
    "dispatch": (DispatchCommand, DispatchBody),
    "retask": (RetaskCommand, RetaskBody),
    "recall": (RecallCommand, None),
    "abort": (AbortCommand, AbortBody),
    "ping": (PingCommand, None),
    "resend": (ResendCommand, ResendBody),
}
REMEMBER_TIMED_OUT = 1000


class Commander:
    """Sends commands to docks and matches acks to them.

    Args:
        bus: the MQTT link.
        store: where commands and their audit rows go.
        key: dispatch's Ed25519 private key; every command is signed with it.
        metrics: the instance's metrics.
    """

    def __init__(self, bus: Bus, store: SqlStore, key: Ed25519PrivateKey, metrics: Metrics):
        self.bus = bus
        self.store = store
        self.key = key
        self.metrics = metrics
        self._pending: dict[str, tuple[str, asyncio.Future[Ack]]] = {}
        self._timed_out: OrderedDict[str, None] = OrderedDict()

    def build(self, kind: str, dock_id: str, body: Any, ttl_s: float) -> CommandEnvelope:
        """A new, unsigned command with a fresh id valid for ``ttl_s`` seconds."""
        model, _ = BODIES[kind]
        issued = now_utc()
        fields: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "dock_id": dock_id,
            "issued_at": issued,
            "expires_at": issued + timedelta(seconds=ttl_s),
        }
        if body is not None:
            fields["body"] = body
        return model(**fields)

    def resolve(self, ack: Ack) -> bool:
        """Hand an ack to the sender waiting for it; ``True`` when one was waiting.

        The ack must come from the dock the command went to; any other is left unanswered.
        """
        if ack.cmd_id is None:
            return False
        pending = self._pending.get(ack.cmd_id)
        if pending is None or pending[0] != ack.dock_id:
            return False
        del self._pending[ack.cmd_id]
        future = pending[1]
        if future.done():
            return False
        future.set_result(ack)
        return True

    def timed_out(self, cmd_id: str | None) -> bool:
        """``True`` when this instance gave up waiting for the ack of ``cmd_id``."""
        return cmd_id is not None and cmd_id in self._timed_out

    async def send(
        self,
        command: CommandEnvelope,
        *,
        actor: str,
        incident_id: str | None,
        wait_s: float,
    ) -> Ack | None:
        """Sign, record, publish ``command``; its ack, or ``None`` after ``wait_s`` seconds.

        Raises:
            UnavailableError: ``mqtt_unavailable`` when the broker cannot take it.
        """
        signed = sign(command, self.key)
        kind = str(getattr(signed, "type", "unknown"))
        body = signed.model_dump(mode="json").get("body", {})
        async with self.store.tx() as tx:
            await tx.insert_command(
                {
                    "id": signed.id,
                    "dock_id": signed.dock_id,
                    "type": kind,
                    "incident_id": incident_id,
                    "actor": actor,
                    "issued_at": signed.issued_at,
                    "expires_at": signed.expires_at,
                    "body": body,
                    "signed": signed.sig is not None,
                }
            )
            detail = {"id": signed.id, "incident_id": incident_id, "body": body}
            await tx.audit(actor, f"command.{kind}", signed.dock_id, detail, signed.issued_at)
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending[signed.id] = (signed.dock_id, future)
        try:
            await self.bus.publish(
                topic(signed.dock_id, Kind.CMD), encode(signed), qos=QOS[Kind.CMD]
            )
            async with asyncio.timeout(wait_s):
                ack = await future
        except TimeoutError:
            self._timed_out[signed.id] = None
            while len(self._timed_out) > REMEMBER_TIMED_OUT:
                self._timed_out.popitem(last=False)
            self.metrics.commands.labels(kind, "ack_timeout").inc()
            return None
        finally:
            self._pending.pop(signed.id, None)
        self.metrics.commands.labels(kind, "accepted" if ack.ok else "refused").inc()
        return ack
