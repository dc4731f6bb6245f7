"""The edge's MQTT link: one persistent session, kept up by the shared reconnect loop.

The link knows topics, QoS and retain, and nothing about sorties. It publishes three ways:

- **QoS 1 through the outbox** (events, acks): written to SQLite first, sent in order, and
  removed only after the broker's PUBACK, so nothing is lost across outages or restarts;
- **retained state**: only the newest snapshot matters; it is sent after every change and
  again on every connect;
- **telemetry and detections** (QoS 0): newest wins; dropped while the broker is away.

The last will is a retained ``offline`` on ``availability``; ``online`` follows every connect.
Incoming ``cmd`` messages go to one receiver callback (the command dispatcher), at most
``CMD_RATE_PER_S`` a second after a burst of ``CMD_BURST``: a flood beyond that is dropped
unread and unanswered, counted and logged, so it can never fill the outbox with acks or starve
the loop that flies the drone. At most ``MAX_QUEUED_CMDS`` wait to be read; more are dropped
and counted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.aio import raise_if_cancelling, within
from edge.comms.mqtt import Backoff, make_client, stay_connected
from edge.outbox import Outbox
from edge.protocol import Availability, Kind, encode, topic
from edge.protocol.models import Signed
from edge.protocol.signing import sign_message
from edge.ratelimit import TokenBucket

if TYPE_CHECKING:  # edge.config builds its broker settings with edge.comms.mqtt
    from edge.config import MqttConfig

__all__ = ["MqttLink"]

logger = logging.getLogger(__name__)

Receiver = Callable[[bytes], Awaitable[None]]
CMD_RATE_PER_S = 5.0
CMD_BURST = 20
MAX_QUEUED_CMDS = 1000
FLOOD_LOG_EVERY_S = 10.0


class MqttLink:
    """The broker connection of one dock.

    Args:
        config: the ``[mqtt]`` section.
        dock_id: this dock; every topic is under ``dfr/v1/<dock_id>/``.
        outbox: the durable outbox QoS 1 messages go through.
        receiver: awaited with the payload of each ``cmd`` message, one at a time.
        key: this dock's Ed25519 key: every message it publishes is signed with it
            (unsigned without one, which dispatch refuses outside development).
    """

    def __init__(
        self,
        config: MqttConfig,
        dock_id: str,
        outbox: Outbox,
        receiver: Receiver,
        *,
        key: Ed25519PrivateKey | None = None,
    ) -> None:
        self.config = config
        self.key = key
        self.broker = config.broker()
        self.dock_id = dock_id
        self.outbox = outbox
        self.receiver = receiver
        self.connected = asyncio.Event()
        self.connects = 0
        self.down_since: float | None = asyncio.get_running_loop().time()
        self._wake_outbox = asyncio.Event()
        self._state: bytes | None = None
        self._state_dirty = asyncio.Event()
        self._latest: dict[Kind, bytes] = {}
        self._latest_dirty = asyncio.Event()
        self._cmd_topic = topic(dock_id, Kind.CMD)
        self.cmd_budget = TokenBucket(CMD_RATE_PER_S, CMD_BURST)
        self.cmd_dropped = 0
        self._flood_logged = -FLOOD_LOG_EVERY_S

    # -- what the rest of the edge calls (never blocks, never raises on a dead broker) --------

    def send(self, kind: Kind, message: Signed) -> int:
        """Queue a QoS 1 message (event or ack) in the outbox; returns its sequence number."""
        seq = self.outbox.put(topic(self.dock_id, kind), self._encode(message), qos=1)
        self._wake_outbox.set()
        return seq

    def set_state(self, state: Signed) -> None:
        """The newest retained ``state``; sent now if connected, else on the next connect."""
        self._state = self._encode(state)
        self._state_dirty.set()

    def set_latest(self, kind: Kind, message: Signed) -> None:
        """The newest QoS 0 message of ``kind`` (telemetry, detections); older unsent dropped."""
        self._latest[kind] = self._encode(message)
        self._latest_dirty.set()

    def _encode(self, message: Signed) -> bytes:
        """The wire form of a message, signed with this dock's key when it has one."""
        return sign_message(message, self.key) if self.key is not None else encode(message)

    @property
    def cmd_refused(self) -> int:
        """Commands dropped unread: over the rate limit, or past the queue bound."""
        return self.cmd_budget.refused + self.cmd_dropped

    def _queue_full(self) -> None:
        self.cmd_dropped += 1
        self._flooded()

    def _flooded(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._flood_logged >= FLOOD_LOG_EVERY_S:
            self._flood_logged = now
            logger.warning(
                "%s: command flood: %d commands dropped unread so far "
                "(limit %g/s, burst %d; %d past the queue bound)",
                self.dock_id,
                self.cmd_refused,
                CMD_RATE_PER_S,
                CMD_BURST,
                self.cmd_dropped,
            )

    def down_for(self) -> float:
        """Seconds since the broker was last reachable (0 while connected)."""
        if self.down_since is None:
            return 0.0
        return asyncio.get_running_loop().time() - self.down_since

    # -- the reconnect loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve, and reconnect with capped exponential back-off, until cancelled."""
        backoff = Backoff(self.config.backoff_initial_s, self.config.backoff_max_s)
        await stay_connected(
            self._client, self._serve, backoff, name=self.dock_id, on_down=self._went_down
        )

    async def close(self, client: aiomqtt.Client) -> None:
        """Say ``offline`` before a clean disconnect (the will covers unclean ones)."""
        await client.publish(
            topic(self.dock_id, Kind.AVAILABILITY),
            Availability.OFFLINE.value,
            qos=1,
            retain=True,
            timeout=self.config.timeout_s,
        )

    def _went_down(self) -> None:
        if self.connected.is_set() or self.down_since is None:
            self.down_since = asyncio.get_running_loop().time()
        self.connected.clear()

    def _client(self) -> aiomqtt.Client:
        return make_client(
            self.broker,
            client_id=self.config.client_id or f"outrider-edge-{self.dock_id}",
            persistent=True,
            keepalive_s=self.config.keepalive_s,
            timeout_s=self.config.timeout_s,
            will=aiomqtt.Will(
                topic(self.dock_id, Kind.AVAILABILITY),
                Availability.OFFLINE.value,
                qos=1,
                retain=True,
            ),
            max_queued=MAX_QUEUED_CMDS,
            on_dropped=self._queue_full,
        )

    async def _serve(self, client: aiomqtt.Client) -> None:
        """One connection: subscribe, say online, then run its four loops until it drops."""
        await client.subscribe(self._cmd_topic, qos=1, timeout=self.config.timeout_s)
        await client.publish(
            topic(self.dock_id, Kind.AVAILABILITY),
            Availability.ONLINE.value,
            qos=1,
            retain=True,
            timeout=self.config.timeout_s,
        )
        self.connects += 1
        self.down_since = None
        self.connected.set()
        logger.info("%s: broker link up (%s)", self.dock_id, self.broker.address)
        self._state_dirty.set()
        self._wake_outbox.set()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._receive(client))
                tasks.create_task(self._flush_outbox(client))
                tasks.create_task(self._send_state(client))
                tasks.create_task(self._send_latest(client))
        except asyncio.CancelledError:
            # Shutting down: say offline ourselves, since a clean disconnect fires no will.
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await within(self.close(client), 2.0)
            raise
        finally:
            self._went_down()

    async def _receive(self, client: aiomqtt.Client) -> None:
        """Hand every ``cmd`` payload to the receiver, in arrival order."""
        async for message in client.messages:
            if str(message.topic) != self._cmd_topic:
                continue
            if not self.cmd_budget.take():
                self._flooded()
                continue
            payload = message.payload
            data = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
            await self.receiver(bytes(data))

    async def _flush_outbox(self, client: aiomqtt.Client) -> None:
        """Send outbox messages oldest first; each is removed after its PUBACK."""
        while True:
            raise_if_cancelling()
            await self._wake_outbox.wait()
            self._wake_outbox.clear()
            while batch := self.outbox.pending():
                for entry in batch:
                    await client.publish(
                        entry.topic, entry.payload, qos=entry.qos, timeout=self.config.timeout_s
                    )
                    self.outbox.remove(entry.seq)
                    raise_if_cancelling()  # aiomqtt's wait_for may have swallowed a cancel

    async def _send_state(self, client: aiomqtt.Client) -> None:
        while True:
            raise_if_cancelling()
            await self._state_dirty.wait()
            self._state_dirty.clear()
            if self._state is not None:
                await client.publish(
                    topic(self.dock_id, Kind.STATE),
                    self._state,
                    qos=1,
                    retain=True,
                    timeout=self.config.timeout_s,
                )
                raise_if_cancelling()

    async def _send_latest(self, client: aiomqtt.Client) -> None:
        while True:
            raise_if_cancelling()
            await self._latest_dirty.wait()
            self._latest_dirty.clear()
            while self._latest:
                kind, payload = self._latest.popitem()
                await client.publish(
                    topic(self.dock_id, kind), payload, qos=0, timeout=self.config.timeout_s
                )
                raise_if_cancelling()
