"""Flight modes and landed states of the sim vehicle, with PX4's custom-mode numbers."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from edge.flight.mavlink_enums import (
    MAV_MODE_FLAG_AUTO_ENABLED,
    MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
    MAV_MODE_FLAG_GUIDED_ENABLED,
    MAV_MODE_FLAG_MANUAL_INPUT_ENABLED,
    MAV_MODE_FLAG_SAFETY_ARMED,
    MAV_MODE_FLAG_STABILIZE_ENABLED,
)

__all__ = [
    "MAIN_AUTO",
    "MAIN_POSCTL",
    "FlightMode",
    "LandedState",
    "base_mode",
    "custom_mode",
    "mode_from_custom",
]

MAIN_MANUAL = 1
MAIN_ALTCTL = 2
MAIN_POSCTL = 3
MAIN_AUTO = 4
MAIN_ACRO = 5
MAIN_OFFBOARD = 6
MAIN_STABILIZED = 7


class FlightMode(StrEnum):
    """PX4's modes; values are the names MAVSDK shows (orbit shows as POSCTL there).

    The sim flies the automatic ones and orbit. The manual ones (which need sticks) and
    offboard can be selected on the ground, as PX4 allows, but not flown.
    """

    HOLD = "HOLD"
    TAKEOFF = "TAKEOFF"
    MISSION = "MISSION"
    RTL = "RETURN_TO_LAUNCH"
    LAND = "LAND"
    ORBIT = "ORBIT"
    MANUAL = "MANUAL"
    ALTCTL = "ALTCTL"
    POSCTL = "POSCTL"
    ACRO = "ACRO"
    OFFBOARD = "OFFBOARD"
    STABILIZED = "STABILIZED"

    @property
    def px4(self) -> tuple[int, int]:
        """PX4 ``(main_mode, sub_mode)`` of this mode."""
        return _PX4_MODES[self]

    @property
    def flyable(self) -> bool:
        """Whether the sim can fly this mode (the others need sticks or an offboard computer)."""
        return self in _FLYABLE

    @property
    def px4_name(self) -> str:
        """The name PX4 uses in its status texts ("Switching to Mission ...")."""
        return _PX4_NAMES.get(self, self.value.title())


_PX4_MODES: dict[FlightMode, tuple[int, int]] = {
    FlightMode.HOLD: (MAIN_AUTO, 3),
    FlightMode.TAKEOFF: (MAIN_AUTO, 2),
    FlightMode.MISSION: (MAIN_AUTO, 4),
    FlightMode.RTL: (MAIN_AUTO, 5),
    FlightMode.LAND: (MAIN_AUTO, 6),
    FlightMode.ORBIT: (MAIN_POSCTL, 1),
    FlightMode.MANUAL: (MAIN_MANUAL, 0),
    FlightMode.ALTCTL: (MAIN_ALTCTL, 0),
    FlightMode.POSCTL: (MAIN_POSCTL, 0),
    FlightMode.ACRO: (MAIN_ACRO, 0),
    FlightMode.OFFBOARD: (MAIN_OFFBOARD, 0),
    FlightMode.STABILIZED: (MAIN_STABILIZED, 0),
}
_FLYABLE = frozenset(
    {
        FlightMode.HOLD,
        FlightMode.TAKEOFF,
        FlightMode.MISSION,
        FlightMode.RTL,
        FlightMode.LAND,
        FlightMode.ORBIT,
    }
)
_PX4_NAMES = {
    FlightMode.RTL: "Return",
    FlightMode.POSCTL: "Position",
    FlightMode.ALTCTL: "Altitude",
}
_BY_PX4 = {v: k for k, v in _PX4_MODES.items()}


class LandedState(IntEnum):
    """MAV_LANDED_STATE as EXTENDED_SYS_STATE carries it."""

    UNDEFINED = 0
    ON_GROUND = 1
    IN_AIR = 2
    TAKEOFF = 3
    LANDING = 4


def custom_mode(mode: FlightMode) -> int:
    """HEARTBEAT ``custom_mode`` for a flight mode (PX4 packs sub << 24 | main << 16)."""
    main, sub = mode.px4
    return (sub << 24) | (main << 16)


def base_mode(mode: FlightMode, armed: bool) -> int:
    """HEARTBEAT ``base_mode`` flags for a flight mode, as PX4 sets them."""
    flags = (
        MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
        | MAV_MODE_FLAG_STABILIZE_ENABLED
        | MAV_MODE_FLAG_GUIDED_ENABLED
    )
    flags |= (
        MAV_MODE_FLAG_AUTO_ENABLED
        if mode.px4[0] == MAIN_AUTO
        else MAV_MODE_FLAG_MANUAL_INPUT_ENABLED
    )
    if armed:
        flags |= MAV_MODE_FLAG_SAFETY_ARMED
    return flags


def mode_from_custom(main: int, sub: int) -> FlightMode | None:
    """The flight mode for a PX4 ``(main, sub)`` pair, ``None`` when the sim does not fly it.

    ``AUTO`` with sub mode 0 means loiter to PX4 as well.
    """
    if main == MAIN_AUTO and sub == 0:
        return FlightMode.HOLD
    return _BY_PX4.get((main, sub))
