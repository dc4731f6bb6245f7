"""The fault matrix as data: each fault, the phase it strikes in, and what must come of it.

A :class:`Case` is one cell of the matrix (fault by phase). The faults are coroutines on the
:class:`~tests.faults.rig.Rig`; what each must lead to (the vehicle home or landed away, the
events that must appear) is in :data:`FAULTS`. ``NORMAL`` names the cells the normal suite
runs: the restarts, a cellular loss and a GPS loss (a broker outage, a MAVLink cut and a
battery sag in transit are flown in the normal suite by ``tests/edge/test_failures.py``); the
rest run with ``make test-slow``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.dispatch.conftest import wait_for
from tests.faults.rig import Rig

__all__ = ["CASES", "FAULTS", "NORMAL", "PHASES", "Case", "Fault"]

PHASES = ("en_route", "on_scene", "returning")
Ending = Literal["dock", "away"]


async def broker_restart(rig: Rig) -> None:
    """The broker goes down for 2 s and comes back on the same port."""
    await rig.restart_broker(down_s=2.0)


async def dispatch_restart(rig: Rig) -> None:
    """Dispatch stops cleanly, stays down 2 s, and a new instance starts on the same store."""
    sortie_id = next(e["sortie_id"] for e in rig.listener.events() if e["sortie_id"])
    await rig.restart_dispatch(down_s=2.0)

    def rebuilt() -> bool:  # from the retained state, before the dock says anything new
        view = rig.dispatch.runtime.fleet.get("dock-01")
        return bool(view and view.state and view.state.sortie_id == sortie_id)

    await wait_for(rebuilt, limit_s=2.0, every=0.02)


async def edge_restart(rig: Rig) -> None:
    """The edge process is killed (SIGKILL) and started again on the same state directory."""
    await rig.restart_edge()
    await rig.listener.event("resumed", 60)


def _mavlink_cut(seconds: float) -> Callable[[Rig], Awaitable[None]]:
    async def cut(rig: Rig) -> None:
        """MAVLink between edge and vehicle silent both ways for ``seconds``."""
        await rig.vehicle.inject(f"link_loss:{seconds:g}")
        await rig.listener.event("vehicle_link_lost", 15)
        await rig.listener.event("vehicle_link_restored", seconds + 30)

    return cut


async def cellular(rig: Rig) -> None:
    """An LTE link between edge and broker: delay and jitter, 2 s of total loss, a 3 s cut."""
    proxy = rig.proxy
    assert proxy is not None
    proxy.conditions.delay_s, proxy.conditions.jitter_s = 0.3, 0.3
    proxy.stall()
    await asyncio.sleep(2.0)  # the loss itself lasts this long
    proxy.stall(False)
    await proxy.outage(3.0)


async def battery_sag(rig: Rig) -> None:
    """The battery drops to 22 %: not enough to stay out, enough to get home."""
    await rig.vehicle.inject("battery_sag", to_pct=22)


async def gps_loss(rig: Rig) -> None:
    """No GPS fix from now on: the autopilot lands where it is."""
    await rig.vehicle.inject("gps_loss")


@dataclass(frozen=True)
class Fault:
    """A fault, how the rig must be built for it, and what each phase must end with."""

    name: str
    inject: Callable[[Rig], Awaitable[None]]
    label: str
    rig: dict[str, Any] = field(default_factory=dict)
    ending: Callable[[str], Ending] = lambda phase: "dock"
    must_see: Callable[[str], tuple[str, ...]] = lambda phase: ()
    full_sortie: bool = False


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("broker_restart", broker_restart, "broker down 2 s, restarted", full_sortie=True),
        Fault(
            "dispatch_restart",
            dispatch_restart,
            "dispatch stopped, down 2 s, a new instance on the same store",
            full_sortie=True,
        ),
        Fault(
            "edge_restart",
            edge_restart,
            "edge process killed (SIGKILL) and started again",
            rig={"edge_process": True},
            must_see=lambda phase: ("resumed",),
        ),
        Fault(
            "mavlink_cut_5s",
            _mavlink_cut(5),
            "MAVLink silent both ways for 5 s",
            must_see=lambda phase: ("vehicle_link_lost", "vehicle_link_restored"),
        ),
        Fault(
            "mavlink_cut_60s",
            _mavlink_cut(60),
            "MAVLink silent both ways for 60 s",
            must_see=lambda phase: ("vehicle_link_lost", "vehicle_link_restored"),
        ),
        Fault(
            "cellular_loss",
            cellular,
            "edge to broker through a proxy: 0.3-0.6 s delay, 2 s total loss, 3 s cut",
            rig={"proxy": True},
            full_sortie=True,
        ),
        Fault(
            "battery_sag",
            battery_sag,
            "battery drops to 22 %",
            must_see=lambda phase: () if phase == "returning" else ("failsafe",),
        ),
        Fault(
            "gps_loss",
            gps_loss,
            "no GPS fix from then on",
            ending=lambda phase: "away",
            must_see=lambda phase: ("failsafe",),
        ),
    )
}


@dataclass(frozen=True)
class Case:
    """One cell of the fault matrix."""

    fault: str
    phase: str

    @property
    def id(self) -> str:
        return f"{self.fault}-{self.phase}"

    @property
    def spec(self) -> Fault:
        return FAULTS[self.fault]


CASES = [Case(fault, phase) for fault in FAULTS for phase in PHASES]
NORMAL = {
    Case("cellular_loss", "en_route"),
    Case("dispatch_restart", "on_scene"),
    Case("edge_restart", "en_route"),
    Case("gps_loss", "en_route"),
}
