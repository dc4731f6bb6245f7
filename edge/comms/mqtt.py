"""MQTT connection set-up shared by the edge and dispatch: the broker, the client, the reconnects.

Both ends build their broker connection here and keep only what is their own: the edge its
outbox, last will and command rate limit (:mod:`edge.comms.link`), dispatch its subscriptions
and receiver (:mod:`dispatch.bus`). This module holds:

- :class:`BrokerSettings`: where the broker is and how to log in, from an
  ``mqtt[s]://[user[:password]@]host[:port]`` URL and the explicit settings that override it;
- :func:`make_client`: the aiomqtt client (TLS context, persistent session, last will, bounded
  incoming queue that counts what it drops, and optionally acknowledgement left to the caller);
- :func:`acknowledger`: the one-shot PUBACK of a message received with that option;
- :func:`stay_connected`: the one reconnect loop, ``while True`` / ``async with client`` /
  ``except MqttError``, waiting out a capped exponential :class:`Backoff` between attempts.

Secrets never reach a log line or an error: :attr:`BrokerSettings.address` and
:func:`redact_url` are the only broker text either end prints, and ``repr`` leaves the password
out.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiomqtt

from edge.errors import ConfigError

__all__ = [
    "Ack",
    "Backoff",
    "BrokerSettings",
    "acknowledger",
    "counting_queue",
    "make_client",
    "parse_mqtt_url",
    "redact_url",
    "stay_connected",
    "tls_context",
]

logger = logging.getLogger(__name__)

Ack = Callable[[], None]
"""Acknowledges one received message to the broker; calling it again does nothing."""

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883, "tcp": 1883}  # tcp: paho's name for plain MQTT
MAX_DOUBLINGS = 11
REDACTED = "***"


def redact_url(url: str) -> str:
    """``url`` with the password (if any) replaced by ``***``: the form fit for logs and errors.

    Everything up to the last ``@`` after the scheme counts as the login, so a password holding
    ``@`` or ``/`` is hidden whole rather than cut short.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    login, at, host = rest.rpartition("@")
    if not at or ":" not in login:
        return url
    user = login.partition(":")[0]
    return f"{scheme}{sep}{user}:{REDACTED}@{host}"


@dataclass(frozen=True)
class BrokerSettings:
    """Where the broker is and how to log in.

    The password is read from ``password_file`` at every :meth:`credentials` call, so a rotated
    password is picked up at the next connect without a restart. Neither ``repr`` nor
    :attr:`address` ever shows it.
    """

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        password_file: Path | None = None,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
    ) -> BrokerSettings:
        """The broker of ``url``, with the explicit settings winning over what the URL says.

        The username is ``username``, else the URL's. The password is ``password``, else the
        contents of ``password_file``, else the URL's.

        Raises:
            ConfigError: ``invalid_config`` for a URL that is not ``mqtt[s]://host[:port]``.
        """
        parsed = parse_mqtt_url(url)
        return replace(
            parsed,
            username=username or parsed.username,
            password=password or (None if password_file else parsed.password),
            password_file=password_file,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
        )

    @property
    def address(self) -> str:
        """``mqtt[s]://[user@]host:port``: how logs name this broker (never with a password)."""
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.address

    def credentials(self) -> tuple[str | None, str | None]:
        """The username and password to log in with, the password file read now.

        Raises:
            ConfigError: ``invalid_config`` when the password file cannot be read.
        """
        if self.password is not None or self.password_file is None:
            return self.username, self.password
        try:
            password = self.password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"MQTT password file {self.password_file} cannot be read: {exc.strerror}"
            ) from exc
        return self.username, password


