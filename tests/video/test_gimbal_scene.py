"""The camera's gimbal points at the scene, and the scene's point is found in the picture."""

from __future__ import annotations

import pytest

from edge.geo import LatLon, bearing_deg, destination, distance_m
from edge.geoproject import (
    CameraModel,
    CameraPose,
    Gimbal,
    ground_to_pixel,
    in_view,
    pixel_to_ground,
)
from edge.video.scene_view import SceneView

CAM = CameraModel(480, 360, 20.0)
HOME = LatLon(60.1705, 24.9440)
HEADINGS = [0.0, 30.0, 90.0, 135.0, 180.0, 250.0, 315.0]
PITCHES = [-90.0, -70.0, -45.0, -30.0, -15.0]


def angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize("heading", HEADINGS)
@pytest.mark.parametrize("pitch", PITCHES)
def test_a_ground_point_projected_into_the_image_and_back_is_the_same_point(
    heading: float, pitch: float
) -> None:
    p = CameraPose(HOME.lat, HOME.lon, 45.0, heading, pitch)
    for du, dv in ((0, 0), (-150, -100), (200, 150), (-230, 170), (100, -170)):
        spot = pixel_to_ground(CAM, p, 240 + du, 180 + dv, max_range_m=1e6)
        assert spot is not None
        pixel = ground_to_pixel(CAM, p, spot)
        assert pixel is not None
        back = pixel_to_ground(CAM, p, *pixel, max_range_m=1e6)
        assert back is not None and distance_m(back, spot) < 0.01


@pytest.mark.parametrize("heading", HEADINGS)
def test_a_gimbal_that_yaws_points_the_optical_axis_at_the_scene(heading: float) -> None:
    gimbal = Gimbal(yaw_min_deg=-180.0, yaw_max_deg=180.0)
    at = destination(HOME, 200.0, 40.0)
    nose = CameraPose(at.lat, at.lon, 45.0, heading)
    aimed = gimbal.aim(nose, HOME)
    pixel = ground_to_pixel(CAM, aimed, HOME)
    assert pixel == pytest.approx((240.0, 180.0), abs=0.5)
    assert (aimed.lat, aimed.lon, aimed.alt_agl_m) == (nose.lat, nose.lon, nose.alt_agl_m)


def test_a_gimbal_without_yaw_pitches_down_to_the_scene_the_airframe_faces() -> None:
    gimbal = Gimbal()
    at = destination(HOME, 200.0, 40.0)
    nose = CameraPose(at.lat, at.lon, 45.0, bearing_deg(at, HOME))
    aimed = gimbal.aim(nose, HOME)
    assert aimed.heading_deg == nose.heading_deg
    assert aimed.pitch_deg == pytest.approx(-48.4, abs=0.1)  # atan(45 / 40)
    assert in_view(CAM, aimed, HOME)
    turned_away = CameraPose(at.lat, at.lon, 45.0, (nose.heading_deg + 90) % 360)
    assert not in_view(CAM, gimbal.aim(turned_away, HOME), HOME)


def test_the_gimbal_looks_ahead_with_nothing_to_look_at_and_keeps_within_its_pitch_limits() -> None:
    gimbal = Gimbal(pitch_min_deg=-60.0, look_ahead_pitch_deg=-20.0)
    nose = CameraPose(HOME.lat, HOME.lon, 45.0, 90.0)
    assert gimbal.aim(nose, None).pitch_deg == -20.0
    assert gimbal.aim(nose, destination(HOME, 90.0, 1500.0)).pitch_deg == pytest.approx(-1.7, 0.1)
    assert gimbal.aim(nose, destination(HOME, 90.0, 10.0)).pitch_deg == -60.0  # below: limit
    with pytest.raises(ValueError):
        Gimbal(pitch_min_deg=-10.0, look_ahead_pitch_deg=-30.0)


def test_the_share_of_frames_with_the_scene_in_view_counts_recent_and_on_scene_frames() -> None:
    view = SceneView(recent=4)
    assert view.recent() is None and view.on_scene() is None
    for seen, on_scene in ((False, False), (True, True), (True, True), (False, True), (True, True)):
        view.add(seen, on_scene)
    assert view.recent() == 0.75 and view.on_scene() == 0.75 and view.on_scene_frames == 4
    view.add(None, False)  # nothing to look at: no recent share
    assert view.recent() is None and view.on_scene() == 0.75
    view.reset()
    assert view.on_scene() is None
