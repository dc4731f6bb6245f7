"""On-scene patterns: one module each, found by the registry, carried by the protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dispatch.config import DispatchSettings
from edge.config import load_config
from edge.errors import ConfigError, ProtocolError
from edge.flight.mavlink_enums import MAV_CMD_DO_SET_ROI_LOCATION, MAV_CMD_DO_SET_ROI_NONE
from edge.flight.mission import Land, Loiter, LookAhead, LookAt, Orbit, Waypoint
from edge.geo import LatLon, destination, distance_m
from edge.patterns.base import Approach
from edge.patterns.hold import HoldPattern
from edge.patterns.orbit import OrbitPattern
from edge.patterns.registry import DEFAULT_KEY, PATTERNS
from edge.protocol import DispatchCommand, parse_command

REPO = Path(__file__).resolve().parents[2]
TARGET = LatLon(51.5074, -0.1278)
APPROACH = Approach(
    target=TARGET,
    alt_rel_m=60.0,
    coming_from=destination(TARGET, 180, 1000),
    cruise_mps=15.0,
    linger_s=420.0,
)


def dispatch_json(on_scene: object) -> bytes:
    body: dict[str, object] = {"incident_id": "INC-1", "target": {"lat": 51.5, "lon": -0.1}}
    if on_scene is not None:
        body["on_scene"] = on_scene
    return json.dumps(
        {
            "v": 1,
            "id": "c-1",
            "dock_id": "dock-01",
            "type": "dispatch",
            "issued_at": "2030-01-01T00:00:00Z",
            "expires_at": "2030-01-01T00:01:00Z",
            "body": body,
        }
    ).encode()


def test_orbit_and_hold_are_registered_and_orbit_is_the_default() -> None:
    assert set(PATTERNS) >= {"orbit", "hold"} and DEFAULT_KEY == "orbit"
    assert PATTERNS["orbit"].model is OrbitPattern and PATTERNS["hold"].model is HoldPattern


@pytest.mark.parametrize(
    ("on_scene", "kind"),
    [
        ({"radius_m": 40, "duration_s": 300}, OrbitPattern),
        ({"pattern": "orbit", "radius_m": 40, "duration_s": 300, "speed_mps": 6}, OrbitPattern),
        ({"pattern": "hold", "radius_m": 40, "duration_s": 300}, HoldPattern),
        ({"pattern": "hold", "duration_s": 60}, HoldPattern),
    ],
)
def test_todays_on_scene_bodies_still_parse_to_their_pattern(
    on_scene: dict[str, object], kind: type
) -> None:
    cmd = parse_command(dispatch_json(on_scene))
    assert isinstance(cmd, DispatchCommand) and isinstance(cmd.body.on_scene, kind)
    assert cmd.body.on_scene.duration_s == on_scene["duration_s"]


@pytest.mark.parametrize(
    "on_scene",
    [{"pattern": "spiral"}, {"pattern": "orbit", "radius_m": 2}, {"pattern": 7}, "orbit"],
)
def test_an_unknown_pattern_or_a_bad_field_is_an_invalid_field(on_scene: object) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_command(dispatch_json(on_scene))
    assert info.value.code == "invalid_field"


def test_the_orbit_flies_into_its_circle_and_the_hold_hovers_over_the_target() -> None:
    orbit = OrbitPattern(radius_m=50, speed_mps=6)
    entry, circle = orbit.steps(APPROACH)
    assert isinstance(entry, Waypoint) and isinstance(circle, Orbit)
    assert distance_m(entry.point, TARGET) == pytest.approx(50, abs=0.5)
    assert circle.speed_mps == 6 and circle.turns * 2 * 3.1416 * 50 >= 420 * 6
    assert orbit.reach_m() == 50 and orbit.airspeed_mps() == 6
    over, hover = HoldPattern().steps(APPROACH)
    assert isinstance(over, Waypoint) and over.point == TARGET
    assert isinstance(hover, Loiter) and hover.seconds == 420
    assert HoldPattern().reach_m() == 0 and HoldPattern().airspeed_mps() == 0


def test_the_scene_is_the_region_of_interest_from_the_approach_and_the_way_home_clears_it() -> None:
    from edge.sortie.missions import return_mission, transit_mission
    from tests.edge.test_preflight import READY
    from tests.test_feasibility import CALM, CONFIGS, edge_verdict

    config = load_config(CONFIGS / "dock-01.toml")
    home = LatLon(config.dock.home.lat, config.dock.home.lon)
    target = destination(home, 45, 600)
    plan = edge_verdict(config, [], target, None, OrbitPattern(), READY, CALM)
    assert not isinstance(plan, Exception)
    tm = transit_mission(plan, cruise_mps=12, acceptance_m=5)
    *transit, look, entry, circle = tm.mission.steps
    assert look == LookAt(target) and isinstance(entry, Waypoint) and isinstance(circle, Orbit)
    assert all(isinstance(s, Waypoint) for s in transit)
    roi = [i for i in tm.mission.items() if i.command == MAV_CMD_DO_SET_ROI_LOCATION]
    assert len(roi) == 1 and (roi[0].x, roi[0].y) == (
        round(target.lat * 1e7),
        round(target.lon * 1e7),
    )
    rm = return_mission(
        target, 20, home, [], alt_rel_m=20, cruise_mps=12, acceptance_m=5, margin_m=30
    )
    assert rm.mission.steps[0] == LookAhead() and isinstance(rm.mission.steps[-1], Land)
    assert rm.mission.items()[0].command == MAV_CMD_DO_SET_ROI_NONE


def test_configuration_files_refuse_a_key_their_pattern_does_not_have() -> None:
    dock = {"id": "d", "home": {"lat": 51.5, "lon": -0.1, "alt_amsl_m": 20}}
    keys = {"public_key": "dispatch.pub.pem", "key": "d.pem"}  # named; not read here
    config = load_config(None, dock=dock, flight={"on_scene": {"pattern": "hold"}}, signing=keys)
    assert isinstance(config.flight.on_scene, HoldPattern)
    with pytest.raises(ConfigError, match="hold has no radius_m"):
        hold = {"pattern": "hold", "radius_m": 40}
        load_config(None, dock=dock, flight={"on_scene": hold}, signing=keys)
    with pytest.raises(ValueError, match="orbit has no radius"):
        DispatchSettings(dispatch={"on_scene": {"radius": 40}})
    assert DispatchSettings().dispatch.on_scene == OrbitPattern(speed_mps=5.0)


BOX = '''
"""The box pattern: fly the four corners of a square around the target."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from edge.geo import destination
from edge.patterns.base import Approach, OnScenePattern

