"""The PX4 SITL launcher: refuses what is not a build directory; flies when one is given."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.errors import ConfigError
from sim.px4 import DOCK_PARAMS, PX4_BUILD_ENV, Px4Sitl, check_build_dir


def test_a_folder_without_bin_px4_is_refused_with_what_to_provide(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no executable bin/px4"):
        check_build_dir(tmp_path)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "px4").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "px4").chmod(0o755)
    with pytest.raises(ConfigError, match="no etc/"):
        check_build_dir(tmp_path)


def test_dock_parameters_reach_px4_through_its_environment(tmp_path: Path) -> None:
    for sub in ("bin", "etc"):
        (tmp_path / sub).mkdir()
    (tmp_path / "bin" / "px4").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "px4").chmod(0o755)
    sitl = Px4Sitl(tmp_path, instance=3, params={"NAV_DLL_ACT": 3})
    env = sitl.environment()
    assert env["PX4_SYS_AUTOSTART"] == "10040"
    assert env["PX4_PARAM_NAV_DLL_ACT"] == "3"
    assert env["PX4_PARAM_COM_LOW_BAT_ACT"] == f"{DOCK_PARAMS['COM_LOW_BAT_ACT']:g}"
    assert sitl.url == "udpin://127.0.0.1:14543"


@pytest.mark.px4
@pytest.mark.skipif(
    not os.environ.get(PX4_BUILD_ENV), reason=f"{PX4_BUILD_ENV} names no PX4 SITL build directory"
)
async def test_px4_sitl_starts_ready_for_takeoff_and_stops_cleanly() -> None:
    async with Px4Sitl(Path(os.environ[PX4_BUILD_ENV]), instance=7) as px4:
        assert px4.log_path.read_text(errors="replace").count("Ready for takeoff") >= 1
        pid_dir = px4.workdir
    assert pid_dir.exists() is False
