"""The launch API other parts' tests start vehicles with: start, reuse, kill, refusals."""

from __future__ import annotations

import pytest

from sim.vehicle import ControlError, launch


async def test_a_killed_vehicle_vanishes_and_its_control_socket_says_so() -> None:
    vehicle = launch(speed_factor=5.0)
    async with vehicle:
        assert (await vehicle.truth())["armed"] is False
        await vehicle.kill()
        with pytest.raises(ControlError) as refused:
            await vehicle.truth()
        assert refused.value.code == "sim_unreachable"


async def test_one_vehicle_object_runs_again_after_it_stopped_but_not_twice_at_once() -> None:
    vehicle = launch(speed_factor=5.0, instance=4)
    async with vehicle:
        first_pid = vehicle.pid
        with pytest.raises(ControlError) as twice:
            await vehicle.__aenter__()
        assert twice.value.code == "sim_reentered"
    async with vehicle:
        assert vehicle.pid != first_pid
        assert (await vehicle.truth())["sysid"] == 5


async def test_a_vehicle_that_cannot_start_fails_with_a_code() -> None:
    with pytest.raises(ControlError) as failed:
        async with launch(home="not,a,place"):
            pass
    assert failed.value.code == "sim_start_failed"


async def test_faults_params_wind_and_charge_go_through_the_control_socket() -> None:
    async with launch(speed_factor=5.0, battery_pct=50.0, params={"NAV_DLL_ACT": 2}) as v:
        assert await v.param("NAV_DLL_ACT") == 2
        assert await v.charge(10.0) == pytest.approx(60.0)
        await v.set_wind(6.0, 270.0)
        await v.inject("gps_loss")
        truth = await v.truth()
        assert not truth["gps_ok"] and truth["faults"][0]["kind"] == "gps_loss"
        await v.clear()
        assert (await v.truth())["gps_ok"]
        with pytest.raises(ControlError) as bad:
            await v.inject("battery_sag")  # needs to= or drain=
        assert bad.value.code == "invalid_fault"
