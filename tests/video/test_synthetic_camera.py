"""The synthetic camera and the real detector: actors are found and placed where they stand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basemap.features import City
from basemap.style import ROADS
from edge.detect import AutoDetectorConfig, Detector, load_detector
from edge.errors import ConfigError
from edge.geo import LatLon, destination, distance_m
from edge.geoproject import CameraModel, CameraPose, ground_to_pixel, pixel_to_ground, slant_range_m
from sim.camera import Actor, Renderer, Scene, SyntheticCamera, load_scene, parse_scene
from sim.camera.ground import EXPOSURE
from sim.camera.render import ground_texture

INCIDENT = LatLon(51.5079, -0.0877)
CAM = CameraModel(640, 480, 40.0)
VEHICLES = {"bus", "truck", "car"}


@pytest.fixture(scope="module")
def detector(model_640: Path) -> Detector:
    return load_detector(AutoDetectorConfig(model=model_640))


def scene_around(heading: float) -> tuple[Scene, CameraPose]:
    """Three people across the view 35 m ahead, a bus 25 m ahead, the camera 20 m up."""

    def at(bearing: float, dist: float) -> tuple[float, float]:
        p = destination(INCIDENT, heading + bearing, dist)
        return p.lat, p.lon

    actors = [
        Actor(kind="person", lat=at(0, 0)[0], lon=at(0, 0)[1], variant=0, name="centre"),
        Actor(kind="person", lat=at(90, 7)[0], lon=at(90, 7)[1], variant=1, name="right"),
        Actor(kind="person", lat=at(270, 7)[0], lon=at(270, 7)[1], variant=0, name="left"),
        Actor(kind="bus", lat=at(180, 10)[0], lon=at(180, 10)[1], name="bus"),
    ]
    camera = destination(INCIDENT, heading + 180.0, 35.0)
    pitch = -math.degrees(math.atan2(20.0, 35.0))
    return Scene(actors=actors), CameraPose(camera.lat, camera.lon, 20.0, heading, pitch)


@pytest.mark.parametrize("heading", [30.0, 120.0, 210.0, 300.0])
def test_the_detector_finds_every_actor_and_places_it_within_5_m_plus_5_percent_of_range(
    detector: Detector, heading: float
) -> None:
    scene, pose = scene_around(heading)
    image = np.ascontiguousarray(Renderer(CAM, scene).render(pose)[:, :, ::-1])
    found = detector.detect(image)
    for actor in scene.actors:
        wanted = {"person"} if actor.kind == "person" else VEHICLES
        errors = [
            distance_m(spot, actor.position)
            for d in found
            if d.cls in wanted and (spot := pixel_to_ground(CAM, pose, *d.foot)) is not None
        ]
        bound = 5.0 + 0.05 * slant_range_m(pose, actor.position)
        assert errors and min(errors) <= bound, (actor.name, errors, bound, found)


def test_an_actor_is_drawn_with_its_feet_on_its_ground_point_and_shrinks_with_range() -> None:
    actor = Actor(kind="person", lat=INCIDENT.lat, lon=INCIDENT.lon)
    heights = []
    for dist in (20.0, 40.0):
        camera = destination(INCIDENT, 180.0, dist)
        pose = CameraPose(camera.lat, camera.lon, 10.0, 0.0, -math.degrees(math.atan2(10, dist)))
        bare = Renderer(CAM, Scene(), origin=INCIDENT).render(pose)
        drawn = Renderer(CAM, Scene(actors=[actor]), origin=INCIDENT).render(pose)
        rows = np.flatnonzero(np.any(bare != drawn, axis=(1, 2)))
        foot = ground_to_pixel(CAM, pose, actor.position)
        assert foot is not None and abs(rows.max() - foot[1]) <= 2
        heights.append(rows.max() - rows.min())
    assert heights[1] == pytest.approx(heights[0] / 2, rel=0.15)


def test_rendering_is_deterministic_and_the_ground_moves_with_the_camera() -> None:
    scene, pose = scene_around(0.0)
    a = Renderer(CAM, scene).render(pose)
    b = Renderer(CAM, scene).render(pose)
    assert np.array_equal(a, b)
    moved = CameraPose(pose.lat + 1e-5, pose.lon, pose.alt_agl_m, pose.heading_deg, pose.pitch_deg)
    assert not np.array_equal(a, Renderer(CAM, scene).render(moved))
    assert not np.array_equal(ground_texture(1), ground_texture(2))


def test_the_synthetic_camera_waits_for_a_pose_and_tags_each_frame_with_it() -> None:
    pose: list[CameraPose] = []
    camera = SyntheticCamera(Scene(), CAM, lambda: pose[-1] if pose else None)
    camera.open()
    assert camera.read() is None
    pose.append(CameraPose(INCIDENT.lat, INCIDENT.lon, 30.0, 90.0, -45.0))
    frame = camera.read()
    assert frame is not None and frame.pose == pose[-1]
    assert frame.image.shape == (480, 640, 3)


def test_the_example_scene_loads() -> None:
    scene = load_scene(Path(__file__).parents[2] / "configs" / "scenes" / "example.toml")
    assert {a.kind for a in scene.actors} == {"person", "bus"}


def test_a_scene_with_a_typo_or_a_bad_value_is_refused_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as typo:
        parse_scene(b'[[actors]]\nkind = "person"\nlat = 1\nlon = 2\nhieght_m = 2\n', fmt="toml")
    assert "hieght_m" in typo.value.reason
    with pytest.raises(ConfigError) as bad:
        parse_scene(b'{"actors": [{"kind": "tank", "lat": 1, "lon": 2}]}', fmt="json")
    assert "actors.0.kind" in bad.value.reason
    with pytest.raises(ConfigError):
        load_scene(tmp_path / "missing.toml")


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), fmt=st.sampled_from(["toml", "json"]))
def test_any_bytes_give_a_scene_or_a_coded_refusal(data: bytes, fmt: str) -> None:
    try:
        parse_scene(data, fmt=fmt)  # type: ignore[arg-type]
    except ConfigError as exc:
        assert exc.code == "invalid_config"


@settings(max_examples=100, deadline=None)
@given(
    text=st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_any_json_document_gives_a_scene_or_a_coded_refusal(text: object) -> None:
    import json

    try:
        parse_scene(json.dumps({"actors": [text]}).encode(), fmt="json")
    except ConfigError as exc:
        assert exc.code == "invalid_config"


def test_actors_can_be_placed_while_the_camera_runs() -> None:
    scene, pose = scene_around(0.0)
    camera = SyntheticCamera(Scene(actors=scene.actors[:1]), CAM, lambda: pose)
    camera.open()
    before = camera.read()
    camera.set_scene(scene)
    after = camera.read()
    assert before is not None and after is not None
    assert not np.array_equal(before.image, after.image)


def test_the_camera_sees_the_streets_of_the_map_and_the_plain_ground_beyond_them(
    helsinki: City, helsinki_tiles: Path
) -> None:
    street = max((r.line for r in helsinki.roads if r.name == "Yrjönkatu"), key=lambda x: x.length)
    mid = street.interpolate(0.5, normalized=True)
    down = CameraPose(mid.y, mid.x, 40.0, 0.0, -90.0)  # straight down from 40 m
    city = Renderer(CAM, Scene(ground=helsinki_tiles)).render(down)
    plain = Renderer(CAM, Scene()).render(down)
    centre = city[
        CAM.height // 2 - 2 : CAM.height // 2 + 3, CAM.width // 2 - 2 : CAM.width // 2 + 3
    ]
    street_white = np.array(ROADS["minor"].fill) * EXPOSURE  # the map's colour, exposed
    assert np.all(np.abs(centre.astype(int) - street_white) <= 8), centre.reshape(-1, 3)[:3]
    colours = {tuple(int(v) // 16 for v in px) for px in city.reshape(-1, 3)[::97]}
    assert len(colours) >= 4, colours  # street, pavement, buildings: not one flat colour
    assert not np.array_equal(city, plain)
    b = helsinki.bounds
    far = CameraPose(b.south - 0.01, b.west - 0.01, 40.0, 0.0, -90.0)  # a kilometre outside
    assert np.array_equal(
        Renderer(CAM, Scene(ground=helsinki_tiles)).render(far), Renderer(CAM, Scene()).render(far)
    )


def test_a_scene_names_its_ground_relative_to_its_file_and_a_bad_one_leaves_the_plain_ground(
    tmp_path: Path, helsinki_tiles: Path
) -> None:
    (tmp_path / "city.pmtiles").write_bytes(helsinki_tiles.read_bytes())
    path = tmp_path / "scene.toml"
    path.write_text('ground = "city.pmtiles"\n')
    assert load_scene(path).ground == tmp_path / "city.pmtiles"
    broken = Scene(ground=tmp_path / "scene.toml")  # not a tile file
    pose = CameraPose(60.17, 24.94, 30.0, 0.0, -60.0)
    assert np.array_equal(Renderer(CAM, broken).render(pose), Renderer(CAM, Scene()).render(pose))
