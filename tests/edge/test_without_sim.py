"""A dock's install without the simulator: edge and dispatch import, and the edge runs real drivers.

Each test runs a Python process in which ``sim`` cannot be imported (a meta-path finder
refuses it), as on a dock whose install leaves the simulator out: every module of ``edge``
and ``dispatch`` imports, and ``outrider edge`` with the HTTP dock, a MAVSDK vehicle and a
V4L2 camera runs until the missing hardware stops it with a coded error, or runs not ready
until it is stopped.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from sim.broker import LocalBroker
from sim.net import free_tcp_port, free_udp_port
from tests.edge.conftest import Listener
from tests.edge.dock_controller import DockController
from tests.keys import dispatch_key_files, dock_key_files

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]

WITHOUT_SIM = """
import sys

class NoSim:
    def find_spec(self, name, path=None, target=None):
        if name == "sim" or name.startswith("sim."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoSim())
"""

IMPORT_ALL = """
import importlib, json, pkgutil
failed = {}
for top in ("edge", "dispatch"):
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed[info.name] = repr(exc)
loaded = sorted(m for m in sys.modules if m == "sim" or m.startswith("sim."))
print(json.dumps({"failed": failed, "sim_loaded": loaded}))
"""

RUN_CLI = """
from outrider.cli import main
code = main(sys.argv[1:])
assert not any(m == "sim" or m.startswith("sim.") for m in sys.modules), "sim was loaded"
sys.exit(code)
"""


def dock_toml(tmp_path: Path, *, dock_url: str, mqtt_url: str, hardware: str = "http") -> Path:
    path = tmp_path / "real-dock.toml"
    path.write_text(
        f"""state_dir = "state"

[signing]
public_key = "{dispatch_key_files()[1]}"
key = "{dock_key_files("real-01")[0]}"

[dock]
id = "real-01"
home = {{ lat = 51.5045, lon = -0.0865, alt_amsl_m = 31.0 }}

[dock.hardware]
type = "{hardware}"
url = "{dock_url}"
timeout_s = 1.0

[mqtt]
url = "{mqtt_url}"
backoff_initial_s = 0.1
backoff_max_s = 0.5

[vehicle]
url = "udpin://127.0.0.1:{free_udp_port()}"
connect_timeout_s = 2.0

[video.camera]
type = "v4l2"
device = "/dev/outrider-no-such-camera"
"""
    )
    return path


async def without_sim(
    code: str, *args: str
) -> tuple[asyncio.subprocess.Process, asyncio.StreamReader, asyncio.StreamReader]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WITHOUT_SIM + code, *args, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    return proc, proc.stdout, proc.stderr


async def finished(code: str, *args: str) -> tuple[int, str, str]:
    proc, stdout, stderr = await without_sim(code, *args)
    out, err = await asyncio.wait_for(asyncio.gather(stdout.read(), stderr.read()), 90)
    return await proc.wait(), out.decode(), err.decode()


async def test_every_module_of_edge_and_dispatch_imports_without_the_simulator() -> None:
    rc, out, err = await finished(IMPORT_ALL)
    assert rc == 0, err
    report = json.loads(out.splitlines()[-1])
    assert report == {"failed": {}, "sim_loaded": []}


async def test_an_edge_whose_dock_controller_does_not_answer_stops_with_a_coded_error(
    tmp_path: Path,
) -> None:
    closed = f"http://127.0.0.1:{free_tcp_port()}"
    config = dock_toml(tmp_path, dock_url=closed, mqtt_url=f"mqtt://127.0.0.1:{free_tcp_port()}")
    rc, _, err = await finished(RUN_CLI, "edge", "--config", str(config))
    assert rc == 2, err
    assert "outrider: [dock_unreachable] the dock controller at" in err
    assert "Traceback" not in err


async def test_a_config_naming_the_sim_dock_is_refused_naming_what_provides_it(
    tmp_path: Path,
) -> None:
    config = dock_toml(tmp_path, dock_url="http://127.0.0.1:1", mqtt_url="mqtt://127.0.0.1:1")
    config.write_text(config.read_text().replace('type = "http"', 'type = "sim"', 1))
    rc, _, err = await finished(RUN_CLI, "edge", "--config", str(config))
    assert rc == 2 and "Traceback" not in err
    assert "[driver_missing]" in err and "dock hardware 'sim' is not available here" in err
    assert "sim package" in err and "available: ['http']" in err


async def test_an_edge_with_real_drivers_runs_not_ready_while_its_vehicle_is_missing(
    tmp_path: Path, broker: LocalBroker
) -> None:
    with DockController() as controller:
        config = dock_toml(tmp_path, dock_url=controller.url, mqtt_url=broker.url)
        async with Listener(broker, "dfr/v1/real-01/#") as listener:
            proc, _, stderr = await without_sim(RUN_CLI, "edge", "--config", str(config))
            try:

                def vehicle_missing() -> dict[str, object] | None:
                    for m in reversed(listener.of("state")):
                        state = m.json()
                        codes = {r["code"] for r in state["not_ready"]}
                        if state["dock"]["wind_mps"] == 3.0 and "vehicle_not_ready" in codes:
                            return state  # type: ignore[no-any-return]
                    return None

                state = await listener.wait(vehicle_missing, 60, "a state from the real dock")
            finally:
                proc.send_signal(signal.SIGTERM)
                rc = await asyncio.wait_for(proc.wait(), 30)
            err = (await stderr.read()).decode()
    assert state["ready"] is False and state["dock"]["lid"] == "closed"
    assert any(m.payload == b"online" for m in listener.of("availability"))
    assert ("GET", "/status", None) in controller.requests
    assert rc == 0, err
    assert "Traceback" not in err
