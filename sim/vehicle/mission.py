"""Mission items as PX4 stores them: the plan, the geofence and the rally points, with checks.

An upload is checked item by item like PX4 does (frame, command, coordinates); a refused item
ends the upload with the MAV_MISSION_RESULT PX4 would send.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import IntEnum

__all__ = [
    "DO_COMMANDS",
    "NAV_COMMANDS",
    "MissionItem",
    "MissionResult",
    "MissionStore",
    "MissionType",
    "check_item",
]


class MissionType(IntEnum):
    """MAV_MISSION_TYPE."""

    MISSION = 0
    FENCE = 1
    RALLY = 2


class MissionResult(IntEnum):
    """MAV_MISSION_RESULT values the sim sends."""

    ACCEPTED = 0
    ERROR = 1
    UNSUPPORTED_FRAME = 2
    UNSUPPORTED = 3
    NO_SPACE = 4
    INVALID = 5
    INVALID_PARAM1 = 6
    INVALID_PARAM2 = 7
    INVALID_PARAM5_X = 10
    INVALID_PARAM6_Y = 11
    INVALID_PARAM7 = 12
    INVALID_SEQUENCE = 13
    DENIED = 14
    OPERATION_CANCELLED = 15


# MAV_CMD numbers.
NAV_WAYPOINT = 16
NAV_LOITER_UNLIM = 17
NAV_LOITER_TURNS = 18
NAV_LOITER_TIME = 19
NAV_RETURN_TO_LAUNCH = 20
NAV_LAND = 21
NAV_TAKEOFF = 22
NAV_DELAY = 93
DO_JUMP = 177
DO_CHANGE_SPEED = 178

# PX4 refuses NAV_LOITER_TURNS in a multicopter's mission (MAV_MISSION_UNSUPPORTED).
NAV_COMMANDS = frozenset({NAV_WAYPOINT, NAV_LOITER_UNLIM, NAV_LOITER_TIME, NAV_LAND, NAV_TAKEOFF})
# Items PX4 carries out without moving (camera, gimbal, ROI, speed, jumps, delays, home).
DO_COMMANDS = frozenset(
    {
        NAV_RETURN_TO_LAUNCH, NAV_DELAY, DO_JUMP, DO_CHANGE_SPEED,
        179, 183, 189, 195, 196, 197, 201, 203, 204, 205, 206, 214, 530, 531, 532,
        1000, 1001, 2000, 2001, 2500, 2501, 2003, 2004,
    }
)  # fmt: skip
FENCE_COMMANDS = frozenset({5001, 5002, 5003, 5004})
RALLY_COMMANDS = frozenset({5100})

FRAME_GLOBAL = 0
FRAME_MISSION = 2
FRAME_GLOBAL_RELATIVE_ALT = 3
FRAME_GLOBAL_INT = 5
FRAME_GLOBAL_RELATIVE_ALT_INT = 6
GLOBAL_FRAMES = frozenset(
    {FRAME_GLOBAL, FRAME_GLOBAL_RELATIVE_ALT, FRAME_GLOBAL_INT, FRAME_GLOBAL_RELATIVE_ALT_INT}
)
RELATIVE_FRAMES = frozenset({FRAME_GLOBAL_RELATIVE_ALT, FRAME_GLOBAL_RELATIVE_ALT_INT})
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


def check_item(item: MissionItem) -> MissionResult:
    """PX4's acceptance of one uploaded item: ``ACCEPTED`` or the reason it is refused."""
    kind = item.mission_type
    if kind == MissionType.FENCE:
        ok = item.command in FENCE_COMMANDS
    elif kind == MissionType.RALLY:
        ok = item.command in RALLY_COMMANDS
    else:
        ok = item.command in NAV_COMMANDS or item.command in DO_COMMANDS
    if not ok:
        return MissionResult.UNSUPPORTED
    needs_global = item.is_nav or kind != MissionType.MISSION
    if needs_global and item.frame not in GLOBAL_FRAMES:
        return MissionResult.UNSUPPORTED_FRAME
    if (needs_global and item.command != NAV_LAND) or item.has_position:
        if not (math.isfinite(item.lat) and -90.0 <= item.lat <= 90.0):
            return MissionResult.INVALID_PARAM5_X
        if not (math.isfinite(item.lon) and -180.0 <= item.lon <= 180.0):
            return MissionResult.INVALID_PARAM6_Y
    if item.is_nav and not math.isfinite(item.z) and item.command != NAV_LAND:
        return MissionResult.INVALID_PARAM7
    if item.command == DO_JUMP and not (
        math.isfinite(item.param1) and 0 <= item.param1 < MAX_ITEMS
    ):
        return MissionResult.INVALID_PARAM1
    if item.command == DO_JUMP and not (math.isfinite(item.param2) and item.param2 >= -1):
        return MissionResult.INVALID_PARAM2
    return MissionResult.ACCEPTED


class MissionStore:
    """The three lists PX4 keeps, and the current mission item."""

    def __init__(self) -> None:
        self._items: dict[int, list[MissionItem]] = {t: [] for t in MissionType}
        self.current = 0
        self.version = 0  # bumps on every change of the plan, so the runner can restart

    def items(self, kind: int = MissionType.MISSION) -> list[MissionItem]:
        return self._items.get(kind, [])

    def replace(self, kind: int, items: list[MissionItem]) -> None:
        """Install a whole uploaded list; the item marked current (else the first) is current."""
        self._items[kind] = [replace(it, current=0) for it in items]
        if kind == MissionType.MISSION:
            marked = [it.seq for it in items if it.current]
            self.current = marked[0] if marked else 0
            self.version += 1

    def clear(self, kind: int) -> None:
        self.replace(kind, [])

    def set_current(self, seq: int) -> bool:
        """Make ``seq`` current; ``False`` when there is no such item."""
        if not 0 <= seq < len(self._items[MissionType.MISSION]):
            return False
        self.current = seq
        return True
