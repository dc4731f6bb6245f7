"""The flight script of a sortie: launch from the dock, then one leg at a time until docked.

Each leg is a small coroutine that commands the vehicle, waits on its telemetry for the leg's
end, makes the phase transition, and returns the next leg (``None`` when the sortie is over).
Legs never decide what an interrupt means: the runner does, and picks the next leg.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from edge.airspace import NoFlyZone, plan_route
from edge.config import EdgeConfig
from edge.dock import Dock, DockError
from edge.errors import FlightError
from edge.feasibility import SortiePlan
from edge.flight.mission import MissionPlan
from edge.flight.vehicle import FlightMode, Vehicle, VehicleState
from edge.geo import LatLon, distance_m
from edge.protocol import EventType, GeoPoint, Phase
from edge.sortie.interrupts import Failsafe, Interrupt
from edge.sortie.machine import SortieMachine
from edge.sortie.missions import TransitMission, return_mission, transit_mission

__all__ = ["Leg", "Pilot"]

logger = logging.getLogger(__name__)

AT_DOCK_M = 10.0
OVER_DOCK_M = 30.0
LIFT_OFF_M = 1.0
DISARM_WAIT_S = 10.0
LINK_WAIT_S = 6 * 3600.0


@dataclass(frozen=True)
class Leg:
    """One part of the flight: a name, the coroutine that flies it, the modes it commands."""

    name: str
    fly: Callable[[], Coroutine[Any, Any, Leg | None]]
    modes: frozenset[str] = field(default_factory=frozenset)


class Pilot:
    """Flies the legs of a sortie through the :class:`Vehicle` and the :class:`Dock`."""

    def __init__(
        self,
        config: EdgeConfig,
        machine: SortieMachine,
        vehicle: Vehicle,
        dock: Dock,
        zones: Sequence[NoFlyZone],
    ) -> None:
        self.config = config
        self.machine = machine
        self.vehicle = vehicle
        self.dock = dock
        self.zones = zones
        self.home = LatLon(config.dock.home.lat, config.dock.home.lon)
        self.plan: SortiePlan | None = None
        self.exit_phase = Phase.ABORTED  # where a landing away from the dock ends
        self.return_alt: float | None = None  # a resumed sortie's altitude

    # -- helpers --------------------------------------------------------------------------------

    @property
    def alt(self) -> float:
        if self.plan is not None:
            return self.plan.request.alt_rel_m
        return self.return_alt or self.config.flight.transit_alt_m

    def _budget_s(self, metres: float, speed: float) -> float:
        """A generous limit for covering ``metres`` at ``speed``: three times the ideal + 60 s."""
        return 3.0 * metres / speed + 60.0

    async def _wait(
        self, predicate: Callable[[VehicleState], bool], timeout_s: float, what: str
    ) -> VehicleState:
        return await self.vehicle.wait_for(predicate, timeout_s=timeout_s, what=what)

    async def _upload_and_start(self, mission: MissionPlan) -> MissionPlan:
        flown = await self.vehicle.upload(mission)
        await self.vehicle.start_mission()
        return flown

    def plan_transit(self, start: LatLon | None = None) -> TransitMission:
        """The mission out for the current plan, from ``start`` (the dock when ``None``)."""
        assert self.plan is not None
        return transit_mission(
            self.plan,
            cruise_mps=self.config.flight.cruise_mps,
            acceptance_m=self.config.flight.acceptance_m,
            start=start,
        )

    # -- the ground part of a launch -----------------------------------------------------------

    async def open_lid(self) -> None:
        await self.dock.open_lid(self.config.dock.lid_timeout_s)

    async def arm_and_take_off(self, received_at: float) -> None:
        """Arm and take off towards the transit altitude; returns once airborne."""
        loop = asyncio.get_running_loop()
        sent = loop.time()
        await self.vehicle.arm()
        self.machine.note(
            EventType.ARMED, since_command_s=round(sent - received_at, 4) if received_at else None
        )
        await self.vehicle.takeoff(self.alt)
        await self._wait(
            lambda s: s.in_air or (s.alt_rel_m or 0.0) > LIFT_OFF_M,
            self._budget_s(5, 1),
            "lift-off",
        )
        self.machine.note(EventType.AIRBORNE, alt_rel_m=self.vehicle.state.alt_rel_m)

    async def abandon_launch(self, event: EventType, reason: str) -> None:
        """Back to the dock from the ground part of a launch: disarm, close the lid."""
        if self.vehicle.state.armed and not self.vehicle.state.in_air:
            try:
                await self.vehicle.disarm()
            except FlightError as exc:
                logger.warning("disarm after an abandoned launch failed: %s", exc)
        await self._close_lid()
        self.machine.transition(Phase.DOCKED, event, reason=reason)
        self.machine.end_sortie()

    async def _close_lid(self) -> None:
        try:
            await self.dock.close_lid(self.config.dock.lid_timeout_s)
            self.machine.note(EventType.LID_CLOSED)
        except DockError as exc:
            logger.error("lid did not close: %s", exc)

    # -- legs -----------------------------------------------------------------------------------

    def climb(self, upload: asyncio.Task[MissionPlan | FlightError], tm: TransitMission) -> Leg:
        modes = frozenset({FlightMode.TAKEOFF, FlightMode.HOLD, FlightMode.MISSION})
        return Leg("climb", lambda: self._climb(upload, tm), modes)

    async def _climb(
        self, upload: asyncio.Task[MissionPlan | FlightError], tm: TransitMission
    ) -> Leg | None:
        # Straight up to the departure height, then the transit mission climbs the rest of
        # the way to the transit altitude while it cruises.
        depart = min(self.alt, self.config.flight.departure_alt_m)
        target = depart - self.config.flight.takeoff_tolerance_m
        await self._wait(
            lambda s: (s.alt_rel_m or 0.0) >= target,
            self._budget_s(depart, self.config.flight.climb_mps),
            f"climb to {depart:g} m",
        )
        flown = await upload
        if isinstance(flown, FlightError):  # the first upload failed: one more try, now
            flown = await self.vehicle.upload(tm.mission)
        await self.vehicle.start_mission()
        self.machine.transition(Phase.EN_ROUTE, EventType.EN_ROUTE, **self._route_detail())
        return self.transit(tm, flown)

    def _route_detail(self) -> dict[str, Any]:
        assert self.plan is not None
        return {
            "target": {"lat": self.plan.request.target.lat, "lon": self.plan.request.target.lon},
            "alt_rel_m": self.alt,
            "route": [[round(p.lat, 7), round(p.lon, 7)] for p in self.plan.route_out],
        }

    def transit(self, tm: TransitMission, flown: MissionPlan) -> Leg:
        return Leg("transit", lambda: self._fly_transit(tm, flown), frozenset({FlightMode.MISSION}))

    async def _fly_transit(self, tm: TransitMission, flown: MissionPlan) -> Leg | None:
        assert self.plan is not None
        arrive = tm.on_scene_item(flown)
        far = sum(
            distance_m(a, b)
            for a, b in zip(self.plan.route_out, self.plan.route_out[1:], strict=False)
        )
        scene = self.plan.request.on_scene
        target = self.plan.request.target
        near = 2 * self.config.flight.acceptance_m + scene.reach_m()
        await self._wait(
            # the index alone could be the last mission's, still reported after a retask upload
            lambda s: (
                s.distance_to(target) <= near
                or (s.mission_current >= arrive and s.distance_to(target) <= 2 * near)
            ),
            self._budget_s(far, self.config.flight.cruise_mps),
            "arrival on scene",
        )
        self.machine.transition(Phase.ON_SCENE, EventType.ON_SCENE)
        return self.on_scene()

    def retask(self, plan: SortiePlan) -> Leg:
        """Out to a new target from where the vehicle is now."""
        self.plan = plan
        self.machine.retarget(GeoPoint(lat=plan.request.target.lat, lon=plan.request.target.lon))
        return Leg("retask", self._fly_retask, frozenset({FlightMode.MISSION}))

    async def _fly_retask(self) -> Leg | None:
        here = self.vehicle.state.position
        tm = self.plan_transit(here)
        flown = await self._upload_and_start(tm.mission)
        return self.transit(tm, flown)

    def on_scene(self) -> Leg:
        return Leg("on_scene", self._fly_on_scene, frozenset({FlightMode.MISSION, FlightMode.HOLD}))

    async def _fly_on_scene(self) -> Leg | None:
        assert self.plan is not None
        await asyncio.sleep(self.plan.request.on_scene.duration_s)  # the on-scene timer itself
        self.machine.transition(Phase.RETURNING, EventType.RETURNING, reason="on_scene_complete")
        return self.go_home()

    def go_home(self) -> Leg:
        return Leg("return", self._fly_home, frozenset({FlightMode.MISSION}))

    async def _fly_home(self) -> Leg | None:
        state = self.vehicle.state
        here = state.position or self.home
        rm = return_mission(
            here,
            state.alt_rel_m or 0.0,
            self.home,
            self.zones,
            alt_rel_m=self.alt,
            cruise_mps=self.config.flight.cruise_mps,
            acceptance_m=self.config.flight.acceptance_m,
            margin_m=self.config.airspace.margin_m,
        )
        try:
            flown = await self._upload_and_start(rm.mission)
        except FlightError as exc:
            logger.warning("return mission refused (%s); using the autopilot's return", exc)
            return self.follow_return(fallback=exc.code)
        land_at = rm.land_item(flown)
        # PX4 reports the previous mission's item index for a moment after an upload, so the
        # land item counts only over the dock.
        await self._wait(
            lambda s: (
                (s.mission_current >= land_at and s.distance_to(self.home) < OVER_DOCK_M)
                or not s.in_air
            ),
            self._budget_s(distance_m(here, self.home), self.config.flight.cruise_mps),
            "arrival over the dock",
        )
        self.machine.transition(Phase.LANDING, EventType.LANDING)
        return self.landing()

    def straight_home_is_clear(self) -> bool:
        """Whether the autopilot's straight-line return would keep clear of every zone."""
        here = self.vehicle.state.position
        if here is None:
            return True
        route = plan_route(here, self.home, self.zones, margin_m=self.config.airspace.margin_m)
        return route is not None and len(route) == 2

    def follow_return(self, fallback: str | None = None) -> Leg:
        """Fly home with the autopilot's own return mode (a fallback, or its failsafe)."""

        async def fly() -> Leg | None:
            if self.vehicle.state.flight_mode != FlightMode.RETURN_TO_LAUNCH:
                await self.vehicle.return_to_launch()
            here = self.vehicle.state.position or self.home
            await self._wait(
                lambda s: s.distance_to(self.home) < AT_DOCK_M or not s.in_air,
                self._budget_s(distance_m(here, self.home) + 100, 5.0),
                "autopilot return over the dock",
            )
            if self.machine.phase is not Phase.LANDING:
                self.machine.transition(Phase.LANDING, EventType.LANDING, via="autopilot_return")
            return self.landing()

        modes = frozenset({FlightMode.RETURN_TO_LAUNCH, FlightMode.LAND})
        return Leg("autopilot_return" if fallback is None else "return_fallback", fly, modes)

    def hold(self) -> Leg:
        async def fly() -> Leg | None:
            await self.vehicle.hold()
            await asyncio.Event().wait()  # hover until an interrupt ends the leg
            return None

        return Leg("hold", fly, frozenset({FlightMode.HOLD}))

    def land_here(self) -> Leg:
        async def fly() -> Leg | None:
            await self.vehicle.land()
            if self.machine.phase is not Phase.LANDING:  # a landing that ran out of time
                self.machine.transition(Phase.LANDING, EventType.LANDING, where="here")
            return self.landing()

        return Leg("land_here", fly, frozenset({FlightMode.LAND}))

    def landing(self) -> Leg:
        return Leg("landing", self._fly_landing, frozenset({FlightMode.MISSION, FlightMode.LAND}))

    async def _fly_landing(self) -> Leg | None:
        alt = max(self.vehicle.state.alt_rel_m or 0.0, 0.0)
        await self._wait(
            lambda s: not s.in_air, self._budget_s(alt, self.config.flight.descent_mps), "touchdown"
        )
        at_dock = self.vehicle.state.distance_to(self.home) < AT_DOCK_M
        if at_dock:
            self.machine.note(EventType.LANDED, at_dock=True)
        else:
            self.machine.transition(self.exit_phase, EventType.LANDED, at_dock=False)
        await self._disarm()
        if not at_dock:
            return self.await_recovery()
        await self._close_lid()
        self.machine.transition(Phase.DOCKED, EventType.DOCKED)
        return None

    async def _disarm(self) -> None:
        try:
            await self._wait(lambda s: not s.armed, DISARM_WAIT_S, "auto-disarm")
        except FlightError:
            await self.vehicle.disarm()
            await self._wait(lambda s: not s.armed, DISARM_WAIT_S, "disarm")
        self.machine.note(EventType.DISARMED)

    def await_recovery(self) -> Leg:
        """Landed away from the dock: wait for people to put the drone back on it."""

        async def fly() -> Leg | None:
            state = await self.vehicle.wait_for(
                lambda s: s.distance_to(self.home) < AT_DOCK_M and not s.armed,
                timeout_s=7 * 24 * 3600.0,
                what="recovery to the dock",
            )
            logger.info("vehicle is back on the dock (%.1f m)", state.distance_to(self.home))
            await self._close_lid()
            self.machine.transition(Phase.DOCKED, EventType.DOCKED, recovered=True)
            return None

        return Leg("await_recovery", fly)

    def stranded(self) -> Leg:
        """Nothing the edge commands works: leave it to the autopilot and wait for touchdown."""

        async def fly() -> Leg | None:
            await self._wait(lambda s: not s.in_air, LINK_WAIT_S, "touchdown by the autopilot")
            if self.machine.allowed(Phase.LANDING):
                self.machine.transition(Phase.LANDING, EventType.LANDING, via="autopilot")
            return self.landing()

        return Leg("stranded", fly)

    def link_wait(self, prev: Leg, decide: Callable[[Leg, Interrupt], Leg | None]) -> Leg:
        """MAVLink is gone: wait for it (the autopilot's own failsafe flies), then reconcile."""
        loop = asyncio.get_running_loop()
        silence = self.config.vehicle.link_lost_s

        async def fly() -> Leg | None:
            lost_at = loop.time()
            await self._wait(
                lambda s: s.connected and loop.time() - s.heard_at < silence,
                LINK_WAIT_S,
                "MAVLink link back",
            )
            state = self.vehicle.state
            self.machine.note(
                EventType.VEHICLE_LINK_RESTORED,
                down_s=round(loop.time() - lost_at + silence, 1),
                flight_mode=state.flight_mode,
                in_air=state.in_air,
            )
            if not state.in_air:
                return self.found_on_ground("landed_during_link_loss")
            if state.flight_mode not in prev.modes:
                return decide(prev, Failsafe("autopilot_mode", detail={"mode": state.flight_mode}))
            down = loop.time() - lost_at + silence
            if down > self.config.failsafe.link_return_s and self.machine.phase not in (
                Phase.RETURNING,
                Phase.LANDING,
            ):
                return decide(prev, Failsafe("vehicle_link_lost", detail={"down_s": round(down)}))
            return prev

        return Leg("link_wait", fly)

    def found_on_ground(self, reason: str) -> Leg:
        """The vehicle is down (the autopilot landed it): finish as a landing."""
        phase = self.machine.phase
        if phase is not Phase.LANDING:
            if phase not in (Phase.ABORTED, Phase.FAILSAFE):
                self.machine.transition(Phase.FAILSAFE, EventType.FAILSAFE, reason=reason)
                self.exit_phase = Phase.FAILSAFE
            self.machine.transition(Phase.LANDING, EventType.LANDING, via="autopilot")
        return self.landing()
