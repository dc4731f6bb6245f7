"""On-scene geometry from the camera: how far from the incident the drone stays.

Two wishes pull apart: the scene (people and vehicles within :data:`SCENE_RADIUS_M` of the
pin) should fit in the frame, and a person at the pin should be tall enough in the frame for
the detector (:data:`PERSON_FRACTION` of the frame's width). The slant range is the farthest
that keeps the person tall enough, and no farther than the whole scene needs; the stand-off
(the orbit's radius, the hover's distance) follows from the altitude above the ground the
drone flies at, which the ceiling bounds. Dispatch and the edge both size it from the dock's
published ``limits`` (the camera's field of view among them), so they price the same flight.
"""

from __future__ import annotations

import math

__all__ = [
    "DEFAULT_STAND_OFF_M",
    "MIN_STAND_OFF_M",
    "PERSON_FRACTION",
    "PERSON_HEIGHT_M",
    "SCENE_RADIUS_M",
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