KEY: Final = "box"


class BoxPattern(OnScenePattern):
    """Corners of a square, ``half_m`` from the target, at ``speed_mps``."""

    pattern: Literal["box"] = KEY
    half_m: float = Field(60.0, gt=0)
    speed_mps: float = Field(6.0, gt=0)

    def airspeed_mps(self) -> float:
        return self.speed_mps

    def reach_m(self) -> float:
        return self.half_m * 1.4142

    def steps(self, approach: Approach) -> list:
        from edge.flight.mission import Waypoint

        a = approach
        return [
            Waypoint(destination(a.target, b, self.reach_m()), a.alt_rel_m, self.speed_mps)
            for b in (45, 135, 225, 315)
        ]
'''

TRY_IT = """
import json, sys
import edge.patterns

edge.patterns.__path__.append(sys.argv[1])  # as if box.py were dropped into edge/patterns/

from dispatch.choice import Mission
from dispatch.config import DispatchSettings
from edge.config import load_config
from edge.geo import destination
from edge.protocol import parse_command
from edge.sortie.missions import transit_mission
from tests.edge.test_patterns import dispatch_json
from sim.drivers import register
from tests.test_feasibility import CALM, HOME, READY, dispatch_verdict, edge_verdict

register()  # the default `type = "sim"` dock, as the command line's wiring adds it

config = load_config(None, dock={"id": "d", "home": {"lat": HOME.lat, "lon": HOME.lon,
                                                      "alt_amsl_m": 20}},
                     signing={"public_key": "dispatch.pub.pem", "key": "d.pem"})
box = parse_command(dispatch_json({"pattern": "box", "half_m": 80})).body.on_scene
target = destination(HOME, 90, 1500)
plan = edge_verdict(config, [], target, None, box, READY, CALM)
hold = edge_verdict(config, [], target, None, parse_command(
    dispatch_json({"pattern": "hold", "duration_s": 300})).body.on_scene, READY, CALM)
steps = transit_mission(plan, cruise_mps=15, acceptance_m=5).mission.steps
scene = DispatchSettings(dispatch={"on_scene": {"pattern": "box", "half_m": 80}}).dispatch.on_scene
chosen = dispatch_verdict(config, [], Mission(target, on_scene_s=300, pattern=scene), READY, CALM)
print(json.dumps({
    "type": type(box).__name__,
    "steps": len(steps),
    "box_pct": plan.needed_pct,
    "hold_pct": hold.needed_pct,
    "dispatch_pct": chosen.needed_pct,
}))
"""


def test_a_new_pattern_is_one_module_and_parses_plans_and_is_priced(tmp_path: Path) -> None:
    (tmp_path / "box.py").write_text(textwrap.dedent(BOX), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", TRY_IT, str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["type"] == "BoxPattern"
    assert out["steps"] == 5  # face the scene, then the four corners, straight from the dock
    assert out["box_pct"] > out["hold_pct"]  # 6 m/s round the box costs more than a hover
    assert out["dispatch_pct"] == out["box_pct"]
