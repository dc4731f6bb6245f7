"""A bare pymavlink ground station (no MAVSDK) talking to a running sim vehicle over UDP."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymavlink.dialects.v20 import common as mavlink

from edge.geo import destination
from sim.vehicle import SimVehicleProcess
from tests.sim.conftest import HOME


class MavlinkClient(asyncio.DatagramProtocol):
    """Listens where MAVSDK would (``udpin``) and answers the vehicle from there."""

    def __init__(self) -> None:
        self.mav = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
        self.parser = mavlink.MAVLink(None)
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.peer: Any = None
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.peer = addr
        for msg in self.parser.parse_buffer(data) or []:
            self.inbox.put_nowait(msg)

    def send(self, msg: Any) -> None:
        assert self.transport is not None and self.peer is not None
        self.transport.sendto(msg.pack(self.mav), self.peer)
        self.mav.seq = (self.mav.seq + 1) % 256

    def send_raw(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(data, self.peer)

    async def expect(
        self, name: str, where: Callable[[Any], bool] = lambda m: True, timeout_s: float = 5.0
    ) -> Any:
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await self.inbox.get()
                if msg.get_type() == name and where(msg):
                    return msg


@pytest.fixture
async def gcs(vehicle: SimVehicleProcess) -> AsyncIterator[MavlinkClient]:
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        MavlinkClient, local_addr=("127.0.0.1", vehicle.port)
    )
    await client.expect("HEARTBEAT", lambda m: m.autopilot == 12)
    yield client
    transport.close()


def item(seq: int, lat: float, lon: float, alt: float) -> Any:
    return mavlink.MAVLink_mission_item_int_message(
        1, 1, seq, 6, 16, int(seq == 0), 1, 0.0, 3.0, 0.0, float("nan"),
        round(lat * 1e7), round(lon * 1e7), alt, 0,
    )  # fmt: skip


async def test_mission_handshake_upload_download_current_and_clear_without_mavsdk(
    vehicle: SimVehicleProcess, gcs: MavlinkClient
) -> None:
    points = [destination(HOME, 90.0 * i, 100.0) for i in range(3)]
    items = [item(i, p.lat, p.lon, 20.0 + i) for i, p in enumerate(points)]
    gcs.send(mavlink.MAVLink_mission_count_message(1, 1, 3, 0))
    ask = await gcs.expect("MISSION_REQUEST_INT")
    assert ask.seq == 0 and ask.target_system == 255 and ask.target_component == 190
    gcs.send(items[0])
    assert (await gcs.expect("MISSION_REQUEST_INT")).seq == 1
    gcs.send(items[2])  # out of order: the vehicle asks for 1 again
    assert (await gcs.expect("MISSION_REQUEST_INT")).seq == 1
    gcs.send(items[1])
    assert (await gcs.expect("MISSION_REQUEST_INT")).seq == 2
    gcs.send(items[2])
    ack = await gcs.expect("MISSION_ACK")
    assert ack.type == 0 and ack.mission_type == 0

    gcs.send(mavlink.MAVLink_mission_request_list_message(1, 1, 0))
    assert (await gcs.expect("MISSION_COUNT")).count == 3
    for seq in range(3):
        gcs.send(mavlink.MAVLink_mission_request_int_message(1, 1, seq, 0))
        got = await gcs.expect("MISSION_ITEM_INT", lambda m, s=seq: m.seq == s)
        assert (got.x, got.y, got.z, got.command) == (items[seq].x, items[seq].y, 20.0 + seq, 16)
    gcs.send(mavlink.MAVLink_mission_request_message(1, 1, 1, 0))  # the float variant
    legacy = await gcs.expect("MISSION_ITEM")
    assert legacy.x == pytest.approx(points[1].lat, abs=1e-5)  # float32 degrees
    gcs.send(mavlink.MAVLink_mission_ack_message(1, 1, 0, 0))

    gcs.send(mavlink.MAVLink_mission_set_current_message(1, 1, 2))
    assert (await gcs.expect("MISSION_CURRENT", lambda m: m.seq == 2)).total == 3

    gcs.send(mavlink.MAVLink_mission_clear_all_message(1, 1, 0))
    assert (await gcs.expect("MISSION_ACK")).type == 0
    gcs.send(mavlink.MAVLink_mission_request_list_message(1, 1, 0))
    assert (await gcs.expect("MISSION_COUNT")).count == 0
    assert (await vehicle.truth())["mission_count"] == 0


async def test_commands_are_acked_and_garbage_is_counted_and_ignored(
    vehicle: SimVehicleProcess, gcs: MavlinkClient
) -> None:
    gcs.send(mavlink.MAVLink_command_long_message(1, 1, 512, 0, 148, 0, 0, 0, 0, 0, 0))
    assert (await gcs.expect("AUTOPILOT_VERSION")).capabilities & 0x2000  # MAVLink 2
    assert (await gcs.expect("COMMAND_ACK", lambda m: m.command == 512)).result == 0
    gcs.send(mavlink.MAVLink_command_long_message(1, 1, 42_424, 0, 0, 0, 0, 0, 0, 0, 0))
    assert (await gcs.expect("COMMAND_ACK", lambda m: m.command == 42_424)).result == 3
    before = (await vehicle.truth())["link"]["garbage"]
    for size in (1, 17, 280, 1500):
        gcs.send_raw(os.urandom(size).replace(b"\xfd", b"\x00").replace(b"\xfe", b"\x00"))
    gcs.send_raw(b"\xfd\x09\x00\x00\x00\x01\x01\x00\x00\x00" + b"\x00" * 11)  # bad checksum
    gcs.send(mavlink.MAVLink_command_long_message(1, 1, 400, 0, 1, 0, 0, 0, 0, 0, 0))
    assert (await gcs.expect("COMMAND_ACK", lambda m: m.command == 400)).result == 0
    truth = await vehicle.truth()
    assert truth["link"]["garbage"] - before == 5 and truth["armed"]
    assert (await gcs.expect("HEARTBEAT")).base_mode & 128
