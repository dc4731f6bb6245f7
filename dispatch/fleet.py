"""The fleet as dispatch sees it: each dock's availability, state, telemetry and detections.

Fed by MQTT messages (see :mod:`dispatch.ingest`); kept in memory, rebuilt from retained
messages after a restart. Besides one :class:`DockView` per dock, the fleet keeps column
arrays (home position, range, readiness, last heard) so dock choice can screen thousands of
docks at once. A dock whose availability is ``offline`` or whose telemetry stopped is
*stale*: shown as such and never chosen.

``availability`` is plain text (it is the broker's last will, so the dock cannot sign it):
anyone holding the dock's broker password could say ``offline`` for it. Telemetry, which
only the dock can sign, outweighs it: a dock heard after its ``offline`` is online.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from edge.patterns.geometry import farthest_stand_off_m
from edge.protocol import Availability, DetectedObject, Detections, Phase, State, Telemetry

__all__ = ["DockView", "Fleet", "Track"]

IDLE_PHASES = frozenset({Phase.DOCKED, Phase.CHARGING})
AIRBORNE_PHASES = frozenset(
    {Phase.LAUNCHING, Phase.EN_ROUTE, Phase.ON_SCENE, Phase.RETURNING, Phase.LANDING}
)
TRAIL_POINTS = 300
MAX_TRACKS = 500
Floats = npt.NDArray[np.float64]


@dataclass
class Track:
    """The latest sighting of one tracked object in one sortie."""

    sortie_id: str | None
    obj: DetectedObject
    t: datetime


@dataclass
class DockView:
    """Everything dispatch knows about one dock."""

    dock_id: str
    index: int
    first_seen: float
    availability: Availability | None = None
    availability_at: float = 0.0
    state: State | None = None
    telemetry: Telemetry | None = None
    last_telemetry: float | None = None
    trail: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=TRAIL_POINTS))
    tracks: dict[tuple[str | None, int], Track] = field(default_factory=dict)
    charge_pct_per_s: float | None = None  # seen while charging in the dock
    last_battery: tuple[float, float] | None = None  # (monotonic s, percent) on the ground

    @property
    def online(self) -> Availability | None:
        """The dock's availability, where telemetry heard after an ``offline`` outweighs it."""
        heard = self.last_telemetry
        if (
            self.availability is Availability.OFFLINE
            and heard is not None
            and heard > self.availability_at
        ):
            return Availability.ONLINE
        return self.availability

    def stale_reason(self, now: float, stale_after_s: float) -> str | None:
        """Why this dock cannot be trusted now, or ``None`` when it can."""
        if self.online is Availability.OFFLINE:
            return "dock reports offline"
        if self.availability is None:
            return "dock has not reported availability"
        heard = self.last_telemetry if self.last_telemetry is not None else self.first_seen
        age = now - heard
        if age > stale_after_s:
            what = "no telemetry" if self.last_telemetry is None else "telemetry stopped"
            return f"{what} for {age:.1f} s (limit {stale_after_s:g} s)"
        return None

    @property
    def battery_pct(self) -> float | None:
        if self.telemetry is not None:
            return self.telemetry.battery_pct
        return self.state.battery_pct if self.state else None

    @property
    def eligible(self) -> bool:
        """Online, ready, idle and with published limits (staleness aside)."""
        s = self.state
        return (
            self.online is Availability.ONLINE
            and s is not None
            and s.ready
            and s.limits is not None
            and s.sortie_id is None
            and s.phase in IDLE_PHASES
        )


