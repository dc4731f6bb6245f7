"""Pixel to ground: nadir and oblique views in every heading quadrant, and the round trip."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.geo import LatLon, bearing_deg, destination, distance_m
from edge.geoproject import (
    CameraModel,
    CameraPose,
    footprint,
    ground_to_pixel,
    pixel_to_ground,
    slant_range_m,
)

CAM = CameraModel(640, 480, 70.0)
HOME = LatLon(51.5079, -0.0877)
HEADINGS = [0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0]


def pose(heading: float, pitch: float, alt: float = 50.0) -> CameraPose:
    return CameraPose(HOME.lat, HOME.lon, alt, heading, pitch)


def angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize("heading", HEADINGS)
def test_at_nadir_the_centre_pixel_is_straight_below(heading: float) -> None:
    spot = pixel_to_ground(CAM, pose(heading, -90.0), 320, 240)
    assert spot is not None and distance_m(HOME, spot) < 0.01


@pytest.mark.parametrize("heading", HEADINGS)
def test_at_nadir_the_top_of_the_image_faces_the_heading_and_the_right_is_clockwise(
    heading: float,
) -> None:
    p = pose(heading, -90.0)
    top = pixel_to_ground(CAM, p, 320, 0)
    right = pixel_to_ground(CAM, p, 640, 240)
    assert top is not None and right is not None
    half_v = math.atan(240 / CAM.focal_px)
    assert distance_m(HOME, top) == pytest.approx(50 * math.tan(half_v), rel=1e-3)
    assert angle_diff(bearing_deg(HOME, top), heading) < 0.1
    assert distance_m(HOME, right) == pytest.approx(50 * math.tan(math.radians(35)), rel=1e-3)
    assert angle_diff(bearing_deg(HOME, right), heading + 90.0) < 0.1


@pytest.mark.parametrize("heading", HEADINGS)
def test_an_oblique_view_puts_the_centre_ahead_at_altitude_over_tan_pitch(heading: float) -> None:
    spot = pixel_to_ground(CAM, pose(heading, -30.0), 320, 240)
    assert spot is not None
    assert distance_m(HOME, spot) == pytest.approx(50 / math.tan(math.radians(30)), rel=1e-3)
    assert angle_diff(bearing_deg(HOME, spot), heading) < 0.1


@pytest.mark.parametrize("heading", HEADINGS)
def test_an_oblique_view_puts_lower_pixels_nearer_and_left_pixels_anticlockwise(
    heading: float,
) -> None:
    p = pose(heading, -30.0)
    centre, lower, left = (
        pixel_to_ground(CAM, p, u, v) for u, v in ((320, 240), (320, 400), (0, 240))
    )
    assert centre and lower and left
    assert distance_m(HOME, lower) < distance_m(HOME, centre)
    assert angle_diff(bearing_deg(HOME, left), heading - 30.0) < angle_diff(
        bearing_deg(HOME, left), heading + 30.0
    )


def test_pixels_above_the_horizon_and_a_camera_on_the_ground_have_no_ground_point() -> None:
    assert pixel_to_ground(CAM, pose(0.0, 0.0), 320, 100) is None
    assert pixel_to_ground(CAM, pose(0.0, -90.0, alt=0.0), 320, 240) is None
    assert pixel_to_ground(CAM, pose(0.0, -2.0), 320, 200, max_range_m=500) is None


def test_a_point_behind_the_camera_has_no_pixel() -> None:
    behind = destination(HOME, 180.0, 100.0)
    assert ground_to_pixel(CAM, pose(0.0, -20.0), behind) is None


@settings(max_examples=200, deadline=None)
@given(
    heading=st.floats(0, 359.9),
    pitch=st.floats(-90, -15),
    alt=st.floats(5, 120),
    u=st.floats(0, 640),
    v=st.floats(0, 480),
)
def test_projecting_a_pixel_to_the_ground_and_back_returns_the_same_pixel(
    heading: float, pitch: float, alt: float, u: float, v: float
) -> None:
    p = pose(heading, pitch, alt)
    spot = pixel_to_ground(CAM, p, u, v, max_range_m=1e6)
    if spot is None:
        return
    back = ground_to_pixel(CAM, p, spot)
    assert back is not None
    assert back[0] == pytest.approx(u, abs=0.05) and back[1] == pytest.approx(v, abs=0.05)


def test_slant_range_is_the_straight_line_to_the_point() -> None:
    ahead = destination(HOME, 90.0, 40.0)
    assert slant_range_m(pose(0.0, -45.0, alt=30.0), ahead) == pytest.approx(50.0, rel=1e-4)


@pytest.mark.parametrize("heading", HEADINGS)
def test_the_footprint_straight_down_is_a_rectangle_around_the_drone_as_wide_as_the_lens(
    heading: float,
) -> None:
    lens = CameraModel(400, 300, 90.0)  # 90 degrees across: as wide as the drone is high
    corners = footprint(lens, pose(heading, -90.0, alt=100.0))
    assert len(corners) == 4
    half_w, half_h = 100.0, 75.0
    for corner in corners:
        assert distance_m(HOME, corner) == pytest.approx(math.hypot(half_w, half_h), rel=1e-3)
    bl, br, _, tl = corners
    assert angle_diff(bearing_deg(bl, tl), heading) < 0.5  # the far edge lies ahead
    assert angle_diff(bearing_deg(bl, br), heading + 90.0) < 0.5  # the right is clockwise
    assert distance_m(bl, br) == pytest.approx(2 * half_w, rel=1e-3)


def test_an_oblique_footprint_is_a_trapezoid_ahead_cut_off_at_its_range() -> None:
    corners = footprint(CAM, pose(90.0, -20.0, alt=50.0), max_range_m=400.0)
    assert len(corners) == 4
    bl, br, tr, tl = corners
    assert distance_m(bl, br) < distance_m(tl, tr)  # wider far away
    for corner in corners:
        assert 45.0 < bearing_deg(HOME, corner) < 135.0  # all of it east, ahead of the camera
        assert distance_m(HOME, corner) <= 400.0 + 1e-6
    assert max(distance_m(HOME, c) for c in (tr, tl)) > 300.0  # cut off near the range


def test_a_camera_looking_above_the_horizon_has_no_footprint() -> None:
    assert footprint(CAM, pose(0.0, 30.0)) == []
