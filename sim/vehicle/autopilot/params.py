"""PX4 parameters of the sim vehicle: PX4's names, types and defaults, and their wire encoding.

PX4 sends INT32 parameters "bytewise": the four bytes of the integer travel in the float field of
PARAM_VALUE / PARAM_SET, and MAVSDK decodes them that way for an autopilot that says it is PX4.
"""

from __future__ import annotations

import logging
import math
import struct
from dataclasses import dataclass

from edge.flight.mavlink_enums import MAV_PARAM_TYPE_INT32, MAV_PARAM_TYPE_REAL32

__all__ = [
    "PARAM_INT32",
    "PARAM_REAL32",
    "PX4_DEFAULTS",
    "ParamStore",
    "ParamTypeMismatch",
    "UnknownParam",
]

PARAM_INT32 = MAV_PARAM_TYPE_INT32
PARAM_REAL32 = MAV_PARAM_TYPE_REAL32

logger = logging.getLogger(__name__)

_I32 = struct.Struct("<i")
_F32 = struct.Struct("<f")

# name -> (type, default): what PX4 SITL (SIH quad, airframe 10040) reads after boot.
PX4_DEFAULTS: dict[str, tuple[int, float]] = {
    "BAT_CRIT_THR": (PARAM_REAL32, 0.07),
    "BAT_EMERGEN_THR": (PARAM_REAL32, 0.05),
    "BAT_LOW_THR": (PARAM_REAL32, 0.15),
    "COM_DISARM_LAND": (PARAM_REAL32, 2.0),
    "COM_DISARM_PRFLT": (PARAM_REAL32, 10.0),
    "COM_DLL_EXCEPT": (PARAM_INT32, 0),
    "COM_DL_LOSS_T": (PARAM_INT32, 10),
    "COM_FAIL_ACT_T": (PARAM_REAL32, 5.0),
    "COM_LOW_BAT_ACT": (PARAM_INT32, 3),  # PX4 SITL's rcS sets 3 (airframe default 0)
    "COM_OBL_RC_ACT": (PARAM_INT32, 0),
    "COM_RCL_EXCEPT": (PARAM_INT32, 0),
    "COM_RC_IN_MODE": (PARAM_INT32, 1),
    "COM_SPOOLUP_TIME": (PARAM_REAL32, 1.0),
    "GF_ACTION": (PARAM_INT32, 2),
    "GF_MAX_HOR_DIST": (PARAM_REAL32, 0.0),
    "GF_MAX_VER_DIST": (PARAM_REAL32, 0.0),
    "MAV_SYS_ID": (PARAM_INT32, 1),
    "MIS_TAKEOFF_ALT": (PARAM_REAL32, 2.5),
    "MPC_ACC_DOWN_MAX": (PARAM_REAL32, 3.0),
    "MPC_ACC_HOR": (PARAM_REAL32, 3.0),
    "MPC_ACC_UP_MAX": (PARAM_REAL32, 4.0),
    "MPC_LAND_ALT1": (PARAM_REAL32, 10.0),
    "MPC_LAND_ALT2": (PARAM_REAL32, 5.0),
    "MPC_LAND_SPEED": (PARAM_REAL32, 0.7),
    "MPC_TKO_RAMP_T": (PARAM_REAL32, 3.0),
    "MPC_TKO_SPEED": (PARAM_REAL32, 1.5),
    "MPC_XY_CRUISE": (PARAM_REAL32, 5.0),
    "MPC_XY_VEL_MAX": (PARAM_REAL32, 12.0),
    "MPC_YAWRAUTO_MAX": (PARAM_REAL32, 60.0),
    "MPC_Z_VEL_MAX_DN": (PARAM_REAL32, 1.5),
    "MPC_Z_VEL_MAX_UP": (PARAM_REAL32, 3.0),
    "MPC_Z_V_AUTO_DN": (PARAM_REAL32, 1.5),
    "MPC_Z_V_AUTO_UP": (PARAM_REAL32, 3.0),
    "NAV_ACC_RAD": (PARAM_REAL32, 2.0),
    "NAV_DLL_ACT": (PARAM_INT32, 0),
    "NAV_MC_ALT_RAD": (PARAM_REAL32, 0.8),
    "NAV_RCL_ACT": (PARAM_INT32, 2),
    "RTL_CONE_ANG": (PARAM_INT32, 45),
    "RTL_DESCEND_ALT": (PARAM_REAL32, 10.0),
    "RTL_LAND_DELAY": (PARAM_REAL32, 0.0),
    "RTL_RETURN_ALT": (PARAM_REAL32, 30.0),
    "RTL_TYPE": (PARAM_INT32, 0),
    "SDLOG_BACKEND": (PARAM_INT32, 1),
    "SDLOG_MODE": (PARAM_INT32, 0),
    "SYS_AUTOSTART": (PARAM_INT32, 10040),
}


