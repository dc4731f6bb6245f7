"""The same sorties against real PX4 SITL (SIH), when a PX4 build is given.

Set ``OUTRIDER_PX4_BUILD`` to a PX4 build directory (``build/px4_sitl_default``) to run them;
PX4 runs in real time, so these are slow.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.agent import EdgeAgent
from sim.broker import LocalBroker
from sim.px4 import PX4_BUILD_ENV, Px4Sitl
from tests.edge.conftest import Listener
from tests.edge.helpers import (
    FULL_SORTIE,
    HOME,
    HOME_AMSL,
    RETURN_HOME,
    command,
    dispatch,
    edge_config,
    near,
    running_agent,
    send,
    sim_dock,
)

pytestmark = [
    pytest.mark.px4,
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        not os.environ.get(PX4_BUILD_ENV),
        reason=f"no PX4 SITL build: set {PX4_BUILD_ENV} to a PX4 build directory to run",
    ),
]


def _free_instance() -> int:
    """A PX4 instance number whose three UDP ports are all free here.

    PX4 SITL sends every instance above 9 to the same port (14549), so only 1-9 are usable.
    """
    for instance in range(9, 0, -1):
        try:
            for base in (14540, 14580, 18570):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", base + instance))
        except OSError:
            continue
        return instance
    raise RuntimeError("no free PX4 instance ports")


@contextlib.asynccontextmanager
async def px4_dock(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> AsyncIterator[tuple[EdgeAgent, Px4Sitl]]:
    px4 = Px4Sitl(
        Path(os.environ[PX4_BUILD_ENV]), instance=_free_instance(), home=(HOME, HOME_AMSL)
    )
    async with px4:
        config = edge_config(
            broker,
            tmp_path,
            vehicle_url=px4.url,
            vehicle={"connect_timeout_s": 60.0, "params": {}},
            flight={"transit_alt_m": 25, "cruise_mps": 10},
        )
        async with running_agent(config, dock=sim_dock(None, charge_pct_per_s=100.0)) as agent:
            await listener.wait(lambda: agent.vehicle.state.armable, 120, "PX4 armable")
            yield agent, px4


async def test_px4_flies_a_whole_sortie_with_the_orbit_as_a_portable_mission(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with px4_dock(broker, listener, tmp_path) as (agent, _):
        ack = await send(listener, dispatch(near(0.3), duration_s=10))
        assert ack["ok"], ack
        await listener.event("docked", 600)
        assert listener.event_types()[: len(FULL_SORTIE) - 2] == FULL_SORTIE[:-2]
        assert agent.vehicle.state.distance_to(HOME) < 5.0


async def test_px4_comes_home_on_recall(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    async with px4_dock(broker, listener, tmp_path):
        assert (await send(listener, dispatch(near(0.5), duration_s=120)))["ok"]
        await listener.event("en_route", 120)
        assert (await send(listener, command("recall")))["ok"]
        await listener.event("docked", 600)
        types = listener.event_types()
        assert types[types.index("recalled") :][: 2 + len(RETURN_HOME)] == [
            "recalled", "returning", *RETURN_HOME
        ]  # fmt: skip
