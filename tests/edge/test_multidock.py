"""Several docks on one broker and one machine: each flies its own vehicle, nothing crosses."""

from __future__ import annotations

import contextlib
from pathlib import Path

from edge.config import load_config
from edge.geo import LatLon
from sim.broker import LocalBroker
from tests.edge.conftest import Listener
from tests.edge.helpers import (
    CONFIGS,
    FULL_SORTIE,
    dispatch,
    dock_with_vehicle,
    near,
    send,
    sim_vehicle,
    truth_at_home,
)

DOCKS = ["dock-01", "dock-02", "dock-03"]


async def test_three_docks_fly_three_sorties_at_once(
    broker: LocalBroker, listener: Listener, tmp_path: Path
) -> None:
    homes = {}
    for dock_id in DOCKS:
        home = load_config(CONFIGS / f"{dock_id}.toml").dock.home
        homes[dock_id] = LatLon(home.lat, home.lon)
    async with contextlib.AsyncExitStack() as stack:
        vehicles = {}
        for n, dock_id in enumerate(DOCKS):
            vehicles[dock_id] = await stack.enter_async_context(
                sim_vehicle(homes[dock_id], instance=n)
            )
        for dock_id in DOCKS:
            await stack.enter_async_context(
                dock_with_vehicle(
                    broker,
                    listener,
                    vehicles[dock_id],
                    tmp_path / dock_id,
                    home=homes[dock_id],
                    dock_id=dock_id,
                )
            )
        acks = []
        for dock_id in DOCKS:
            target = near(0.8, bearing=200, home=homes[dock_id])
            acks.append(
                await send(listener, dispatch(target, dock_id=dock_id, incident=f"I-{dock_id}"))
            )
        assert all(a["ok"] for a in acks), acks
        assert len({a["sortie_id"] for a in acks}) == 3
        for dock_id in DOCKS:
            await listener.event("ready", 180, dock=dock_id)
        for dock_id, ack in zip(DOCKS, acks, strict=True):
            events = listener.events(dock_id)
            assert [e["type"] for e in events] == FULL_SORTIE
            assert {e["incident_id"] for e in events[:-1]} == {f"I-{dock_id}"}
            assert {e["sortie_id"] for e in events[:-1]} == {ack["sortie_id"]}
            await truth_at_home(vehicles[dock_id], homes[dock_id])
