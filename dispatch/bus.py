"""The MQTT link of dispatch: a ``Bus`` protocol and its aiomqtt adapter.

The adapter knows topics, QoS and retain and nothing about behaviour: it hands every
message to one receiver and publishes what it is given. The receiver acknowledges each message
itself (the :data:`~edge.comms.mqtt.Ack` handed over with it) once it is done with it, stored
if it is to be stored: a message taken but not acknowledged when dispatch dies is delivered
again by the broker to the persistent session. The client, its login and TLS, and the
reconnect loop with its capped backoff come from :mod:`edge.comms.mqtt`, as the edge's do.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import aiomqtt

from dispatch.config import DispatchSettings
from dispatch.service_errors import UnavailableError
from edge.comms.mqtt import (
    Ack,
    Backoff,
    BrokerSettings,
    acknowledger,
    make_client,
    stay_connected,
)
from edge.errors import ConfigError

__all__ = ["Bus", "MqttBus", "Receiver", "dispatch_broker"]

logger = logging.getLogger(__name__)

Receiver = Callable[[str, bytes, Ack], Awaitable[None]]
"""Takes one message's topic, payload and acknowledgement; calls the last when done with it."""
KEEPALIVE_S = 15
FIRST_BACKOFF_S = 0.2


class Bus(Protocol):
    """Publish/subscribe transport, as dispatch needs it."""

    connected: asyncio.Event

    async def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> None:
        """Publish one message.

        Raises:
            UnavailableError: ``mqtt_unavailable`` when not connected or the broker times out.
        """
        ...

    async def run(self, receiver: Receiver) -> None:
        """Stay connected and subscribed forever, handing each message to ``receiver``."""
        ...

    def stop_taking(self) -> None:
        """Hand ``receiver`` nothing more, but stay connected (to acknowledge what it has)."""
        ...


def dispatch_broker(settings: DispatchSettings) -> BrokerSettings:
    """Dispatch's broker: ``mqtt_url``, overridden by ``mqtt_username`` and the files beside it.

    Raises:
        ConfigError: ``invalid_config`` for a URL that is not ``mqtt[s]://host[:port]``.
    """
    return BrokerSettings.from_url(
        settings.mqtt_url,
        username=settings.mqtt_username,
        password_file=settings.mqtt_password_file,
        ca_file=settings.mqtt_ca_file,
    )


class MqttBus:
    """aiomqtt adapter of :class:`Bus`.

    Args:
        broker: where the broker is and how to log in (the password file, if any, is read at
            every connect, so a rotated password is picked up without a restart).
        subscriptions: topic filters, subscribed at QoS 1 after every connect.
        client_id: the MQTT client id; with ``persistent`` it names the session the broker
            keeps, else a random suffix keeps instances apart.
        timeout: limit on every broker operation, seconds.
        max_backoff_s: longest wait between reconnection attempts.
        persistent: keep the session across disconnects, so the broker queues QoS 1
            messages (events, acks) while this instance is away or restarting.
        max_queued: bound on messages received but not yet handled; more are dropped.
        on_dropped: called once for each message dropped at that bound.
    """

    def __init__(
        self,
        broker: BrokerSettings,
        subscriptions: Sequence[str],
        *,
        client_id: str = "outrider-dispatch",
        timeout: float = 10.0,
        max_backoff_s: float = 5.0,
        persistent: bool = False,
        max_queued: int = 0,
        on_dropped: Callable[[], None] | None = None,
    ) -> None:
        self.broker = broker
        self.subscriptions = list(subscriptions)
        self.persistent = persistent
        self.client_id = client_id if persistent else f"{client_id}-{uuid.uuid4().hex[:8]}"
        self.timeout = timeout
        self.max_backoff_s = max_backoff_s
        self.max_queued = max_queued
        self.on_dropped = on_dropped or (lambda: None)
        self.connected = asyncio.Event()
        self.taking = True
        self._client: aiomqtt.Client | None = None

    def _make_client(self) -> aiomqtt.Client:
        return make_client(
            self.broker,
            client_id=self.client_id,
            persistent=self.persistent,
            keepalive_s=KEEPALIVE_S,
            timeout_s=self.timeout,
            max_queued=self.max_queued,
            on_dropped=self.on_dropped,
            manual_ack=True,
        )

    async def run(self, receiver: Receiver) -> None:
        async def serve(client: aiomqtt.Client) -> None:
            for pattern in self.subscriptions:
                await client.subscribe(pattern, qos=1)
            self._client = client
            self.connected.set()
            logger.info("connected to MQTT broker %s", self.broker.address)
            async for message in client.messages:
                if not self.taking:
                    continue  # unacknowledged: the broker delivers it again to the session
                payload = message.payload
                data = payload if isinstance(payload, bytes) else str(payload).encode()
                await receiver(message.topic.value, data, acknowledger(client, message))

        await stay_connected(
            self._make_client,
            serve,
            Backoff(FIRST_BACKOFF_S, self.max_backoff_s, jitter=False),
            name="dispatch",
            on_down=self._went_down,
            # A password or CA file being replaced is retried too, not the end of dispatch.
            retry_on=(aiomqtt.MqttError, ConfigError, OSError),
        )

    def stop_taking(self) -> None:
        """Draining: messages that arrive from now on are neither handled nor acknowledged, so
        the broker keeps them for the persistent session (this instance restarted, or another
        one taking it over); the connection stays up while what was taken is acknowledged."""
        self.taking = False

    def _went_down(self) -> None:
        self._client = None
        self.connected.clear()

    async def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> None:
        client = self._client
        if client is None:
            raise UnavailableError("not connected to the MQTT broker", code="mqtt_unavailable")
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=self.timeout)
        except aiomqtt.MqttError as exc:
            raise UnavailableError(
                f"MQTT publish to {topic} failed: {exc}", code="mqtt_unavailable"
            ) from exc
