"""A camera circling a point and looking at it: the pose of a drone orbiting a scene."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from edge.geo import LatLon, bearing_deg, destination
from edge.geoproject import CameraPose

__all__ = ["orbit_pose"]


def orbit_pose(
    center: LatLon,
    radius_m: float = 40.0,
    height_m: float = 30.0,
    period_s: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[], CameraPose]:
    """A thread-safe pose getter: the camera goes round ``center`` once every ``period_s``,
    ``height_m`` above the ground, pointing at it (as a pose source for the synthetic camera).
    """
    start = clock()
    pitch = -math.degrees(math.atan2(height_m, radius_m))

    def pose() -> CameraPose:
        angle = 360.0 * ((clock() - start) / period_s % 1.0)
        at = destination(center, angle, radius_m)
        return CameraPose(at.lat, at.lon, height_m, bearing_deg(at, center), pitch)

    return pose
