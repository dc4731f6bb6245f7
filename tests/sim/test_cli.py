"""``outrider sim vehicle | fault | state | sortie`` from the shell."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from sim.net import free_tcp_port, free_udp_port


async def outrider(*args: str, timeout_s: float = 60.0) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "outrider", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_vehicle_fault_and_state_commands_work_together() -> None:
    port, control = free_udp_port(), free_tcp_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "outrider", "sim", "vehicle", "--instance", "3",
        "--home=-33.8568,151.2153,12", "--speed-factor", "5", "--port", str(port),
        "--local-port", "0", "--control-port", str(control), "--param", "NAV_DLL_ACT=2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        assert ready["sysid"] == 4 and ready["control_port"] == control
        where = ("--instance", "3", "--control-port", str(control))
        code, out, _ = await outrider("sim", "fault", *where, "gps_loss", "battery_sag:to=50")
        assert code == 0, out
        code, out, _ = await outrider("sim", "state", *where)
        state = json.loads(out)
        assert state["sysid"] == 4 and state["lat"] == pytest.approx(-33.8568)
        assert not state["gps_ok"] and state["battery_pct"] == pytest.approx(50.0)
        code, out, _ = await outrider("sim", "fault", *where, "--clear-all")
        code, out, _ = await outrider("sim", "state", *where)
        assert json.loads(out)["gps_ok"]
        code, _, err = await outrider("sim", "fault", *where, "battery_sag:to=500")
        assert code == 2 and "[invalid_fault]" in err
        _, held = await asyncio.open_connection("127.0.0.1", control)  # still open at the stop
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0  # a clean stop on SIGTERM
    assert proc.stderr is not None
    stderr = (await proc.stderr.read()).decode()
    assert "Traceback" not in stderr and "destroyed but it is pending" not in stderr, stderr
    held.close()


async def test_bad_home_and_fault_specs_are_refused_with_a_code_before_anything_starts() -> None:
    code, _, err = await outrider("sim", "vehicle", "--home", "north,pole", "--local-port", "0")
    assert code == 2 and "[invalid_home]" in err
    code, _, err = await outrider("sim", "vehicle", "--fault", "meteor_strike", "--port", "1")
    assert code == 2 and "[invalid_fault]" in err
    code, _, err = await outrider(
        "sim", "fault", "--control-port", str(free_tcp_port()), "gps_loss"
    )
    assert code == 2 and "[sim_unreachable]" in err


@pytest.mark.slow
async def test_demo_sortie_prints_every_phase_from_takeoff_to_disarm() -> None:
    code, out, err = await outrider("sim", "sortie", "--speed-factor", "40", timeout_s=180)
    assert code == 0, err
    phases = ["health ok", "armed", "take-off complete", "mission started", "on scene",
              "returning", "landing", "disarmed"]  # fmt: skip
    positions = [out.find(p) for p in phases]
    assert -1 not in positions and positions == sorted(positions), out
