"""Shared geodesy, energy model and no-fly routing: the figures every part plans with."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.airspace import blocked_by, load_zones, plan_route, zones_from_geojson
from edge.energy import Airframe, EnergyModel, Wind
from edge.errors import ConfigError
from edge.geo import LatLon, bearing_deg, destination, distance_m, from_local_en, to_local_en

LONDON = LatLon(51.5079, -0.0877)


def test_one_degree_of_latitude_is_about_111_km() -> None:
    assert distance_m(LatLon(0, 0), LatLon(1, 0)) == pytest.approx(111_195, rel=1e-3)


@given(
    bearing=st.floats(0, 359.99),
    dist=st.floats(1, 20_000),
    lat=st.floats(-60, 60),
    lon=st.floats(-179, 179),
)
def test_destination_travels_the_distance_and_bearing_asked(
    bearing: float, dist: float, lat: float, lon: float
) -> None:
    start = LatLon(lat, lon)
    end = destination(start, bearing, dist)
    assert distance_m(start, end) == pytest.approx(dist, rel=1e-6, abs=1e-3)
    if dist > 10:
        diff = (bearing_deg(start, end) - bearing + 180) % 360 - 180
        assert abs(diff) < 0.01


@given(east=st.floats(-10_000, 10_000), north=st.floats(-10_000, 10_000))
def test_local_frame_round_trips_and_matches_great_circle_distance(
    east: float, north: float
) -> None:
    p = from_local_en(LONDON, east, north)
    e2, n2 = to_local_en(LONDON, p)
    assert (e2, n2) == pytest.approx((east, north), abs=1e-6)
    assert distance_m(LONDON, p) == pytest.approx(math.hypot(east, north), rel=2e-3, abs=0.05)


def test_headwind_costs_more_than_tailwind_and_a_gale_is_unflyable() -> None:
    model = EnergyModel(Airframe(), cruise_mps=15)
    east = destination(LONDON, 90, 3000)
    calm = model.leg(LONDON, east)
    head = model.leg(LONDON, east, Wind(8, from_deg=90))
    tail = model.leg(LONDON, east, Wind(8, from_deg=270))
    assert tail.time_s < calm.time_s < head.time_s
    assert calm.time_s == pytest.approx(200, rel=1e-3)
    assert not math.isfinite(model.leg(LONDON, east, Wind(16, from_deg=90)).energy_wh)


def test_sortie_budget_adds_climb_transit_loiter_and_return() -> None:
    model = EnergyModel(Airframe(battery_wh=180, hover_power_w=300), cruise_mps=15, climb_mps=3)
    target = destination(LONDON, 45, 4500)
    budget = model.sortie([LONDON, target], transit_alt_m=60, on_scene_s=300, on_scene_speed_mps=8)
    assert budget.out.time_s == pytest.approx(20 + 300, rel=1e-3)
    assert budget.on_scene.time_s == 300
    assert budget.back.time_s == pytest.approx(300 + 30, rel=1e-3)
    assert 50 < budget.needed_pct < 100
    farther = model.sortie(
        [LONDON, destination(LONDON, 45, 6000)], transit_alt_m=60, on_scene_s=300
    )
    assert farther.total.energy_wh > budget.total.energy_wh


def test_power_rises_with_airspeed_and_climb() -> None:
    a = Airframe()
    assert a.power_w(0) == a.hover_power_w
    assert a.power_w(10) < a.power_w(15) < a.power_w(15, climb_mps=3)
    assert a.pct(a.battery_wh / 2) == 50


ZONE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "hospital"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [-0.080, 51.505],
                        [-0.070, 51.505],
                        [-0.070, 51.512],
                        [-0.080, 51.512],
                        [-0.080, 51.505],
                    ]
                ],
            },
        }
    ],
}


def test_route_goes_around_a_zone_and_keeps_its_margin() -> None:
    zones = zones_from_geojson(ZONE)
    start, end = LatLon(51.5085, -0.090), LatLon(51.5085, -0.060)
    route = plan_route(start, end, zones, margin_m=30)
    assert route is not None and len(route) > 2
    assert route[0] == start and route[-1] == end
    straight = distance_m(start, end)
    flown = sum(distance_m(a, b) for a, b in itertools.pairwise(route))
    assert straight < flown < straight * 1.6
    # Sample every leg: no sample lies within the zone.
    for a, b in itertools.pairwise(route):
        for i in range(101):
            e, n = to_local_en(a, b)
            p = from_local_en(a, e * i / 100, n * i / 100)
            assert blocked_by(p, zones) is None


def test_clear_line_is_flown_straight_and_a_target_inside_a_zone_has_no_route() -> None:
    zones = zones_from_geojson(ZONE)
    assert plan_route(LatLon(51.50, -0.09), LatLon(51.50, -0.06), zones) == [
        LatLon(51.50, -0.09),
        LatLon(51.50, -0.06),
    ]
    inside = LatLon(51.508, -0.075)
    assert blocked_by(inside, zones) is not None
    assert blocked_by(inside, zones).name == "hospital"  # type: ignore[union-attr]
    assert plan_route(LatLon(51.50, -0.09), inside, zones) is None


def test_bad_geojson_is_a_config_error_naming_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps({"type": "Point", "coordinates": [0, 0]}))
    with pytest.raises(ConfigError, match=r"zones\.geojson"):
        load_zones(path)
    path.write_text("{nope")
    with pytest.raises(ConfigError, match="not JSON"):
        load_zones(path)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_zones(tmp_path / "missing.geojson")
