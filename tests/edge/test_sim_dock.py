"""The sim dock: the lid takes its time, a jammed lid is a coded fault, the charger feeds."""

from __future__ import annotations

import asyncio

import pytest

from edge.dock import DockError
from sim.dock import SimDock


async def test_the_lid_reports_moving_then_open_then_closed() -> None:
    async with SimDock(lid_time_s=0.2) as dock:
        assert dock.status().lid == "closed"
        opening = asyncio.get_running_loop().create_task(dock.open_lid(5))
        await asyncio.sleep(0.05)
        assert dock.status().lid == "opening"
        await opening
        assert dock.status().lid == "open"
        await dock.close_lid(5)
        assert dock.status().lid == "closed"


async def test_a_jammed_lid_fails_with_a_code_instead_of_hanging() -> None:
    async with SimDock(lid_time_s=0.1) as dock:
        dock.jam_lid()
        with pytest.raises(DockError) as info:
            await dock.open_lid(0.3)
        assert info.value.code == "dock_not_ready" and dock.status().lid == "unknown"


async def test_the_charger_feeds_the_battery_only_while_on() -> None:
    fed: list[float] = []

    async def feed(pct: float) -> None:
        fed.append(pct)

    async with SimDock(charge_pct_per_s=10.0, charge=feed) as dock:
        await dock.set_charging(True)
        assert dock.status().charging
        await asyncio.sleep(0.65)
        await dock.set_charging(False)
        total = sum(fed)
        await asyncio.sleep(0.3)
        assert 4.0 <= total <= 8.0 and sum(fed) == total


async def test_tests_script_the_wind_the_sensor_reads() -> None:
    async with SimDock() as dock:
        dock.set_wind(14.0, 250)
        assert dock.status().wind_mps == 14.0 and dock.status().wind_from_deg == 250
        dock.set_wind(None)
        assert dock.wind() is None and dock.status().wind_mps is None
