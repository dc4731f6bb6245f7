"""What each flying drone's camera shows on the ground: its footprint, for the map.

The pose comes with the video (each frame's header carries the camera's position, height
above the ground, heading and gimbal pitch); the lens is the dock's published field of view.
The projection is the edge's own (:func:`edge.geoproject.footprint`).
"""

from __future__ import annotations

from dispatch.fleet import DockView
from dispatch.video_relay import VideoRelay
from edge.geoproject import CameraModel, CameraPose, footprint

__all__ = ["FOOTPRINT_MAX_AGE_S", "FOOTPRINT_RANGE_M", "camera_footprint"]

FOOTPRINT_MAX_AGE_S = 3.0
"""A pose older than this is not shown: the camera has moved on since."""
FOOTPRINT_RANGE_M = 600.0
"""The farthest ground drawn: an oblique view is cut off there, not run to the horizon."""


def camera_footprint(relay: VideoRelay, view: DockView, now: float) -> list[dict[str, float]]:
    """The ground the dock's camera showed in its latest frame, as polygon corners.

    Args:
        relay: this instance's video relay (where the frames, and their poses, arrive).
        view: the dock.
        now: monotonic seconds, the clock the relay stamps frames with.

    Returns:
        Four ``{lat, lon}`` corners, or none: the drone is not flying, the dock publishes no
        field of view, no recent frame carries a full pose, or the camera sees no ground.
    """
    tel, state = view.telemetry, view.state
    if tel is None or not tel.in_air or state is None or state.limits is None:
        return []
    hfov = state.limits.camera_hfov_deg
    channel = relay.channels.get(view.dock_id)
    if hfov is None or channel is None:
        return []
    frames = [f for f in channel.latest.values() if f.header.pose is not None]
    if not frames:
        return []
    frame = max(frames, key=lambda f: f.received)
    p, h = frame.header.pose, frame.header
    if (
        now - frame.received > FOOTPRINT_MAX_AGE_S
        or p is None
        or p.alt_agl_m is None
        or p.heading_deg is None
        or p.pitch_deg is None
    ):
        return []
    cam = CameraModel(h.width, h.height, hfov)
    pose = CameraPose(p.lat, p.lon, p.alt_agl_m, p.heading_deg % 360.0, p.pitch_deg)
    return [
        {"lat": round(c.lat, 7), "lon": round(c.lon, 7)}
        for c in footprint(cam, pose, max_range_m=FOOTPRINT_RANGE_M)
    ]