def parse_mqtt_url(url: str) -> BrokerSettings:
    """The broker of ``mqtt://[user[:pass]@]host[:port]`` or ``mqtts://...`` (TLS).

    Raises:
        ConfigError: ``invalid_config`` for any other scheme, a missing host or a bad port; the
            reason shows the URL without its password.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        default_port = DEFAULT_PORTS.get(parts.scheme)
        host = parts.hostname
    except ValueError:  # an unbalanced "[" of an IPv6 host
        default_port = host = None
    if default_port is None or not host:
        raise ConfigError(f"MQTT URL {shown!r} is not mqtt://host[:port] or mqtts://host[:port]")
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ConfigError(f"MQTT URL {shown!r} has a bad port") from exc
    return BrokerSettings(
        host,
        port,
        tls=parts.scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def tls_context(broker: BrokerSettings) -> ssl.SSLContext | None:
    """The TLS context for an ``mqtts`` broker (``None`` for plain MQTT).

    The broker's certificate must chain to ``ca_file`` (else to the system's CAs); a client
    certificate is presented when ``cert_file`` is set.

    Raises:
        ConfigError: ``invalid_config`` when a certificate or key file cannot be loaded.
    """
    if not broker.tls:
        return None
    try:
        context = ssl.create_default_context(cafile=str(broker.ca_file) if broker.ca_file else None)
        if broker.cert_file:
            context.load_cert_chain(
                str(broker.cert_file), str(broker.key_file) if broker.key_file else None
            )
    except OSError as exc:  # ssl.SSLError is one too
        raise ConfigError(f"MQTT TLS files cannot be loaded: {exc}") from exc
    return context


def counting_queue(on_full: Callable[[], None]) -> type[asyncio.Queue[aiomqtt.Message]]:
    """An incoming-message queue type that, past its ``maxsize``, drops a QoS 0 message and
    reports it (once, here, rather than one log line per message from aiomqtt).

    A QoS 1 message is never dropped: it is waiting for its acknowledgement, and one dropped
    unacknowledged would hold a place of the broker's in-flight window until the next
    connection. The broker's in-flight limit bounds how many of them can be queued.
    """

    class CountingQueue(asyncio.Queue[aiomqtt.Message]):
        def __init__(self, maxsize: int = 0) -> None:
            super().__init__()
            self.limit = maxsize

        def put_nowait(self, item: aiomqtt.Message) -> None:
            qos = getattr(item, "qos", 0)
            if self.limit and self.qsize() >= self.limit and not qos:
                on_full()
                return
            super().put_nowait(item)

    return CountingQueue


def make_client(
    broker: BrokerSettings,
    *,
    client_id: str,
    persistent: bool,
    keepalive_s: int,
    timeout_s: float,
    will: aiomqtt.Will | None = None,
    max_queued: int = 0,
    on_dropped: Callable[[], None] = lambda: None,
    manual_ack: bool = False,
) -> aiomqtt.Client:
    """A fresh (not yet connected) client; make one per connection attempt.

    Args:
        broker: where and who; the password file is read now.
        client_id: the MQTT client id; with ``persistent`` it names the session the broker
            keeps.
        persistent: keep the session across disconnects, so the broker holds subscriptions
            and queues QoS 1 messages while the client is away.
        keepalive_s: MQTT keepalive.
        timeout_s: limit on every broker operation.
        will: the last will, published by the broker if the link dies uncleanly.
        max_queued: bound on messages received but not yet read (0: none).
        on_dropped: called once for each message dropped at that bound.
        manual_ack: leave the PUBACK of every QoS 1 message to :func:`acknowledger`, so a
            message the process took but had not finished with (stored, say) when it died
            is delivered again to the persistent session.

    Raises:
        ConfigError: ``invalid_config`` when the password or TLS files cannot be read.
    """
    user, password = broker.credentials()
    client = aiomqtt.Client(
        broker.host,
        broker.port,
        username=user,
        password=password,
        identifier=client_id,
        clean_session=not persistent,
        keepalive=keepalive_s,
        timeout=timeout_s,
        tls_context=tls_context(broker),
        # Commands, acks and events are small and time-critical: no Nagle delay behind them.
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        max_queued_incoming_messages=max_queued,
        queue_type=counting_queue(on_dropped),
        will=will,
    )
    if manual_ack:
        # aiomqtt 2.5 does not expose paho's manual acknowledgement (empicano/aiomqtt#345);
        # paho's own switch and ack() are the whole of it.
        client._client.manual_ack_set(True)
    return client


def acknowledger(client: aiomqtt.Client, message: aiomqtt.Message) -> Ack:
    """The PUBACK of ``message``, sent when called, once, and only while the connection that
    received it is up: after a reconnect the broker delivers an unacknowledged message again,
    under a packet id that may by then name another message (each connection attempt has a
    client of its own, see :func:`make_client`).

    A QoS 0 message needs no acknowledgement; its :data:`Ack` does nothing.
    """
    if message.qos == 0:
        return _nothing
    paho, mid, qos = client._client, message.mid, message.qos
    sent = False

    def ack() -> None:
        nonlocal sent
        if not sent and paho.is_connected():
            paho.ack(mid, qos)
        sent = True

    return ack


def _nothing() -> None:
    return None


@dataclass
class Backoff:
    """Capped exponential waits between reconnection attempts.

    The n-th wait after a drop is ``initial_s * 2**n``, capped at ``max_s``. With ``jitter``
    each wait is drawn from the upper half of that, so clients that lost the broker together do
    not all come back in the same instant.
    """

    initial_s: float
    max_s: float
    jitter: bool = True
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next(self) -> float:
        """The wait before the next attempt, in seconds."""
        delay = min(self.max_s, self.initial_s * 2.0 ** min(self.attempt, MAX_DOUBLINGS))
        self.attempt += 1
        return delay * self.rng.uniform(0.5, 1.0) if self.jitter else delay

    def reset(self) -> None:
        """Start again from ``initial_s`` (after a successful connect)."""
        self.attempt = 0


async def stay_connected(
    connect: Callable[[], aiomqtt.Client],
    serve: Callable[[aiomqtt.Client], Awaitable[None]],
    backoff: Backoff,
    *,
    name: str,
    on_down: Callable[[], None],
    retry_on: tuple[type[Exception], ...] = (aiomqtt.MqttError,),
) -> None:
    """Connect, serve, and after every drop wait out the back-off and connect again.

    Runs until cancelled. This is the one reconnect loop of both the edge and dispatch.

    Args:
        connect: makes the client for one attempt (so credentials are read afresh each time).
        serve: uses one connection until it drops.
        backoff: the waits between attempts; reset after every successful connect.
        name: who is connecting, for log lines.
        on_down: called whenever a connection ends or an attempt fails.
        retry_on: errors that mean "try again later"; any other ends the loop.
    """
    while True:
        cause: object = "connection closed"
        try:
            async with connect() as client:
                backoff.reset()
                await serve(client)
        except* retry_on as group:
            cause = group.exceptions[0]
        finally:
            on_down()
        delay = backoff.next()
        logger.warning(
            "%s: broker link down (%s); retry %d in %.1f s", name, cause, backoff.attempt, delay
        )
        await asyncio.sleep(delay)  # the back-off itself, not a wait for an event