class UnknownParam(KeyError):
    """A parameter name or index PX4 does not have."""


class ParamTypeMismatch(ValueError):
    """A PARAM_SET whose type is not the parameter's type (PX4 refuses it)."""


@dataclass(frozen=True)
class WireParam:
    """One PARAM_VALUE's fields."""

    name: str
    value: float
    type: int
    index: int
    count: int


def _sanitize(param_type: int, value: float) -> float:
    if param_type == PARAM_INT32:
        return float(int(value)) if math.isfinite(value) else 0.0
    return float(_F32.unpack(_F32.pack(value))[0]) if math.isfinite(value) else value


class ParamStore:
    """The vehicle's parameters, sorted by name like PX4's PARAM_REQUEST_LIST answer.

    Args:
        overrides: values that differ from PX4's defaults for this vehicle. A name the sim
            does not model is added (INT32 for a whole number, else REAL32), so that a dock's
            parameter list can be read back; it changes nothing in flight.
    """

    def __init__(self, overrides: dict[str, float] | None = None) -> None:
        self._types = {name: t for name, (t, _) in PX4_DEFAULTS.items()}
        self._values = {name: _sanitize(t, d) for name, (t, d) in PX4_DEFAULTS.items()}
        overrides = overrides or {}
        for name, value in overrides.items():
            if name not in self._types and 0 < len(name) <= 16:
                logger.info("parameter %s is not modelled; kept for reading back", name)
                whole = math.isfinite(value) and float(value).is_integer()
                self._types[name] = PARAM_INT32 if whole else PARAM_REAL32
                self._values[name] = 0.0
        self._names = sorted(self._values)
        for name, value in overrides.items():
            self.set(name, value)

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def get_int(self, name: str) -> int:
        """The value of an INT32 parameter."""
        return int(self._values[name])

    def __len__(self) -> int:
        return len(self._names)

    def set(self, name: str, value: float, param_type: int | None = None) -> WireParam:
        """Set a parameter, checking the type like PX4 when one is given.

        Raises:
            UnknownParam: no such parameter.
            ParamTypeMismatch: ``param_type`` is not the parameter's type.
        """
        if name not in self._types:
            raise UnknownParam(name)
        if param_type is not None and param_type != self._types[name]:
            raise ParamTypeMismatch(name)
        self._values[name] = _sanitize(self._types[name], value)
        return self.wire(name)

    def wire(self, key: str | int) -> WireParam:
        """The PARAM_VALUE of a parameter by name or index.

        Raises:
            UnknownParam: no such name or index.
        """
        if isinstance(key, int):
            if not 0 <= key < len(self._names):
                raise UnknownParam(str(key))
            name = self._names[key]
        elif key in self._values:
            name = key
        else:
            raise UnknownParam(key)
        return WireParam(
            name, self._values[name], self._types[name], self._names.index(name), len(self._names)
        )

    def all(self) -> list[WireParam]:
        """Every parameter in index order."""
        return [self.wire(i) for i in range(len(self._names))]


def encode_value(param: WireParam) -> float:
    """The float that carries ``param`` on the wire (bytewise for INT32, as PX4 does)."""
    if param.type == PARAM_INT32:
        clamped = max(-(2**31), min(2**31 - 1, int(param.value)))
        return float(_F32.unpack(_I32.pack(clamped))[0])
    return param.value


def decode_value(raw: float, param_type: int) -> float:
    """The value a PARAM_SET float carries for ``param_type`` (bytewise for INT32)."""
    if param_type == PARAM_INT32:
        try:
            return float(_I32.unpack(_F32.pack(raw))[0])
        except (OverflowError, struct.error):
            return 0.0
    return raw
