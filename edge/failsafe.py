"""The edge's own failsafes, on top of the autopilot's, checked on every telemetry update.

While the vehicle is in the air the monitor raises an interrupt when:

- **battery**: the charge left is short of what the energy model says getting home from here
  needs, plus the reserve (less a margin) → return; when even getting home is out of reach →
  land where it is;
- **geofence**: farther from the dock than the range limit plus its slack → return;
- **no-fly**: inside a no-fly zone → return;
- **ceiling**: higher than the ceiling above ground → return;
- **autopilot mode**: the autopilot switched to a mode the current leg did not command (its
  own failsafe, e.g. return or land on low battery) → the runner follows it; and when the
  vehicle is already on the ground on the way out (the autopilot landed it faster than the
  mode grace), the runner finishes the landing where it is;
- **GPS**: the fix lost in the air → the runner follows the autopilot's landing where it is
  (it can fly nowhere else without a position), with the reason on record;
- **vehicle link**: no MAVLink for ``vehicle.link_lost_s`` → ``vehicle_link_lost``;
- **broker**: no broker for ``failsafe.broker_lost_s`` while the policy is ``return``.

Each reason fires once per sortie (the link loss once per outage).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence

from edge.airspace import NoFlyZone, blocked_by, plan_route
from edge.config import EdgeConfig
from edge.energy import Wind
from edge.errors import LinkLostError
from edge.flight.vehicle import Vehicle, VehicleState
from edge.geo import LatLon, distance_m
from edge.protocol import Phase
from edge.sortie.interrupts import Failsafe, Interrupt, LinkLost
from edge.sortie.machine import SortieMachine
from edge.sortie.pilot import Leg

__all__ = ["FailsafeMonitor"]

logger = logging.getLogger(__name__)

GOING_HOME = (Phase.RETURNING, Phase.LANDING, Phase.FAILSAFE)
OUTBOUND = (Phase.EN_ROUTE, Phase.ON_SCENE)
MIN_GPS_FIX = 2  # MAVLink fix type: 0 no GPS, 1 no fix, 2 2D, 3 3D


class FailsafeMonitor:
    """Watches telemetry while airborne and hands the runner an interrupt when a limit is hit.

    Args:
        config: the edge configuration.
        machine: the sortie state machine (read only: phase).
        vehicle: the vehicle whose telemetry is watched.
        zones: no-fly zones.
        interrupt: hands an interrupt to the runner.
        leg: the leg being flown now (for the modes it commanded).
        wind: the latest wind reading.
        broker_down_s: seconds the broker has been unreachable.
    """

    def __init__(
        self,
        config: EdgeConfig,
        machine: SortieMachine,
        vehicle: Vehicle,
        zones: Sequence[NoFlyZone],
        interrupt: Callable[[Interrupt], None],
        leg: Callable[[], Leg | None],
        wind: Callable[[], Wind | None],
        broker_down_s: Callable[[], float],
    ) -> None:
        self.config = config
        self.machine = machine
        self.vehicle = vehicle
        self.zones = zones
        self.interrupt = interrupt
        self.leg = leg
        self.wind = wind
        self.broker_down_s = broker_down_s
        self.home = LatLon(config.dock.home.lat, config.dock.home.lon)
        self.model = config.energy_model()
        self._fired: set[str] = set()
        self._mismatch_since: float | None = None
        self._last_check = -math.inf
        self._had_fix = False

    async def run(self) -> None:
        """Watch until cancelled."""
        loop = asyncio.get_running_loop()
        silent = False
        while True:
            quiet = self.config.vehicle.link_lost_s
            try:
                state = await self.vehicle.next_state(quiet)
                stale = loop.time() - state.heard_at > quiet or not state.connected
            except LinkLostError:
                stale = True
            if stale:
                if self.machine.airborne and not silent:
                    silent = True
                    self.interrupt(LinkLost(quiet))
                continue
            silent = False
            if not self.machine.airborne:
                self._fired.clear()
                self._mismatch_since = None
                continue
            now = loop.time()
            if now - self._last_check < 1.0 / self.config.failsafe.check_hz:
                continue
            self._last_check = now
            for failsafe in self.check(state, now):
                key = failsafe.reason
                if key not in self._fired:
                    self._fired.add(key)
                    logger.warning("%s: failsafe %s %s", self.machine.dock_id, key, failsafe.detail)

                    self.interrupt(failsafe)

    def check(self, state: VehicleState, now: float) -> list[Failsafe]:
        """Every failsafe that applies to ``state`` (pure apart from the mode-grace timer)."""
        out: list[Failsafe] = []
        phase = self.machine.phase
        if not state.in_air:
            return self._landed_outbound(state, phase) if state.in_air_known else out
        if state.gps_fix >= MIN_GPS_FIX:
            self._had_fix = True  # a fix seen by this process: its loss is news, not start-up
        elif self._had_fix and phase is not Phase.LANDING:
            out.append(Failsafe("gps_lost", action="land", detail={"gps_fix": state.gps_fix}))
        here = state.position
        if phase not in GOING_HOME and here is not None:
            out += self._battery(state, here)
            far = distance_m(self.home, here)
            limit = self.config.limits.max_range_m + self.config.limits.geofence_margin_m
            if far > limit:
                detail = {"distance_m": round(far), "limit_m": limit}
                out.append(Failsafe("geofence", detail=detail))
            zone = blocked_by(here, self.zones)
            if zone is not None:
                out.append(Failsafe("no_fly_breach", detail={"zone": zone.name}))
            if (state.alt_rel_m or 0.0) > self.config.ceiling_rel_m + 5.0:
                out.append(Failsafe("above_ceiling", detail={"alt_rel_m": state.alt_rel_m}))
            if (
                self.config.failsafe.broker_lost == "return"
                and self.broker_down_s() > self.config.failsafe.broker_lost_s
            ):
                out.append(Failsafe("broker_lost", detail={"down_s": round(self.broker_down_s())}))
        out += self._mode(state, now)
        return out

    def _landed_outbound(self, state: VehicleState, phase: Phase) -> list[Failsafe]:
        """On the ground while flying out: the autopilot landed it; the runner must see that."""
        leg = self.leg()
        if phase not in OUTBOUND or leg is None:
            return []
        detail = {"mode": state.flight_mode, "leg": leg.name, "landed": True}
        return [Failsafe("autopilot_mode", action="land", detail=detail)]

    def _battery(self, state: VehicleState, here: LatLon) -> list[Failsafe]:
        if state.battery_pct is None:
            return []
        route = plan_route(here, self.home, self.zones, margin_m=self.config.airspace.margin_m)
        wind = self.wind() or Wind()
        leg = self.model.return_home(route or [here, self.home], state.alt_rel_m or 0.0, wind)
        needed = self.model.airframe.pct(leg.energy_wh) if math.isfinite(leg.energy_wh) else 100.0
        threshold = (
            needed + self.config.limits.reserve_pct - self.config.failsafe.battery_margin_pct
        )
        if state.battery_pct >= threshold:
            return []
        detail = {"battery_pct": round(state.battery_pct, 1), "needed_pct": round(needed, 1)}
        if state.battery_pct >= needed:
            return [Failsafe("battery_low", action="return", detail=detail)]
        return [Failsafe("battery_critical", action="land", detail=detail)]

    def _mode(self, state: VehicleState, now: float) -> list[Failsafe]:
        leg = self.leg()
        if leg is None or not leg.modes or state.flight_mode in leg.modes:
            self._mismatch_since = None
            return []
        if self._mismatch_since is None:
            self._mismatch_since = now
            return []
        if now - self._mismatch_since < self.config.vehicle.mode_timeout_s + 1.0:
            return []
        self._mismatch_since = None
        self._fired.discard("autopilot_mode")  # each take-over is its own event
        return [Failsafe("autopilot_mode", detail={"mode": state.flight_mode, "leg": leg.name})]
