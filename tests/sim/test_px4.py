"""The same MAVSDK scenarios against real PX4 SITL (SIH) and the sim vehicle, side by side.

Runs when ``OUTRIDER_PX4_BUILD`` names a PX4 build directory (with ``bin/px4`` and ``etc/``);
both autopilots fly each scenario at the same time, in real time, with the dock parameters, and
what MAVSDK saw must agree: the same modes, refusals and texts, positions within metres and
durations within a third.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from edge.geo import LatLon
from sim.mavsdk_pilot import Pilot
from sim.px4 import DOCK_PARAMS, PX4_BUILD_ENV, Px4Sitl
from sim.vehicle import launch
from tests.sim.scenarios import SCENARIOS, Observed, Scenario

pytestmark = [
    pytest.mark.px4,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        not os.environ.get(PX4_BUILD_ENV),
        reason=f"{PX4_BUILD_ENV} names no PX4 SITL build directory to compare the sim with",
    ),
]

HOME = LatLon(47.397742, 8.545594)
HOME_ALT = 489.4
INSTANCE = int(os.environ.get("OUTRIDER_PX4_INSTANCE", "5"))  # 0..9: MAVSDK port 14540+N
PX4_ONLY = {"SDLOG_BACKEND": 0}  # no flight logs (SDLOG_MODE -1 no longer stops them)


async def fly(pilot_url: str, scenario: Scenario) -> Observed:
    async with Pilot(pilot_url, timeout_s=60) as pilot:
        await pilot.wait_healthy(timeout_s=60)
        return await scenario(pilot, HOME)


async def fly_both(scenario: Scenario) -> tuple[Observed, Observed]:
    """PX4 is started first (it takes seconds), then both fly the scenario at once."""
    build = Path(os.environ[PX4_BUILD_ENV])
    sim_home = (HOME.lat, HOME.lon, HOME_ALT)
    async with (
        Px4Sitl(build, instance=INSTANCE, home=(HOME, HOME_ALT), params=PX4_ONLY) as px4,
        launch(home=sim_home, speed_factor=1.0, params=DOCK_PARAMS) as sim,
        asyncio.TaskGroup() as tg,
    ):
        on_px4 = tg.create_task(fly(px4.url, scenario))
        on_sim = tg.create_task(fly(sim.url, scenario))
    return on_px4.result(), on_sim.result()


def agree(key: str, px4: Any, sim: Any) -> bool:
    """Same value; or for durations (``_s``) within a third, for distances (``_m``) within
    5 m or a fifth."""
    if isinstance(px4, bool | str):
        return bool(px4 == sim)
    if key.endswith("_s"):
        return abs(px4 - sim) <= max(3.0, abs(px4) / 3.0)
    if key.endswith("_m"):
        return abs(px4 - sim) <= max(5.0, abs(px4) / 5.0)
    return bool(px4 == sim)


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_the_sim_flies_the_scenario_as_px4_sitl_does(name: str) -> None:
    px4, sim = await fly_both(SCENARIOS[name])
    report = {k: (px4[k], sim.get(k)) for k in px4}
    differ = {k: v for k, v in report.items() if not agree(k, *v)}
    print(f"{name}: PX4 vs sim {report}")  # the figures, for pytest -s
    assert not differ, f"PX4 vs sim differ in {differ} (all: {report})"
