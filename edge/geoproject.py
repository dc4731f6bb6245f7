"""Pixel to ground and back: a pinhole camera on a gimbal, posed over a flat ground plane.

Frames: the camera looks along its optical axis with pixel ``u`` growing to the right and ``v``
downwards. The gimbal holds roll at zero; ``heading_deg`` is the optical axis's compass bearing
(clockwise from true north) and ``pitch_deg`` its angle to the horizon (0 level, -90 straight
down, where the top of the image faces ``heading_deg``). The ground is a plane ``alt_agl_m``
below the camera; positions go through :mod:`edge.geo`'s local east/north frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from edge.geo import LatLon, bearing_deg, distance_m, from_local_en, to_local_en

__all__ = [
    "CameraModel",
    "CameraPose",
    "Gimbal",
    "footprint",
    "ground_to_pixel",
    "in_view",
    "pixel_rays",
    "pixel_to_ground",
    "rotation",
    "slant_range_m",
]


@dataclass(frozen=True, slots=True)
class CameraModel:
    """A pinhole camera: image size and horizontal field of view (square pixels, centred)."""

    width: int = 640
    height: int = 480
    hfov_deg: float = 70.0

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1 or not 1.0 <= self.hfov_deg <= 170.0:
            raise ValueError(f"invalid camera model {self}")

    @property
    def focal_px(self) -> float:
        """Focal length in pixels."""
        return (self.width / 2) / math.tan(math.radians(self.hfov_deg) / 2)

    def scaled(self, width: int, height: int) -> CameraModel:
        """The same lens at another resolution."""
        return CameraModel(width, height, self.hfov_deg)


@dataclass(frozen=True, slots=True)
class CameraPose:
    """Where the camera is and where it looks.

    Attributes:
        lat, lon: WGS84 degrees.
        alt_agl_m: height above the ground that detections are projected onto.
        heading_deg: bearing of the optical axis, degrees clockwise from true north.
        pitch_deg: optical axis below (negative) or above the horizon; -90 is nadir.
        alt_amsl_m: altitude above mean sea level, for display and records only.
    """

    lat: float
    lon: float
    alt_agl_m: float
    heading_deg: float
    pitch_deg: float = -90.0
    alt_amsl_m: float | None = None

    @property
    def position(self) -> LatLon:
        """The camera's horizontal position."""
        return LatLon(self.lat, self.lon)


@dataclass(frozen=True, slots=True)
class Gimbal:
    """The camera's mount: how far it can pitch, and yaw relative to the nose.

    A mount that cannot yaw (``yaw_min_deg == yaw_max_deg == 0``) looks along the airframe,
    which then yaws to face the region of interest itself (PX4's ROI without a gimbal).

    Attributes:
        pitch_min_deg, pitch_max_deg: the pitch range (-90 straight down, 0 level).
        yaw_min_deg, yaw_max_deg: the yaw range relative to the nose, clockwise positive.
        look_ahead_pitch_deg: the pitch with nothing to look at (on transit).
    """

    pitch_min_deg: float = -90.0
    pitch_max_deg: float = 0.0
    yaw_min_deg: float = 0.0
    yaw_max_deg: float = 0.0
    look_ahead_pitch_deg: float = -30.0

    def __post_init__(self) -> None:
        ok = (
            -90.0 <= self.pitch_min_deg <= self.pitch_max_deg <= 30.0
            and -180.0 <= self.yaw_min_deg <= 0.0 <= self.yaw_max_deg <= 180.0
            and self.pitch_min_deg <= self.look_ahead_pitch_deg <= self.pitch_max_deg
        )
        if not ok:
            raise ValueError(f"invalid gimbal {self}")

    def aim(self, nose: CameraPose, roi: LatLon | None) -> CameraPose:
        """The camera's pose on an airframe posed ``nose`` (its heading), pointed at ``roi``.

        Points at ``roi`` as far as the mount's limits allow; looks ahead without one (on
        transit) or when it is out of the mount's yaw range.
        """
        ahead = replace(nose, pitch_deg=self.look_ahead_pitch_deg)
        if roi is None or nose.alt_agl_m <= 0:
            return ahead
        far = distance_m(nose.position, roi)
        if far < 0.5:
            return replace(nose, pitch_deg=self.pitch_min_deg)
        relative = (bearing_deg(nose.position, roi) - nose.heading_deg + 180.0) % 360.0 - 180.0
        yaw = min(self.yaw_max_deg, max(self.yaw_min_deg, relative))
        if abs(yaw - relative) > 90.0:  # behind the mount's reach: nothing to gain by turning
            return ahead
        pitch = -math.degrees(math.atan2(nose.alt_agl_m, far))
        pitch = min(self.pitch_max_deg, max(self.pitch_min_deg, pitch))
        return replace(nose, heading_deg=(nose.heading_deg + yaw) % 360.0, pitch_deg=pitch)


