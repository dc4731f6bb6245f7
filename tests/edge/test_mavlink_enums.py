"""The shared MAVLink table: every number is pymavlink's, and the edge needs no pymavlink for it."""

from __future__ import annotations

import subprocess
import sys

from pymavlink.dialects.v20 import common

from edge.flight import mavlink_enums

# In MAVLink's common.xml but newer than the pymavlink this project pins.
NEWER_THAN_PYMAVLINK = {"MAV_RESULT_COMMAND_UNSUPPORTED_MAV_FRAME"}


def table() -> dict[str, int]:
    return {
        name: value
        for name, value in vars(mavlink_enums).items()
        if name.startswith("MAV_") and isinstance(value, int)
    }


def enum_named(name: str) -> str:
    """The MAVLink enum pymavlink files ``name`` under (``MAV_MISSION_ACCEPTED``: the result)."""
    return next(
        enum
        for enum, entries in common.enums.items()
        if any(entry.name == name for entry in entries.values())
    )


def test_every_constant_has_pymavlinks_name_and_value() -> None:
    constants = table()
    assert len(constants) > 90  # commands, frames, results, mission, severity, heartbeat
    for name, value in constants.items():
        if name in NEWER_THAN_PYMAVLINK and not hasattr(common, name):
            continue
        assert getattr(common, name, None) == value, name
        assert common.enums[enum_named(name)][value].name == name, name


def test_a_constant_newer_than_pymavlink_takes_a_number_pymavlink_leaves_free() -> None:
    for name in NEWER_THAN_PYMAVLINK:
        enum = max((e for e in common.enums if name.startswith(e + "_")), key=len)
        entry = common.enums[enum].get(table()[name])
        assert entry is None or entry.name in (name, f"{enum}_ENUM_END"), name


def test_the_edge_builds_missions_without_loading_pymavlink() -> None:
    code = (
        "import sys, edge.flight, edge.flight.mission, edge.flight.mavlink_enums; "
        "sys.exit('pymavlink' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
