"""Mission items as PX4 stores them: the plan, the geofence and the rally points, with checks.

An upload is checked item by item like PX4 does (frame, command, coordinates); a refused item
ends the upload with the MAV_MISSION_RESULT PX4 would send.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from edge.flight.mavlink_enums import (
    MAV_CMD_CAMERA_TRACK_POINT,
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_DO_DIGICAM_CONTROL,
    MAV_CMD_DO_GIMBAL_MANAGER_CONFIGURE,
    MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
    MAV_CMD_DO_JUMP,
    MAV_CMD_DO_LAND_START,
    MAV_CMD_DO_MOUNT_CONFIGURE,
    MAV_CMD_DO_MOUNT_CONTROL,
    MAV_CMD_DO_SET_CAM_TRIGG_DIST,
    MAV_CMD_DO_SET_CAM_TRIGG_INTERVAL,
    MAV_CMD_DO_SET_HOME,
    MAV_CMD_DO_SET_ROI,
    MAV_CMD_DO_SET_ROI_LOCATION,
    MAV_CMD_DO_SET_ROI_NONE,
    MAV_CMD_DO_SET_ROI_WPNEXT_OFFSET,
    MAV_CMD_DO_SET_SERVO,
    MAV_CMD_DO_TRIGGER_CONTROL,
    MAV_CMD_IMAGE_START_CAPTURE,
    MAV_CMD_IMAGE_STOP_CAPTURE,
    MAV_CMD_NAV_DELAY,
    MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
    MAV_CMD_NAV_LAND,
    MAV_CMD_NAV_LOITER_TIME,
    MAV_CMD_NAV_LOITER_UNLIM,
    MAV_CMD_NAV_RALLY_POINT,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    MAV_CMD_SET_CAMERA_FOCUS,
    MAV_CMD_SET_CAMERA_MODE,
    MAV_CMD_SET_CAMERA_ZOOM,
    MAV_CMD_VIDEO_START_CAPTURE,
    MAV_CMD_VIDEO_STOP_CAPTURE,
    MAV_FRAME_GLOBAL,
    MAV_FRAME_GLOBAL_INT,
    MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
    MAV_MISSION_ACCEPTED,
    MAV_MISSION_INVALID_PARAM1,
    MAV_MISSION_INVALID_PARAM2,
    MAV_MISSION_INVALID_PARAM5_X,
    MAV_MISSION_INVALID_PARAM6_Y,
    MAV_MISSION_INVALID_PARAM7,
    MAV_MISSION_TYPE_FENCE,
    MAV_MISSION_TYPE_MISSION,
    MAV_MISSION_TYPE_RALLY,
    MAV_MISSION_UNSUPPORTED,
    MAV_MISSION_UNSUPPORTED_FRAME,
)

__all__ = [
    "DO_COMMANDS",
    "GLOBAL_FRAMES",
    "MISSION_TYPES",
    "NAV_COMMANDS",
    "RELATIVE_FRAMES",
    "MissionItem",
    "MissionStore",
    "check_item",
]

MISSION_TYPES = (MAV_MISSION_TYPE_MISSION, MAV_MISSION_TYPE_FENCE, MAV_MISSION_TYPE_RALLY)

# PX4 refuses NAV_LOITER_TURNS in a multicopter's mission (MAV_MISSION_UNSUPPORTED).
NAV_COMMANDS = frozenset(
    {
        MAV_CMD_NAV_WAYPOINT,
        MAV_CMD_NAV_LOITER_UNLIM,
        MAV_CMD_NAV_LOITER_TIME,
        MAV_CMD_NAV_LAND,
        MAV_CMD_NAV_TAKEOFF,
    }
)
# Items PX4 carries out without moving (camera, gimbal, ROI, speed, jumps, delays, home).
DO_COMMANDS = frozenset(
    {
        MAV_CMD_NAV_RETURN_TO_LAUNCH,
        MAV_CMD_NAV_DELAY,
        MAV_CMD_DO_JUMP,
        MAV_CMD_DO_CHANGE_SPEED,
        MAV_CMD_DO_SET_HOME,
        MAV_CMD_DO_SET_SERVO,
        MAV_CMD_DO_LAND_START,
        MAV_CMD_DO_SET_ROI_LOCATION,
        MAV_CMD_DO_SET_ROI_WPNEXT_OFFSET,
        MAV_CMD_DO_SET_ROI_NONE,
        MAV_CMD_DO_SET_ROI,
        MAV_CMD_DO_DIGICAM_CONTROL,
        MAV_CMD_DO_MOUNT_CONFIGURE,
        MAV_CMD_DO_MOUNT_CONTROL,
        MAV_CMD_DO_SET_CAM_TRIGG_DIST,
        MAV_CMD_DO_SET_CAM_TRIGG_INTERVAL,
        MAV_CMD_SET_CAMERA_MODE,
        MAV_CMD_SET_CAMERA_ZOOM,
        MAV_CMD_SET_CAMERA_FOCUS,
        MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
        MAV_CMD_DO_GIMBAL_MANAGER_CONFIGURE,
        MAV_CMD_IMAGE_START_CAPTURE,
        MAV_CMD_IMAGE_STOP_CAPTURE,
        MAV_CMD_VIDEO_START_CAPTURE,
        MAV_CMD_VIDEO_STOP_CAPTURE,
        MAV_CMD_DO_TRIGGER_CONTROL,
        MAV_CMD_CAMERA_TRACK_POINT,
    }
)
FENCE_COMMANDS = frozenset(
    {
        MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
        MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
        MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
        MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    }
)
RALLY_COMMANDS = frozenset({MAV_CMD_NAV_RALLY_POINT})

GLOBAL_FRAMES = frozenset(
    {
        MAV_FRAME_GLOBAL,
        MAV_FRAME_GLOBAL_RELATIVE_ALT,
        MAV_FRAME_GLOBAL_INT,
        MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
    }
)
RELATIVE_FRAMES = frozenset({MAV_FRAME_GLOBAL_RELATIVE_ALT, MAV_FRAME_GLOBAL_RELATIVE_ALT_INT})
MAX_ITEMS = 500


@dataclass(frozen=True)
class MissionItem:
    """One MISSION_ITEM_INT, with ``lat``/``lon`` in degrees."""

    seq: int
    frame: int
    command: int
    current: int = 0
    autocontinue: int = 1
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    lat: float = 0.0
    lon: float = 0.0
    z: float = 0.0
    mission_type: int = 0

    @property
    def is_nav(self) -> bool:
        return self.command in NAV_COMMANDS

    @property
    def has_position(self) -> bool:
        """Whether the item names a place (PX4 treats 0/0 on a land item as "here")."""
        return self.is_nav and not (self.lat == 0.0 and self.lon == 0.0)

    def alt_rel(self, home_alt_amsl: float) -> float:
        """Altitude above home, whatever the item's frame."""
        return self.z if self.frame in RELATIVE_FRAMES else self.z - home_alt_amsl