def rotation(pose: CameraPose) -> NDArray[np.float64]:
    """Camera (right, down, forward) to world (east, north, up) rotation, as columns."""
    psi, theta = math.radians(pose.heading_deg), math.radians(pose.pitch_deg)
    forward = np.array(
        [math.sin(psi) * math.cos(theta), math.cos(psi) * math.cos(theta), math.sin(theta)]
    )
    right = np.array([math.cos(psi), -math.sin(psi), 0.0])
    up = np.cross(right, forward)
    return np.stack([right, -up, forward], axis=1)


def pixel_rays(
    cam: CameraModel, u: NDArray[np.float64], v: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Camera-frame ray directions (right, down, forward) of pixels, shape ``(..., 3)``."""
    f = cam.focal_px
    x = (u - cam.width / 2) / f
    y = (v - cam.height / 2) / f
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def pixel_to_ground(
    cam: CameraModel, pose: CameraPose, u: float, v: float, *, max_range_m: float = 3000.0
) -> LatLon | None:
    """Where the ray through pixel ``(u, v)`` meets the ground, or None above the horizon.

    Args:
        cam: the camera model of the frame the pixel is in.
        pose: the camera's pose when the frame was captured.
        u, v: pixel coordinates (0, 0 is the top-left corner of the top-left pixel).
        max_range_m: farther intersections are treated as not on the ground.
    """
    if pose.alt_agl_m <= 0:
        return None
    ray = rotation(pose) @ pixel_rays(cam, np.array(u, dtype=float), np.array(v, dtype=float))
    if ray[2] >= -1e-9:
        return None
    t = pose.alt_agl_m / -ray[2]
    east, north = float(ray[0] * t), float(ray[1] * t)
    if math.hypot(east, north) > max_range_m:
        return None
    return from_local_en(pose.position, east, north)


def ground_to_pixel(
    cam: CameraModel, pose: CameraPose, point: LatLon, height_m: float = 0.0
) -> tuple[float, float] | None:
    """The pixel where a point ``height_m`` above the ground appears, or None behind the camera."""
    east, north = to_local_en(pose.position, point)
    world = np.array([east, north, height_m - pose.alt_agl_m])
    x, y, z = rotation(pose).T @ world
    if z <= 1e-6:
        return None
    f = cam.focal_px
    return float(cam.width / 2 + f * x / z), float(cam.height / 2 + f * y / z)


def in_view(cam: CameraModel, pose: CameraPose, point: LatLon, height_m: float = 0.0) -> bool:
    """Whether a point ``height_m`` above the ground appears inside the image."""
    pixel = ground_to_pixel(cam, pose, point, height_m)
    return pixel is not None and 0.0 <= pixel[0] < cam.width and 0.0 <= pixel[1] < cam.height


def slant_range_m(pose: CameraPose, point: LatLon, height_m: float = 0.0) -> float:
    """Straight-line distance from the camera to a point ``height_m`` above the ground."""
    east, north = to_local_en(pose.position, point)
    return math.sqrt(east**2 + north**2 + (pose.alt_agl_m - height_m) ** 2)


def footprint(
    cam: CameraModel, pose: CameraPose, *, max_range_m: float = 1000.0, steps: int = 32
) -> list[LatLon]:
    """The patch of ground the picture shows, as a polygon: bottom-left, bottom-right, then the
    far corners, top-right and top-left.

    A far corner whose ray meets no ground within ``max_range_m`` (above the horizon, or too
    far) is moved down its side of the image to the farthest pixel that does, so an oblique
    view is cut off at that range instead of running to the horizon.

    Args:
        cam: the camera model of the frame.
        pose: the camera's pose.
        max_range_m: the farthest ground the polygon reaches.
        steps: rows tried along each side edge when a far corner misses the ground.

    Returns:
        Four corners, or none when even the bottom of the picture shows no ground.
    """
    w, h = float(cam.width), float(cam.height)
    near = [pixel_to_ground(cam, pose, u, h, max_range_m=max_range_m) for u in (0.0, w)]
    if near[0] is None or near[1] is None:
        return []
    far: list[LatLon] = []
    for u in (w, 0.0):
        hit = None
        for k in range(steps + 1):
            hit = pixel_to_ground(cam, pose, u, h * k / steps, max_range_m=max_range_m)
            if hit is not None:
                break
        far.append(hit if hit is not None else (near[1] if u else near[0]))
    return [near[0], near[1], far[0], far[1]]
