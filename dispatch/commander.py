"""Commands out: build, sign (Ed25519), record, audit, publish, and wait for the ack.

An ack answers a command only when it comes from the dock the command was sent to (its topic,
checked against the dock's signature by the ingest): an ack with the right ``cmd_id`` from any
other dock is ignored.

With several instances, the ack may reach another instance than the one waiting for it: that
one stores it, and the waiter learns of it from the store (:class:`dispatch.acks.AckWatch`).
Giving up the wait is itself written to the command's row, under its lock, so an ack is
either in time (and returned) or known to be late, never both.
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
from dispatch.models import CommandRecord
from dispatch.store.sql import SqlStore
from edge.protocol import (
    QOS,
    AbortBody,
    AbortCommand,
    Ack,
    AckCode,
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

__all__ = ["Commander", "ack_of"]

BODIES: dict[str, tuple[type[CommandEnvelope], type[Any] | None]] = {
    "dispatch": (DispatchCommand, DispatchBody),
    "retask": (RetaskCommand, RetaskBody),
    "recall": (RecallCommand, None),
    "abort": (AbortCommand, AbortBody),
    "ping": (PingCommand, None),
    "resend": (ResendCommand, ResendBody),
}
REMEMBER_TIMED_OUT = 1000


def ack_of(command: CommandRecord) -> Ack | None:
    """The ack stored with ``command``, as the dock sent it (``None`` before it came)."""
    if command.acked_at is None or command.ack_ok is None or command.ack_code is None:
        return None
    return Ack(
        cmd_id=command.id,
        dock_id=command.dock_id,
        ok=command.ack_ok,
        code=AckCode(command.ack_code),
        reason=command.ack_reason or "",
        at=command.acked_at,
        sortie_id=command.ack_sortie_id,
    )


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

    def waiting(self) -> list[str]:
        """Ids of the commands whose senders wait for their ack now."""
        return list(self._pending)

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
            found = await self._give_up(signed.id)
            if found is None:
                self.metrics.commands.labels(kind, "ack_timeout").inc()
                return None
            ack = found
        finally:
            self._pending.pop(signed.id, None)
        self.metrics.commands.labels(kind, "accepted" if ack.ok else "refused").inc()
        return ack

    async def _give_up(self, cmd_id: str) -> Ack | None:
        """Stop waiting for ``cmd_id``'s ack; the ack, when it was stored meanwhile."""
        self._timed_out[cmd_id] = None
        while len(self._timed_out) > REMEMBER_TIMED_OUT:
            self._timed_out.popitem(last=False)
        async with self.store.tx() as tx:
            command = await tx.give_up(cmd_id)
        ack = ack_of(command) if command is not None else None
        if ack is not None:
            self._timed_out.pop(cmd_id, None)
        return ack
