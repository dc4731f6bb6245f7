"""Fixtures of the sim vehicle tests: a vehicle in a child process and a MAVSDK pilot on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from edge.geo import LatLon
from sim.mavsdk_pilot import Pilot
from sim.vehicle import SimVehicleProcess, launch

HOME = LatLon(47.397742, 8.545594)
HOME_ALT = 489.4
SPEED = 20.0  # simulated seconds per wall second in these tests


@pytest.fixture
async def vehicle() -> AsyncIterator[SimVehicleProcess]:
    """A sim vehicle at PX4's default home, twenty times faster than real time."""
    async with launch(home=(HOME.lat, HOME.lon, HOME_ALT), speed_factor=SPEED) as v:
        yield v


@pytest.fixture
async def pilot(vehicle: SimVehicleProcess) -> AsyncIterator[Pilot]:
    """MAVSDK connected to ``vehicle`` with its health checks passed."""
    async with Pilot(vehicle.url, timeout_s=20) as p:
        await p.wait_healthy()
        yield p
