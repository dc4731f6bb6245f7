"""On-scene geometry from the camera: how far from the incident the drone stays.

Two wishes pull apart: the scene (people and vehicles within :data:`SCENE_RADIUS_M` of the
pin) should fit in the frame, and a person at the pin should be tall enough in the frame for
the detector (:data:`PERSON_FRACTION` of the frame's width). The slant range is the farthest
that keeps the person tall enough, and no farther than the whole scene needs. Along that
slant the drone sits where the camera looks down at the pin at :data:`SCENE_PITCH_DEG` (steep
enough to see over the people and cars in front, shallow enough for upright people to stay
tall in the frame), no lower than :data:`MIN_SCENE_AGL_M` and no higher than the ceiling:
that gives the altitude on scene, and the stand-off (the orbit's radius, the hover's
distance) is the rest of the slant. Dispatch and the edge both size it from the dock's
published ``limits`` (the camera's field of view and the ceiling among them), so they price
the same flight.
"""

from __future__ import annotations

import math

__all__ = [
    "DEFAULT_STAND_OFF_M",
    "MIN_SCENE_AGL_M",
    "MIN_STAND_OFF_M",
    "PERSON_FRACTION",
    "PERSON_HEIGHT_M",
    "SCENE_PITCH_DEG",
    "SCENE_RADIUS_M",
    "camera_pitch_deg",
    "farthest_stand_off_m",
    "scene_agl_m",
    "slant_range_m",
    "stand_off_m",
]

SCENE_RADIUS_M = 15.0
"""People and vehicles of an incident stand within this of its pin."""
PERSON_HEIGHT_M = 1.7
PERSON_FRACTION = 0.075
"""A person this share of the frame's width tall (36 px of 480) is found by a 320 px model.
Counted upright across the slant range; seen from well above, a real person also shows
head and shoulders, which the detector takes for the same."""
MIN_STAND_OFF_M = 10.0
DEFAULT_STAND_OFF_M = 40.0
"""The stand-off of a dock that publishes no camera."""
SCENE_PITCH_DEG = 35.0
"""How steeply the camera looks down at the pin on scene, where the ceiling allows."""
MIN_SCENE_AGL_M = 35.0
"""The lowest the drone flies on scene: over the rooftops of a city street (8-10 storeys)."""


def slant_range_m(hfov_deg: float) -> float:
    """The distance from the camera to the pin: a person tall enough, the scene no smaller
    than the frame."""
    width_per_m = 2.0 * math.tan(math.radians(hfov_deg) / 2.0)  # frame width per metre away
    person = PERSON_HEIGHT_M / (PERSON_FRACTION * width_per_m)
    scene = 2.0 * SCENE_RADIUS_M / width_per_m
    return min(person, scene)


def stand_off_m(hfov_deg: float | None, agl_m: float) -> float:
    """Horizontal distance from the pin for a camera ``agl_m`` above the ground.

    Args:
        hfov_deg: the camera's horizontal field of view; None: a dock without a camera.
        agl_m: the height above the ground flown on scene.
    """
    if hfov_deg is None:
        return DEFAULT_STAND_OFF_M
    slant = slant_range_m(hfov_deg)
    return round(max(MIN_STAND_OFF_M, math.sqrt(max(0.0, slant**2 - agl_m**2))), 1)


def farthest_stand_off_m(hfov_deg: float | None) -> float:
    """The largest :func:`stand_off_m` at any height (the slant range itself, seen from the
    ground), rounded up: a bound on how far from the pin a dock's camera places the drone."""
    if hfov_deg is None:
        return DEFAULT_STAND_OFF_M
    return math.ceil(max(MIN_STAND_OFF_M, slant_range_m(hfov_deg)) * 10.0) / 10.0


def scene_agl_m(
    hfov_deg: float, ceiling_agl_m: float, floor_agl_m: float = MIN_SCENE_AGL_M
) -> float:
    """Height above the ground to fly on scene: on the slant range, the camera looking down at
    :data:`SCENE_PITCH_DEG`, within ``floor_agl_m`` and the ceiling (the ceiling wins)."""
    want = slant_range_m(hfov_deg) * math.sin(math.radians(SCENE_PITCH_DEG))
    return round(min(ceiling_agl_m, max(floor_agl_m, want)), 1)


def camera_pitch_deg(agl_m: float, stand_off: float) -> float:
    """The camera's pitch (negative: down) at ``agl_m`` above the ground and ``stand_off``
    metres from the pin, looking at it."""
    return -math.degrees(math.atan2(agl_m, stand_off))
