"""On-scene geometry from the camera: the stand-off that keeps a person at the pin tall
enough for the detector, clear of no-fly zones, the same at the edge and at dispatch."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from shapely.geometry import Polygon

from edge.airspace import NoFlyZone
from edge.energy import Wind
from edge.feasibility import DockFigures, assess, request_for
from edge.flight.mission import Orbit, Waypoint
from edge.geo import LatLon, destination, distance_m
from edge.geoproject import CameraModel, CameraPose, Gimbal, ground_to_pixel, slant_range_m
from edge.patterns.base import Approach
from edge.patterns.geometry import (
    MIN_SCENE_AGL_M,
    PERSON_FRACTION,
    SCENE_PITCH_DEG,
    camera_pitch_deg,
    scene_agl_m,
    stand_off_m,
)
from edge.patterns.geometry import slant_range_m as slant_range_m_for
from edge.patterns.hold import HoldPattern
from edge.patterns.orbit import OrbitPattern
from edge.protocol import Limits
from edge.sortie.missions import transit_mission

HOME = LatLon(60.17162, 24.94059)
TARGET = destination(HOME, 200.0, 340.0)
LIMITS = Limits(
    max_range_m=6000, reserve_pct=20, ceiling_m=120, pad_height_m=25.0, wind_limit_mps=12,
    transit_alt_m=20, cruise_mps=15, climb_mps=3, descent_mps=2, launch_overhead_s=20,
    camera_hfov_deg=20.0,
)  # fmt: skip


def dock(limits: Limits = LIMITS) -> DockFigures:
    return DockFigures(limits, HOME, Wind(0.0, 0.0), 100.0, margin_m=30.0)


@pytest.mark.parametrize(("hfov", "agl"), [(20.0, 45.0), (20.0, 30.0), (30.0, 25.0)])
def test_from_the_stand_off_a_person_at_the_pin_is_tall_enough_and_the_camera_sees_them(
    hfov: float, agl: float
) -> None:
    cam = CameraModel(480, 360, hfov)
    at = destination(TARGET, 0.0, stand_off_m(hfov, agl))
    nose = CameraPose(at.lat, at.lon, agl, 180.0)
    pose = Gimbal().aim(nose, TARGET)
    # a person stands upright, seen across the slant range (as the synthetic camera draws one)
    assert cam.focal_px * 1.7 / slant_range_m(pose, TARGET) >= PERSON_FRACTION * 480 - 0.01
    foot = ground_to_pixel(cam, pose, TARGET)
    assert foot == pytest.approx((240.0, 180.0), abs=0.5)


def test_the_altitude_on_scene_puts_the_camera_on_the_slant_at_its_pitch() -> None:
    slant = slant_range_m_for(20.0)
    agl = scene_agl_m(20.0, ceiling_agl_m=120.0)
    assert agl == pytest.approx(slant * math.sin(math.radians(SCENE_PITCH_DEG)), abs=0.1)
    assert camera_pitch_deg(agl, stand_off_m(20.0, agl)) == pytest.approx(-SCENE_PITCH_DEG, abs=0.2)
    assert scene_agl_m(20.0, ceiling_agl_m=32.0) == 32.0  # the ceiling bounds it
    assert scene_agl_m(90.0, ceiling_agl_m=120.0) == MIN_SCENE_AGL_M  # a wide lens: the floor
    assert scene_agl_m(90.0, ceiling_agl_m=25.0) == 25.0  # the ceiling wins over the floor
    # wider lenses come closer and lower; the person at the pin stays as tall in the frame
    assert scene_agl_m(30.0, 120.0) < agl and stand_off_m(30.0, 30.0) < stand_off_m(20.0, agl)


def test_without_a_commanded_altitude_transit_flies_the_docks_and_the_scene_the_cameras() -> None:
    req = request_for(LIMITS, "INC-1", TARGET, None, OrbitPattern())
    assert req.alt_rel_m == LIMITS.transit_alt_m
    agl = scene_agl_m(20.0, LIMITS.ceiling_m)
    assert req.on_scene_alt_m == pytest.approx(agl - LIMITS.pad_height_m)
    orbit = req.on_scene
    assert isinstance(orbit, OrbitPattern)
    assert orbit.radius_m == pytest.approx(stand_off_m(20.0, agl)) and 50 < orbit.radius_m < 55
    low = LIMITS.model_copy(update={"ceiling_m": 30.0})  # 5 m above the pad
    assert request_for(low, None, TARGET, None, OrbitPattern()).on_scene_alt_m == 5.0
    told = request_for(LIMITS, None, TARGET, 40.0, OrbitPattern())  # the command's altitude
    assert told.alt_rel_m == told.on_scene_alt_m == 40.0
    assert told.on_scene.reach_m() == pytest.approx(stand_off_m(20.0, 65.0))


def test_the_climb_to_the_scene_is_priced_out_and_back_and_the_transit_mission_flies_it() -> None:
    high = LIMITS.model_copy(update={"pad_height_m": 0.0, "transit_alt_m": 20.0})
    req = request_for(high, None, TARGET, None, OrbitPattern())
    assert req.on_scene_alt_m > req.alt_rel_m
    level = replace(req, scene_alt_rel_m=req.alt_rel_m)
    plan, flat = assess(dock(high), [], req).plan, assess(dock(high), [], level).plan
    assert plan is not None and flat is not None
    step = req.on_scene_alt_m - req.alt_rel_m
    assert plan.budget.out.time_s - flat.budget.out.time_s == pytest.approx(step / high.climb_mps)
    assert plan.budget.back.time_s - flat.budget.back.time_s == pytest.approx(
        step / high.descent_mps
    )
    mission = transit_mission(plan, cruise_mps=15.0, acceptance_m=3.0).mission
    waypoints = [s for s in mission.steps if isinstance(s, Waypoint)]
    assert waypoints[-1].alt_rel_m == req.on_scene_alt_m  # the entry onto the circle
    assert all(w.alt_rel_m == req.alt_rel_m for w in waypoints[:-1])
    orbit = [s for s in mission.steps if isinstance(s, Orbit)]
    assert orbit and orbit[0].alt_rel_m == req.on_scene_alt_m


def test_the_orbit_radius_and_hold_stand_off_come_from_the_docks_camera_when_not_given() -> None:
    orbit = request_for(LIMITS, "INC-1", TARGET, None, OrbitPattern()).on_scene
    assert isinstance(orbit, OrbitPattern)
    assert orbit.radius_m == LIMITS.on_scene_stand_off_m
    assert (
        request_for(LIMITS, None, TARGET, None, OrbitPattern(radius_m=30)).on_scene.reach_m() == 30
    )
    no_camera = LIMITS.model_copy(update={"camera_hfov_deg": None})
    assert request_for(no_camera, None, TARGET, None, OrbitPattern()).on_scene.reach_m() == 40.0
    hold = request_for(LIMITS, None, TARGET, None, HoldPattern()).on_scene
    assert isinstance(hold, HoldPattern) and hold.reach_m() == orbit.radius_m


def test_hold_hovers_at_the_stand_off_on_the_side_the_drone_comes_from() -> None:
    approach = Approach(TARGET, 20.0, HOME, 15.0, 300.0)
    over, hover = HoldPattern(stand_off_m=45.0).steps(approach)
    assert over.point == hover.point  # type: ignore[union-attr]
    assert distance_m(hover.point, TARGET) == pytest.approx(45.0, abs=0.1)  # type: ignore[union-attr]
    assert distance_m(hover.point, HOME) < distance_m(TARGET, HOME)  # type: ignore[union-attr]


def test_a_no_fly_zone_near_the_scene_draws_the_orbit_in_and_dispatch_prices_the_same() -> None:
    corner = [destination(TARGET, 90.0, 65.0), destination(TARGET, 90.0, 200.0)]
    a, b = corner
    poly = Polygon(
        [
            (a.lon, destination(a, 0, 100).lat),
            (b.lon, destination(b, 0, 100).lat),
            (b.lon, destination(b, 180, 100).lat),
            (a.lon, destination(a, 180, 100).lat),
        ]
    )
    zone = NoFlyZone("zone", poly)
    req = request_for(LIMITS, "INC-1", TARGET, None, OrbitPattern())
    verdict = assess(dock(), [zone], req)
    assert verdict.ok and verdict.plan is not None
    drawn_in = verdict.plan.request.on_scene
    assert drawn_in.reach_m() == pytest.approx(35.0, abs=1.0)  # 65 m from the zone, 30 m margin
    assert assess(dock(), [zone], req).plan == verdict.plan  # one model: same answer twice
    assert assess(dock(), [], req).plan.request.on_scene.reach_m() > 40  # type: ignore[union-attr]


def test_the_eta_and_energy_count_to_where_the_pattern_starts_not_to_the_pin() -> None:
    wide = assess(dock(), [], request_for(LIMITS, None, TARGET, None, OrbitPattern(radius_m=100)))
    tight = assess(dock(), [], request_for(LIMITS, None, TARGET, None, OrbitPattern(radius_m=5)))
    assert wide.plan is not None and tight.plan is not None
    saved = tight.plan.to_scene_s - wide.plan.to_scene_s
    assert saved == pytest.approx(95.0 / LIMITS.cruise_mps, rel=0.05)
    assert wide.plan.budget.out.energy_wh < tight.plan.budget.out.energy_wh
