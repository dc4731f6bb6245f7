"""The MQTT link of dispatch: a ``Bus`` protocol and its aiomqtt adapter.

The adapter knows topics, QoS and retain and nothing about behaviour: it hands every
message to one receiver and publishes what it is given. Reconnection is explicit, in
:meth:`MqttBus.run` only: ``while True`` / ``async with client`` / ``except MqttError`` with a
capped backoff.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiomqtt

from dispatch.errors import UnavailableError
from edge.comms.link import counting_queue
from edge.errors import ConfigError

__all__ = ["Broker", "Bus", "MqttBus", "Receiver", "parse_mqtt_url"]

logger = logging.getLogger(__name__)

Receiver = Callable[[str, bytes], Awaitable[None]]


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


@dataclass(frozen=True)
class Broker:
    """Where the broker is and how to log in."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_mqtt_url(url: str) -> Broker:
    """``mqtt://[user[:pass]@]host[:port]`` or ``mqtts://...`` (TLS).

    Raises:
        ConfigError: for any other scheme or a missing host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp") or not parts.hostname:
        raise ConfigError(f"MQTT URL {url!r} is not mqtt://host[:port] or mqtts://host[:port]")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ConfigError(f"MQTT URL {url!r} has a bad port") from exc
    return Broker(
        parts.hostname,
        port,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        tls,
    )


class MqttBus:
    """aiomqtt adapter of :class:`Bus`.

    Args:
        url: broker URL (see :func:`parse_mqtt_url`).
        subscriptions: topic filters, subscribed at QoS 1 after every connect.
        client_id: the MQTT client id; with ``persistent`` it names the session the broker
            keeps, else a random suffix keeps instances apart.
        timeout: limit on every broker operation, seconds.
        max_backoff_s: longest wait between reconnection attempts.
        persistent: keep the session across disconnects, so the broker queues QoS 1
            messages (events, acks) while this instance is away or restarting.
        username: overrides the URL's username.
        password_file: file holding the password (read at every connect, so a rotated
            password is picked up without a restart); overrides the URL's password.
        ca_file: CA certificate that the broker's TLS certificate must chain to.
        max_queued: bound on messages received but not yet handled; more are dropped.
        on_dropped: called once for each message dropped at that bound.
    """

    def __init__(
        self,
        url: str,
        subscriptions: Sequence[str],
        *,
        client_id: str = "outrider-dispatch",
        timeout: float = 10.0,
        max_backoff_s: float = 5.0,
        persistent: bool = False,
        username: str | None = None,
        password_file: Path | None = None,
        ca_file: Path | None = None,
        max_queued: int = 0,
        on_dropped: Callable[[], None] | None = None,
    ) -> None:
        self.broker = parse_mqtt_url(url)
        self.subscriptions = list(subscriptions)
        self.persistent = persistent
        self.client_id = client_id if persistent else f"{client_id}-{uuid.uuid4().hex[:8]}"
        self.timeout = timeout
        self.max_backoff_s = max_backoff_s
        self.username = username or self.broker.username
        self.password_file = password_file
        self.ca_file = ca_file
        self.max_queued = max_queued
        self.on_dropped = on_dropped or (lambda: None)
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None

    def _password(self) -> str | None:
        if self.password_file is None:
            return self.broker.password
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"MQTT password file {self.password_file} cannot be read: {exc.strerror}"
            ) from exc

    def _make_client(self) -> aiomqtt.Client:
        b = self.broker
        tls = None
        if b.tls:
            tls = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        return aiomqtt.Client(
            b.host,
            b.port,
            username=self.username,
            password=self._password(),
            identifier=self.client_id,
            clean_session=not self.persistent,
            timeout=self.timeout,
            keepalive=15,
            tls_context=tls,
            max_queued_incoming_messages=self.max_queued,
            queue_type=counting_queue(self.on_dropped),
        )

    async def run(self, receiver: Receiver) -> None:
        backoff = 0.2
        while True:
            try:
                async with self._make_client() as client:
                    for pattern in self.subscriptions:
                        await client.subscribe(pattern, qos=1)
                    self._client = client
                    self.connected.set()
                    logger.info(
                        "connected to MQTT broker %s:%d", self.broker.host, self.broker.port
                    )
                    backoff = 0.2
                    async for message in client.messages:
                        payload = message.payload
                        data = payload if isinstance(payload, bytes) else str(payload).encode()
                        await receiver(message.topic.value, data)
            except (aiomqtt.MqttError, ConfigError, OSError) as exc:
                logger.warning("MQTT link down (%s); retrying in %.1f s", exc, backoff)
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)

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
