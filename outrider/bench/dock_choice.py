"""Dock choice among many docks: time of one ``choose`` call, in milliseconds."""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from dispatch.choice import Chooser, Mission
from dispatch.fleet import Fleet
from edge.geo import LatLon, destination
from edge.protocol import Availability, DockStatus, Limits, Phase, Position, State, Telemetry

CENTRE = LatLon(51.5074, -0.1278)
LIMITS = Limits(
    max_range_m=6000,
    reserve_pct=20,
    ceiling_m=120,
    wind_limit_mps=12,
    transit_alt_m=60,
    cruise_mps=15,
    climb_mps=3,
    descent_mps=2,
    launch_overhead_s=20,
)


def docked_telemetry(dock_id: str, at: LatLon, battery_pct: float) -> Telemetry:
    """The telemetry of a drone sitting in its dock at ``at``."""
    return Telemetry(
        dock_id=dock_id,
        lat=at.lat,
        lon=at.lon,
        alt_rel_m=0,
        alt_amsl_m=20,
        heading_deg=0,
        ground_speed_mps=0,
        battery_pct=battery_pct,
        flight_mode="HOLD",
        armed=False,
        in_air=False,
        gps_fix=3,
    )


def build_fleet(n: int, seed: int = 1) -> Fleet:
    """``n`` ready docks spread over a 40 km disc, a tenth of them busy or charging."""
    rng = random.Random(seed)
    fleet = Fleet(stale_after_s=3600)
    for i in range(n):
        home = destination(CENTRE, rng.uniform(0, 360), 20_000 * rng.random() ** 0.5)
        busy = rng.random() < 0.1
        dock_id = f"dock-{i:05d}"
        fleet.on_availability(dock_id, Availability.ONLINE)
        fleet.on_state(
            State(
                dock_id=dock_id,
                phase=Phase.CHARGING if busy else Phase.DOCKED,
                ready=not busy,
                battery_pct=rng.uniform(40, 100),
                home=Position(lat=home.lat, lon=home.lon),
                dock=DockStatus(wind_mps=rng.uniform(0, 8), wind_from_deg=rng.uniform(0, 359)),
                limits=LIMITS,
            )
        )
        fleet.on_telemetry(docked_telemetry(dock_id, home, rng.uniform(40, 100)))
    return fleet


def run(n: int, samples: int = 300, seed: int = 2) -> dict[str, Any]:
    """Choose among ``n`` docks for ``samples`` random targets; latency figures in ms."""
    fleet = build_fleet(n)
    chooser = Chooser(fleet)
    rng = random.Random(seed)
    times, found = [], 0
    for _ in range(samples):
        target = destination(CENTRE, rng.uniform(0, 360), 15_000 * rng.random() ** 0.5)
        mission = Mission(target, on_scene_s=300)
        start = time.perf_counter()
        options = chooser.choose(mission, k=3)
        times.append((time.perf_counter() - start) * 1000)
        found += bool(options)
    start = time.perf_counter()
    chooser.reasons(Mission(CENTRE, on_scene_s=300))
    every_ms = (time.perf_counter() - start) * 1000
    cuts = statistics.quantiles(times, n=100)
    return {
        "docks": n,
        "p50_ms": round(cuts[49], 2),
        "p99_ms": round(cuts[98], 2),
        "max_ms": round(max(times), 2),
        "targets_served": f"{found}/{samples}",
        "assess_every_dock_ms": round(every_ms, 1),
    }
