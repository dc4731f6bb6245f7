"""The vehicle's MAVLink 2 link over UDP, like PX4 SITL's API link.

The vehicle binds its own port and sends to the ground station's; like PX4 it then answers
whoever last sent it a valid message. Each datagram is parsed on its own: bytes that are not
MAVLink are counted as garbage and dropped, and nothing in a datagram can raise out of here.
A link-loss fault silences both directions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

from sim.vehicle.mavlink.framing import frame
from sim.vehicle.mavlink.messages import Message, mavlink

__all__ = ["LinkStats", "MavlinkLink"]

logger = logging.getLogger(__name__)

Address = tuple[str, int]


class LinkStats:
    """Counters of one link."""

    def __init__(self) -> None:
        self.sent = 0
        self.received = 0
        self.garbage = 0
        self.dropped = 0
        self.errors = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


class MavlinkLink(asyncio.DatagramProtocol):
    """One UDP MAVLink link.

    Args:
        sysid: this vehicle's system id.
        target: the ground station's address until one speaks to us.
        on_message: called with every valid message and the address it came from.
        is_down: whether a link-loss fault silences the link now.
    """

    def __init__(
        self,
        sysid: int,
        target: Address,
        on_message: Callable[[Message, Address], None],
        is_down: Callable[[], bool] = lambda: False,
    ) -> None:
        self.target = target
        self.on_message = on_message
        self.is_down = is_down
        self.stats = LinkStats()
        self._sysid = sysid
        self._seq = 0
        self._in = mavlink.MAVLink(None)
        self._in.robust_parsing = True
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while no ground station listens: normal, keep sending.
        self.stats.errors += 1

    @property
    def local_port(self) -> int:
        assert self._transport is not None
        return int(self._transport.get_extra_info("sockname")[1])

    def send(self, msg: Message) -> None:
        """Send one message (dropped while the link is down)."""
        if self._transport is None or self.is_down():
            self.stats.dropped += 1
            return
        seq = self._seq
        self._seq = (seq + 1) % 256
        self._transport.sendto(frame(msg, seq, self._sysid), self.target)
        self.stats.sent += 1

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.is_down():
            self.stats.dropped += 1
            return
        messages, bad = self._parse(data)
        if bad:
            self.stats.garbage += 1
        for msg in messages:
            self.stats.received += 1
            self.target = (str(addr[0]), int(addr[1]))
            try:
                self.on_message(msg, self.target)
            except Exception:  # a hostile message must never stop the vehicle
                self.stats.errors += 1
                logger.exception("message %s could not be handled", msg.get_type())

    def _parse(self, data: bytes) -> tuple[list[Message], bool]:
        parser = self._in
        parser.buf = bytearray()
        parser.buf_index = 0
        parser.expected_length = mavlink.HEADER_LEN_V1 + 2
        parser.have_prefix_error = False
        try:
            parsed = parser.parse_buffer(data) or []
        except Exception:
            return [], True
        good = [m for m in parsed if not isinstance(m, mavlink.MAVLink_bad_data)]
        leftover = parser.buf_len() > 0
        return good, leftover or len(good) != len(parsed) or not parsed
