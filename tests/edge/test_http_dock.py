"""The HTTP/JSON dock driver against a real controller served by the test, and its parser fuzzed."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config import load_config
from edge.dock import DOCKS, Dock, DockError, open_dock
from edge.dock.http_dock import HttpDock, HttpDockConfig, parse_status
from edge.errors import ConfigError
from edge.protocol import DockStatus
from sim.net import free_tcp_port
from tests.edge.dock_controller import DockController

pytestmark = pytest.mark.timeout(60)


def dock_for(controller: DockController, **extra: Any) -> HttpDock:
    return HttpDock(HttpDockConfig(url=controller.url, poll_s=0.1, stale_s=0.5, **extra))


async def until(dock: HttpDock, what: str, check: Callable[[], bool], within: float = 5.0) -> None:
    try:
        async with asyncio.timeout(within):
            while not check():
                await dock.next_poll()
    except TimeoutError:
        raise AssertionError(f"no {what} within {within:g} s") from None


async def test_the_dock_opens_and_closes_its_lid_switches_the_charger_and_reads_the_wind() -> None:
    with DockController(lid_time_s=0.3) as controller:
        async with dock_for(controller) as dock:
            assert dock.status() == DockStatus(
                lid="closed", charging=False, wind_mps=3.0, wind_from_deg=250.0
            )
            wind = dock.wind()
            assert wind is not None and (wind.speed_mps, wind.from_deg) == (3.0, 250.0)
            await dock.open_lid(5.0)
            assert controller.lid == "open" and dock.status().lid == "open"
            await dock.close_lid(5.0)
            assert controller.lid == "closed"
            await dock.set_charging(True)
            assert controller.charging
            await until(dock, "charging read back", lambda: dock.status().charging)
            controller.wind = (14.0, 10.0)
            await until(dock, "new wind read", lambda: dock.status().wind_mps == 14.0)
    posts = [(path, body) for method, path, body in controller.requests if method == "POST"]
    assert [p for p in posts if p[0] == "/lid"] == [
        ("/lid", {"position": "open"}),
        ("/lid", {"position": "closed"}),
    ]
    # a poll that read the status just before the switch may ask again: never for "off"
    assert {str(body) for path, body in posts if path == "/charger"} == {str({"on": True})}


async def test_a_controller_that_does_not_answer_is_refused_as_unreachable_at_start() -> None:
    config = HttpDockConfig(url=f"http://127.0.0.1:{free_tcp_port()}", timeout_s=1.0)
    with pytest.raises(DockError) as err:
        async with HttpDock(config):
            pass
    assert err.value.code == "dock_unreachable" and "[dock.hardware] url" in err.value.reason


async def test_a_jammed_lid_times_out_as_not_ready_and_reports_where_it_stopped() -> None:
    with DockController(lid_time_s=0.1) as controller:
        async with dock_for(controller) as dock:
            controller.jammed = True
            with pytest.raises(DockError) as err:
                await dock.open_lid(0.8)
    assert err.value.code == "dock_not_ready"
    assert "did not open within 0.8 s" in err.value.reason and "opening" in err.value.reason


async def test_a_controller_gone_quiet_makes_the_dock_unknown_then_catches_up_when_it_is_back() -> (
    None
):
    with DockController() as controller:
        async with dock_for(controller) as dock:
            controller.down = True
            await dock.set_charging(True)  # not switched yet, and no error for the caller
            await until(dock, "status gone stale", lambda: dock.status().lid == "unknown")
            assert dock.wind() is None and not controller.charging
            with pytest.raises(DockError) as err:
                await dock.open_lid(1.0)
            assert err.value.code == "dock_unreachable"
            controller.down = False
            await until(dock, "status back", lambda: dock.status().lid == "closed")
            await until(dock, "charger switched as asked", lambda: controller.charging)


async def test_garbage_from_the_controller_is_a_bad_reply_and_a_wrong_token_is_refused() -> None:
    with DockController(token="s3cret") as controller:
        async with dock_for(controller, token="s3cret") as dock:
            assert dock.status().lid == "closed"
        with pytest.raises(DockError) as err:
            async with dock_for(controller, token="wrong"):
                pass
        assert err.value.code == "dock_bad_reply" and "401" in err.value.reason
        controller.garbage = b'{"lid": "ajar", "charging": false}'
        with pytest.raises(DockError) as err:
            async with dock_for(controller, token="s3cret"):
                pass
        assert err.value.code == "dock_bad_reply" and "lid" in err.value.reason


def test_a_config_picks_the_http_driver_and_a_bad_url_is_named(tmp_path: Path) -> None:
    assert "http" in DOCKS.keys()  # noqa: SIM118 - a registry, not a dict
    dock = (
        '[signing]\npublic_key = "dispatch.pub.pem"\nkey = "d1.pem"\n'
        '[dock]\nid = "d1"\nhome = { lat = 51.5, lon = -0.1, alt_amsl_m = 20 }\n'
    )
    path = tmp_path / "dock.toml"
    path.write_text(dock + '[dock.hardware]\ntype = "http"\nurl = "http://10.0.0.9:8080"\n')
    config = load_config(path)
    assert isinstance(config.dock.hardware, HttpDockConfig)
    assert config.dock.hardware.lid_time_s == 20.0
    assert isinstance(open_dock(config.dock.hardware), HttpDock)
    path.write_text(dock + '[dock.hardware]\ntype = "http"\nurl = "ftp://dock"\n')
    with pytest.raises(ConfigError, match=r"dock\.hardware\.url"):
        load_config(path)
    path.write_text(dock + '[dock.hardware]\ntype = "can-bus"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.code == "driver_missing" and "'can-bus'" in err.value.reason


def test_the_http_dock_fits_the_dock_seam() -> None:
    dock: Dock = HttpDock(HttpDockConfig(url="http://127.0.0.1:1"))
    assert dock.status().lid == "unknown"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
near_valid = st.fixed_dictionaries(
    {},
    optional={
        "lid": st.sampled_from(["open", "closed", "opening", "closing", "unknown", "ajar", 1]),
        "charging": st.one_of(st.booleans(), st.integers(), st.text(max_size=3)),
        "wind_mps": st.one_of(st.none(), st.floats(), st.integers(), st.text(max_size=3)),
        "wind_from_deg": st.one_of(st.none(), st.floats(), st.integers()),
    },
)
replies = (
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | near_valid.map(lambda v: json.dumps(v, allow_nan=True).encode())
)


@settings(max_examples=400, deadline=None)
@given(body=replies)
def test_any_status_answer_parses_to_a_valid_status_or_a_bad_reply(body: bytes) -> None:
    try:
        status = parse_status(body)
    except DockError as exc:
        assert exc.code == "dock_bad_reply"
        return
    DockStatus.model_validate(status.model_dump())  # within the wire contract's bounds
    assert status.wind_mps is None or status.wind_mps >= 0


def test_a_driver_whose_library_is_missing_is_left_out_and_a_config_naming_it_says_why(
    tmp_path: Path,
) -> None:
    path = tmp_path / "dock.toml"
    path.write_text(
        '[signing]\npublic_key = "dispatch.pub.pem"\nkey = "d1.pem"\n'
        '[dock]\nid = "d1"\nhome = { lat = 51.5, lon = -0.1, alt_amsl_m = 20 }\n'
        '[dock.hardware]\ntype = "http"\nurl = "http://10.0.0.9:8080"\n'
    )
    probe = (
        "import sys\n"
        "sys.modules['httpx'] = None  # as if it were not installed\n"
        "from edge.config import load_config\n"
        "from edge.errors import ConfigError\n"
        "try:\n"
        f"    load_config(__import__('pathlib').Path({str(path)!r}))\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.startswith("[driver_missing]")
    assert "dock hardware 'http' is not available here" in done.stdout
    assert "drivers that could not load: http_dock:" in done.stdout and "httpx" in done.stdout
