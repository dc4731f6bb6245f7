"""Dock choice: who can go, why the others cannot, and who gets there first."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from dispatch.choice import Chooser, Mission, Option
from dispatch.fleet import Fleet
from dispatch.service_errors import DockReason
from edge.airspace import NoFlyZone
from edge.geo import LatLon, destination
from edge.protocol import (
    Availability,
    DockStatus,
    Limits,
    Phase,
    Position,
    Reason,
    State,
    Telemetry,
)

SCENE = LatLon(51.5074, -0.1278)
LIMITS = {
    "max_range_m": 6000,
    "reserve_pct": 20,
    "ceiling_m": 120,
    "wind_limit_mps": 12,
    "transit_alt_m": 60,
    "cruise_mps": 15,
    "climb_mps": 3,
    "descent_mps": 2,
    "launch_overhead_s": 20,
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def add_dock(
    fleet: Fleet,
    dock_id: str,
    bearing: float,
    metres: float,
    *,
    battery: float = 95,
    ready: bool = True,
    phase: Phase = Phase.DOCKED,
    online: bool = True,
    telemetry: bool = True,
    wind: float = 0.0,
    **limits: Any,
) -> None:
    home = destination(SCENE, bearing, metres)
    fleet.on_availability(dock_id, Availability.ONLINE if online else Availability.OFFLINE)
    fleet.on_state(
        State(
            dock_id=dock_id,
            phase=phase,
            ready=ready,
            not_ready=[] if ready else [Reason(code="battery_low", reason="charging: 40% of 95%")],
            sortie_id="S-1" if phase not in (Phase.DOCKED, Phase.CHARGING) else None,
            battery_pct=battery,
            home=Position(lat=home.lat, lon=home.lon),
            dock=DockStatus(wind_mps=wind, wind_from_deg=0),
            limits=Limits(**{**LIMITS, **limits}),
        )
    )
    if telemetry:
        fleet.on_telemetry(
            Telemetry(
                dock_id=dock_id,
                lat=home.lat,
                lon=home.lon,
                alt_rel_m=0,
                alt_amsl_m=20,
                heading_deg=0,
                ground_speed_mps=0,
                battery_pct=battery,
                flight_mode="HOLD",
                armed=False,
                in_air=False,
                gps_fix=3,
            )
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fleet(clock: Clock) -> Fleet:
    return Fleet(stale_after_s=5.0, clock=clock)


MISSION = Mission(SCENE, on_scene_s=300)


def reasons_by_dock(chooser: Chooser) -> dict[str, str]:
    return {r.dock_id: r.code for r in chooser.reasons(MISSION)}


def test_the_nearest_ready_dock_wins(fleet: Fleet) -> None:
    add_dock(fleet, "far", 90, 3000)
    add_dock(fleet, "near", 200, 900)
    add_dock(fleet, "middle", 0, 1500)
    options = Chooser(fleet).choose(MISSION, k=3)
    assert [o.dock_id for o in options] == ["near", "middle", "far"]
    # on scene on the 40 m circle (a dock without a camera), 40 m short of the pin
    assert options[0].eta_s == pytest.approx(20 + 60 / 3 + (900 - 40) / 15, rel=0.01)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"battery": 30}, "battery_low"),
        ({"online": False}, "offline"),
        ({"phase": Phase.EN_ROUTE, "ready": False}, "busy"),
        ({"ready": False, "phase": Phase.CHARGING}, "dock_not_ready"),
        ({"max_range_m": 500}, "out_of_range"),
        ({"wind": 15}, "wind_high"),
        ({"ceiling_m": 40}, "above_ceiling"),
    ],
)
def test_a_dock_that_cannot_go_is_passed_over_with_its_reason(
    fleet: Fleet, kwargs: dict[str, Any], code: str
) -> None:
    add_dock(fleet, "near", 0, 800, **kwargs)
    add_dock(fleet, "far", 180, 2500)
    chooser = Chooser(fleet)
    assert [o.dock_id for o in chooser.choose(MISSION, k=2)] == ["far"]
    assert reasons_by_dock(chooser)["near"] == code


def test_a_dock_whose_telemetry_stopped_is_stale_and_never_chosen(
    fleet: Fleet, clock: Clock
) -> None:
    add_dock(fleet, "near", 0, 800)
    clock.now += 6
    add_dock(fleet, "far", 180, 2500)
    chooser = Chooser(fleet)
    assert [o.dock_id for o in chooser.choose(MISSION, k=2)] == ["far"]
    reason = next(r for r in chooser.reasons(MISSION) if r.dock_id == "near")
    assert reason.code == "stale" and "telemetry stopped" in reason.reason


def test_a_dock_that_never_sent_telemetry_turns_stale(fleet: Fleet, clock: Clock) -> None:
    add_dock(fleet, "quiet", 0, 800, telemetry=False)
    assert [o.dock_id for o in Chooser(fleet).choose(MISSION)] == ["quiet"]
    clock.now += 6
    assert Chooser(fleet).choose(MISSION) == []
    assert reasons_by_dock(Chooser(fleet)) == {"quiet": "stale"}


def box_around(p: LatLon, half_m: float, name: str = "zone") -> NoFlyZone:
    corners = [destination(p, b, half_m * 1.4142) for b in (45, 135, 225, 315)]
    return NoFlyZone(name, Polygon([(c.lon, c.lat) for c in corners]))


def test_a_target_inside_a_no_fly_zone_sends_no_dock(fleet: Fleet) -> None:
    add_dock(fleet, "near", 0, 800)
    chooser = Chooser(fleet, [box_around(SCENE, 100, "palace")])
    assert chooser.choose(MISSION) == []
    [reason] = chooser.reasons(MISSION)
    assert reason.code == "no_fly" and "palace" in reason.reason


def test_a_no_fly_zone_in_the_way_lengthens_the_route_and_can_put_a_dock_out_of_range(
    fleet: Fleet,
) -> None:
    add_dock(fleet, "behind", 0, 2000, max_range_m=2100)
    add_dock(fleet, "clear", 180, 2050)
    wall = destination(SCENE, 0, 1000)
    zone = NoFlyZone(
        "wall",
        Polygon(
            [
                (c.lon, c.lat)
                for c in (
                    destination(destination(wall, 90, 800), 0, 50),
                    destination(destination(wall, 270, 800), 0, 50),
                    destination(destination(wall, 270, 800), 180, 50),
                    destination(destination(wall, 90, 800), 180, 50),
                )
            ]
        ),
    )
    chooser = Chooser(fleet, [zone])
    [best] = chooser.choose(MISSION)
    assert best.dock_id == "clear"
    reason = next(r for r in chooser.reasons(MISSION) if r.dock_id == "behind")
    assert reason.code == "out_of_range" and "route" in reason.reason


def test_reserved_docks_are_skipped(fleet: Fleet) -> None:
    add_dock(fleet, "near", 0, 800)
    add_dock(fleet, "far", 180, 2500)
    held = {"near": DockReason("near", "busy", "sent to INC-1")}
    assert [o.dock_id for o in Chooser(fleet).choose(MISSION, exclude=held)] == ["far"]


def exhaustive(chooser: Chooser, k: int) -> list[Option]:
    found = [chooser.assess(v, MISSION) for v in chooser.fleet]
    ok = [o for o in found if isinstance(o, Option)]
    return sorted(ok, key=lambda o: (o.eta_s, o.dock_id))[:k]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 359),
            st.floats(50, 8000),
            st.floats(10, 100),
            st.booleans(),
            st.floats(0, 14),
            st.floats(0, 60),
        ),
        min_size=0,
        max_size=25,
    ),
    st.integers(1, 4),
)
# The nearer dock is on scene a stand-off short of the pin: its bound must not count that part.
@example([(0.0, 729.0, 46.0, True, 0.0, 0.0), (121.0, 741.0, 47.0, True, 1.0, 0.0)], 1)
def test_the_fast_choice_agrees_with_assessing_every_dock(
    docks: list[tuple[float, float, float, bool, float, float]], k: int
) -> None:
    fleet = Fleet(stale_after_s=5.0, clock=Clock())
    for i, (bearing, metres, battery, ready, wind, overhead) in enumerate(docks):
        add_dock(
            fleet,
            f"d{i:02d}",
            bearing,
            metres,
            battery=battery,
            ready=ready,
            phase=Phase.DOCKED if ready else Phase.CHARGING,
            wind=wind,
            launch_overhead_s=overhead,
        )
    chooser = Chooser(fleet)
    fast = chooser.choose(MISSION, k=k)
    slow = exhaustive(chooser, k)
    assert [round(o.eta_s, 6) for o in fast] == [round(o.eta_s, 6) for o in slow]


def test_a_dock_out_charging_or_low_could_fly_the_mission_once_ready_one_out_of_reach_never(
    fleet: Fleet,
) -> None:
    add_dock(fleet, "flying", 0, 900, phase=Phase.EN_ROUTE, ready=False, battery=40)
    add_dock(fleet, "charging", 90, 1200, phase=Phase.CHARGING, ready=False, battery=20)
    add_dock(fleet, "low", 180, 1500, battery=25)
    add_dock(fleet, "remote", 270, 9000)
    add_dock(fleet, "offline", 45, 800, online=False)
    add_dock(fleet, "windy", 135, 800, wind=20)
    chooser = Chooser(fleet)
    assert chooser.choose(MISSION, k=5) == []
    assert [o.dock_id for o in chooser.later(MISSION)] == ["flying", "charging", "low"]
    too_long = Mission(SCENE, on_scene_s=4 * 3600)  # more than a full battery holds
    assert chooser.later(too_long) == []
    assert reasons_by_dock(chooser)["flying"] == "busy"  # now, it is still busy
