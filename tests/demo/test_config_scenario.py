"""The demo city and the scenarios: the shipped files, their checks, and fuzzed input."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from basemap.features import City
from edge.airspace import blocked_by, load_zones
from edge.errors import ConfigError
from edge.geo import distance_m
from outrider.demo.config import DemoConfig, load_demo_config
from outrider.demo.scenario import Scenario, load_scenario, world_scene
from tests.demo.conftest import BUSY_HOUR, DEMO_TOML


def test_the_demo_city_has_three_rooftop_docks_around_central_helsinki(
    city: DemoConfig, helsinki: City
) -> None:
    assert city.name == "Helsinki"
    assert [d.id for d in city.docks] == ["dock-01", "dock-02", "dock-03"]
    gaps = [distance_m(a.home, b.home) for a in city.docks for b in city.docks if a.id < b.id]
    assert all(500 < g < 1500 for g in gaps), gaps
    assert all(helsinki.bounds.contains(*d.home) for d in city.docks)
    assert helsinki.bounds.contains(*city.center)
    roofs = [b.shape for b in helsinki.of_kind("building")]
    for dock in city.docks:  # on a roof: inside an OpenStreetMap building
        assert any(roof.contains(Point(dock.lon, dock.lat)) for roof in roofs), dock.id
    assert city.nofly and all(p.is_file() for p in city.nofly)
    zones = [z for p in city.nofly for z in load_zones(p)]
    assert all(blocked_by(d.home, zones) is None for d in city.docks)
    assert city.scenario is not None and city.scenario.is_file()
    assert city.basemap.tiles is not None and city.basemap.osm is None


def test_the_busy_hour_has_overlapping_incidents_one_unreachable_and_one_in_a_no_fly_zone(
    city: DemoConfig, busy_hour: Scenario, helsinki: City
) -> None:
    zones = [z for p in city.nofly for z in load_zones(p)]
    incidents = busy_hour.incidents
    assert len(incidents) >= 6
    refused = {i.expect_code: i for i in incidents if i.expect == "refused"}
    assert set(refused) == {"no_fly", "out_of_range"}
    assert blocked_by(refused["no_fly"].target, zones) is not None
    far = refused["out_of_range"].target
    assert all(distance_m(d.home, far) > d.max_range_m for d in city.docks)
    served = [i for i in incidents if i.expect == "served"]
    assert len(served) > len(city.docks), "some incidents must wait for a dock"
    for inc in served:
        assert blocked_by(inc.target, zones) is None
        assert min(distance_m(d.home, inc.target) for d in city.docks) < 1500
        assert inc.placed_actors(), f"{inc.name} has no actors"
        # on the map: the scene and every actor stand inside the street map's extract
        assert all(helsinki.bounds.contains(*a.position) for a in inc.placed_actors())
        if inc.expect_dock:  # the dock named is the nearest one
            nearest = min(city.docks, key=lambda d: distance_m(d.home, inc.target))
            assert nearest.id == inc.expect_dock, inc.name
    starts = sorted(i.at_s for i in incidents)
    assert starts[-1] - starts[0] < min(i.on_scene_s for i in served), "incidents overlap"


def test_scenario_defaults_fill_what_an_incident_leaves_out(busy_hour: Scenario) -> None:
    raw = tomllib.loads(BUSY_HOUR.read_text())
    assert all("on_scene_s" not in inc for inc in raw["incidents"])
    assert {i.on_scene_s for i in busy_hour.incidents} == {raw["defaults"]["on_scene_s"]}


def test_actors_stand_where_the_scenario_puts_them_around_their_incident(
    one_incident: Scenario,
) -> None:
    (incident,) = one_incident.incidents
    assert incident.ring is not None
    actors = incident.placed_actors()
    assert [a.kind for a in actors] == incident.ring.kinds
    for actor in actors:
        assert distance_m(actor.position, incident.target) == pytest.approx(10.0, abs=0.5)
        assert actor.name and actor.name.startswith(incident.name)
    scene = world_scene("w", actors, actors[:1])
    assert len(scene.actors) == len(actors) + 1


def test_a_typo_in_the_city_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "demo.toml"
    bad.write_text(DEMO_TOML.read_text().replace("transit_alt_m", "transit_alt"))
    with pytest.raises(ConfigError) as err:
        load_demo_config(bad)
    assert "transit_alt" in err.value.reason


def test_two_docks_with_one_id_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "demo.toml"
    bad.write_text(DEMO_TOML.read_text().replace('id = "dock-02"', 'id = "dock-01"'))
    with pytest.raises(ConfigError, match="unique"):
        load_demo_config(bad)


def test_a_refused_incident_may_not_name_a_dock_and_names_must_be_unique(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    base = '[[incidents]]\nname = "a"\nat_s = 0\nlat = 51.5\nlon = -0.1\n'
    path.write_text(base + 'expect = "refused"\nexpect_dock = "dock-01"\n')
    with pytest.raises(ConfigError, match="expect_dock"):
        load_scenario(path)
    path.write_text(base + base)
    with pytest.raises(ConfigError, match="unique"):
        load_scenario(path)
    path.write_text(base)
    assert load_scenario(path).name == "s"  # the file's name when none is given


toml_scalars = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
    st.booleans(),
)
incident_like = st.dictionaries(
    st.sampled_from(["name", "at_s", "lat", "lon", "expect", "expect_code", "ring", "actors", "x"]),
    toml_scalars,
    max_size=8,
)


def _toml(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_as_a_scenario_file_give_a_coded_refusal_or_a_scenario(
    tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    try:
        assert isinstance(load_scenario(path), Scenario)
    except ConfigError as exc:
        assert exc.code == "invalid_config"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(incidents=st.lists(incident_like, max_size=3), top=incident_like)
def test_arbitrary_scenario_tables_give_a_coded_refusal_or_a_scenario(
    tmp_path: Path, incidents: list[dict[str, object]], top: dict[str, object]
) -> None:
    lines = [f"{k} = {_toml(v)}" for k, v in top.items() if k not in ("ring", "actors")]
    for inc in incidents:
        lines.append("[[incidents]]")
        lines += [f"{k} = {_toml(v)}" for k, v in inc.items()]
    path = tmp_path / "fuzz.toml"
    path.write_text("\n".join(lines) + "\n")
    try:
        assert isinstance(load_scenario(path), Scenario)
    except ConfigError as exc:
        assert exc.code == "invalid_config"


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_as_a_city_file_give_a_coded_refusal(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "demo.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as err:
        load_demo_config(path)  # a city needs docks and a centre: random bytes never have them
    assert err.value.code == "invalid_config"