def check_item(item: MissionItem) -> int:
    """PX4's acceptance of one uploaded item: ``MAV_MISSION_ACCEPTED`` or why it is refused."""
    kind = item.mission_type
    if kind == MAV_MISSION_TYPE_FENCE:
        ok = item.command in FENCE_COMMANDS
    elif kind == MAV_MISSION_TYPE_RALLY:
        ok = item.command in RALLY_COMMANDS
    else:
        ok = item.command in NAV_COMMANDS or item.command in DO_COMMANDS
    if not ok:
        return MAV_MISSION_UNSUPPORTED
    needs_global = item.is_nav or kind != MAV_MISSION_TYPE_MISSION
    if needs_global and item.frame not in GLOBAL_FRAMES:
        return MAV_MISSION_UNSUPPORTED_FRAME
    if (needs_global and item.command != MAV_CMD_NAV_LAND) or item.has_position:
        if not (math.isfinite(item.lat) and -90.0 <= item.lat <= 90.0):
            return MAV_MISSION_INVALID_PARAM5_X
        if not (math.isfinite(item.lon) and -180.0 <= item.lon <= 180.0):
            return MAV_MISSION_INVALID_PARAM6_Y
    if item.is_nav and not math.isfinite(item.z) and item.command != MAV_CMD_NAV_LAND:
        return MAV_MISSION_INVALID_PARAM7
    if item.command == MAV_CMD_DO_JUMP and not (
        math.isfinite(item.param1) and 0 <= item.param1 < MAX_ITEMS
    ):
        return MAV_MISSION_INVALID_PARAM1
    if item.command == MAV_CMD_DO_JUMP and not (math.isfinite(item.param2) and item.param2 >= -1):
        return MAV_MISSION_INVALID_PARAM2
    return MAV_MISSION_ACCEPTED


class MissionStore:
    """The three lists PX4 keeps, and the current mission item."""

    def __init__(self) -> None:
        self._items: dict[int, list[MissionItem]] = {t: [] for t in MISSION_TYPES}
        self.current = 0
        self.version = 0  # bumps on every change of the plan, so the runner can restart

    def items(self, kind: int = MAV_MISSION_TYPE_MISSION) -> list[MissionItem]:
        return self._items.get(kind, [])

    def replace(self, kind: int, items: list[MissionItem]) -> None:
        """Install a whole uploaded list; the item marked current (else the first) is current."""
        self._items[kind] = [replace(it, current=0) for it in items]
        if kind == MAV_MISSION_TYPE_MISSION:
            marked = [it.seq for it in items if it.current]
            self.current = marked[0] if marked else 0
            self.version += 1

    def clear(self, kind: int) -> None:
        self.replace(kind, [])

    def set_current(self, seq: int) -> bool:
        """Make ``seq`` current; ``False`` when there is no such item."""
        if not 0 <= seq < len(self._items[MAV_MISSION_TYPE_MISSION]):
            return False
        self.current = seq
        return True