class Fleet:
    """All docks, by id, plus column arrays for fast screening.

    Args:
        stale_after_s: telemetry older than this makes a dock stale.
        clock: monotonic seconds (tests may pass their own).
    """

    def __init__(self, stale_after_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.stale_after_s = stale_after_s
        self.clock = clock
        self._docks: dict[str, DockView] = {}
        self._ids: list[str] = []
        n = 64
        self.home_lat: Floats = np.zeros(n)
        self.home_lon: Floats = np.zeros(n)
        self.range_m: Floats = np.zeros(n)
        self.overhead_s: Floats = np.zeros(n)
        self.speed_ub: Floats = np.ones(n)
        self.climb_mps: Floats = np.ones(n)
        self.transit_alt_m: Floats = np.zeros(n)
        self.stand_off_ub_m: Floats = np.zeros(n)
        self.heard: Floats = np.full(n, -np.inf)
        self.eligible: npt.NDArray[np.bool_] = np.zeros(n, dtype=bool)
        self.listeners: list[Callable[[DockView], None]] = []

    def _changed(self, view: DockView) -> None:
        """Tell the listeners (the incident queue) that a dock may be able to take more now."""
        for listener in self.listeners:
            listener(view)

    def eligible_ids(self) -> set[str]:
        """Docks online, ready and idle (staleness aside)."""
        n = len(self._ids)
        return {self._ids[i] for i in np.flatnonzero(self.eligible[:n]).tolist()}

    def any_eligible(self) -> bool:
        """Whether any dock is online, ready and idle (staleness aside)."""
        return bool(self.eligible[: len(self._ids)].any())

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[DockView]:
        return iter(self._docks.values())

    def get(self, dock_id: str) -> DockView | None:
        return self._docks.get(dock_id)

    def at(self, index: int) -> DockView:
        return self._docks[self._ids[index]]

    def _grow(self) -> None:
        n = len(self.home_lat) * 2
        for name in (
            "home_lat",
            "home_lon",
            "range_m",
            "overhead_s",
            "transit_alt_m",
            "stand_off_ub_m",
        ):
            setattr(self, name, np.resize(getattr(self, name), n))
        self.speed_ub = np.concatenate([self.speed_ub, np.ones(n // 2)])
        self.climb_mps = np.concatenate([self.climb_mps, np.ones(n // 2)])
        self.heard = np.concatenate([self.heard, np.full(n // 2, -np.inf)])
        self.eligible = np.concatenate([self.eligible, np.zeros(n // 2, dtype=bool)])

    def dock(self, dock_id: str) -> DockView:
        """The view of ``dock_id``, created on first sight."""
        view = self._docks.get(dock_id)
        if view is None:
            if len(self._ids) == len(self.home_lat):
                self._grow()
            view = DockView(dock_id, len(self._ids), self.clock())
            self._docks[dock_id] = view
            self._ids.append(dock_id)
            self.heard[view.index] = view.first_seen
        return view

    def _refresh(self, view: DockView) -> None:
        i, s = view.index, view.state
        self.eligible[i] = view.eligible
        if s is None:
            return
        self.home_lat[i], self.home_lon[i] = s.home.lat, s.home.lon
        if s.limits is not None:
            wind = s.dock.wind_mps or 0.0
            self.range_m[i] = s.limits.max_range_m
            self.overhead_s[i] = s.limits.launch_overhead_s
            self.speed_ub[i] = s.limits.cruise_mps + wind
            self.climb_mps[i] = s.limits.climb_mps
            self.transit_alt_m[i] = s.limits.transit_alt_m
            self.stand_off_ub_m[i] = farthest_stand_off_m(s.limits.camera_hfov_deg)

    def on_availability(self, dock_id: str, availability: Availability) -> None:
        view = self.dock(dock_id)
        view.availability = availability
        view.availability_at = self.clock()
        self._refresh(view)
        self._changed(view)

    def on_state(self, state: State) -> None:
        view = self.dock(state.dock_id)
        view.state = state
        self._refresh(view)
        self._changed(view)

    def on_telemetry(self, tel: Telemetry) -> None:
        view = self.dock(tel.dock_id)
        now = self.clock()
        view.telemetry = tel
        view.last_telemetry = now
        self.heard[view.index] = now
        if view.availability is Availability.OFFLINE:
            self.eligible[view.index] = view.eligible  # heard after its offline: online again
        if tel.in_air:
            view.trail.append((tel.lat, tel.lon))
            view.last_battery = None
        elif self._charged(view, tel.battery_pct, now):
            self._changed(view)  # a whole percent more: a mission needing it may go now

    @staticmethod
    def _charged(view: DockView, battery: float, now: float) -> bool:
        """Learn the dock's charge rate; whether the charge passed a whole percent."""
        last = view.last_battery
        if last is None or battery != last[1]:  # measured from change to change, not per message
            view.last_battery = (now, battery)
        if last is None:
            return False
        dt, gained = now - last[0], battery - last[1]
        if dt > 0 and gained > 0 and view.state is not None and view.state.dock.charging:
            rate = gained / dt
            old = view.charge_pct_per_s
            view.charge_pct_per_s = rate if old is None else 0.8 * old + 0.2 * rate
        return int(battery) != int(last[1])

    def on_detections(self, det: Detections) -> list[DetectedObject]:
        """Remember the latest sighting per track; returns objects with a new track id."""
        view = self.dock(det.dock_id)
        new = []
        for obj in det.objects:
            if obj.track_id is None:
                continue
            key = (det.sortie_id, obj.track_id)
            if key not in view.tracks:
                new.append(obj)
                if len(view.tracks) >= MAX_TRACKS:
                    view.tracks.pop(next(iter(view.tracks)))
            view.tracks[key] = Track(det.sortie_id, obj, det.t)
        return new

    def stale_mask(self) -> npt.NDArray[np.bool_]:
        """True for docks whose telemetry is too old (availability checked separately)."""
        n = len(self._ids)
        return np.asarray((self.clock() - self.heard[:n]) > self.stale_after_s)
