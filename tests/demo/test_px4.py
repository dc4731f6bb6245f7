"""Real PX4 SITL as the vehicle: ``outrider sim px4``, and the one-incident scenario on PX4.

Set ``OUTRIDER_PX4_BUILD`` to a PX4 build directory (``build/px4_sitl_default``) to run them.
PX4 SIH runs in real time only, so the scenario takes minutes and is marked slow.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import psutil
import pytest

from outrider.demo.vehicles import free_px4_instances
from sim.px4 import PX4_BUILD_ENV
from tests.demo.conftest import CONFIGS, ONE_INCIDENT, REPO, alive, demo_command

AT_THE_PIN = CONFIGS / "scenarios" / "at-the-pin.toml"

pytestmark = [
    pytest.mark.px4,
    pytest.mark.skipif(
        not os.environ.get(PX4_BUILD_ENV),
        reason=f"no PX4 SITL build: set {PX4_BUILD_ENV} to a PX4 build directory to run",
    ),
]


def px4_processes_under(folder: Path) -> list[psutil.Process]:
    """PX4 processes whose working directory lies in ``folder``."""
    found = []
    for p in psutil.process_iter(["name", "cwd"]):
        cwd = p.info.get("cwd") or ""
        if p.info.get("name") == "px4" and cwd.startswith(str(folder)):
            found.append(p)
    return found


@pytest.mark.timeout(120)
async def test_sim_px4_starts_px4_ready_for_takeoff_and_stops_it_on_ctrl_c(
    tmp_path: Path,
) -> None:
    (instance,) = free_px4_instances(1)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "outrider", "sim", "px4", "--instance", str(instance),
        "--home", "51.5045,-0.0865,31", "--workdir", str(tmp_path / "px4"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip
    assert proc.stdout is not None
    ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 90))
    assert ready["event"] == "ready"
    assert ready["url"] == f"udpin://127.0.0.1:{14540 + instance}"
    running = px4_processes_under(tmp_path)
    assert running, "PX4 runs in the given working directory"
    proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert alive(running) == []
    env = (tmp_path / "px4" / "px4.out").read_text(errors="replace")
    assert "Ready for takeoff" in env


@pytest.mark.slow
@pytest.mark.timeout(1500)
async def test_the_one_incident_scenario_flies_on_px4_sitl_in_real_time(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    proc = await asyncio.create_subprocess_exec(
        *demo_command(
            "--headless", "--json", "--scenario", str(ONE_INCIDENT), "--vehicle", "px4",
            "--px4-build", os.environ[PX4_BUILD_ENV], "--state-dir", str(state),
        ),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 1400)
    assert out, err.decode()[-3000:]
    report = json.loads(out)
    (incident,) = report["incidents"]
    assert proc.returncode == 0 and report["ok"], (incident, err.decode()[-3000:])
    assert report["vehicle"] == "px4" and report["speed_factor"] == 1.0
    assert incident["dock_id"] == "dock-01" and incident["outcome"] == "served"
    times = incident["times"]
    assert times["on_scene_for_s"] == pytest.approx(120, abs=5)
    assert 0 < times["to_airborne_s"] < times["to_on_scene_s"] < times["to_docked_s"]
    assert px4_processes_under(state) == []


@pytest.mark.slow
@pytest.mark.timeout(1500)
async def test_at_the_pin_on_px4_sitl_the_scene_stays_in_view_and_four_of_five_are_found(
    tmp_path: Path,
) -> None:
    """The at-the-pin collision flown by PX4 SIH: the mission's region of interest turns the
    airframe (SIH has no gimbal) so the camera keeps the pin in the picture on scene."""
    proc = await asyncio.create_subprocess_exec(
        *demo_command(
            "--headless", "--json", "--scenario", str(AT_THE_PIN), "--vehicle", "px4",
            "--px4-build", os.environ[PX4_BUILD_ENV], "--docks", "1",
            "--state-dir", str(tmp_path / "demo"),
        ),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 1400)
    assert out, err.decode()[-3000:]
    report = json.loads(out)
    (incident,) = report["incidents"]
    assert report["vehicle"] == "px4" and incident["outcome"] == "served", incident
    assert incident["scene_in_view"] >= 0.90
    found = [a for a in incident["actors"] if a["nearest_m"] is not None and a["nearest_m"] <= 5]
    assert len(found) >= 4, incident["actors"]
