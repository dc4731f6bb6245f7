"""Stopping the demo: Ctrl-C in mid-sortie, or the demo killed outright, leaves no process."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import httpx
import pytest

from tests.demo.conftest import DemoProcess, alive, demo_process

pytestmark = pytest.mark.timeout(240)


async def wait_until_airborne(demo: DemoProcess, timeout_s: float = 90.0) -> tuple[str, str]:
    """Read the UI address and token from the banner, then poll dispatch until a drone flies;
    the address and the token."""
    banner = await demo.line_with("control room:", 120)
    url = re.search(r"(http://[0-9.:]+)/", banner)
    token = await demo.line_with("", 5) if "token" not in banner else banner
    match = re.search(r"token (\S+)", token)
    assert url and match, demo.lines
    headers = {"Authorization": f"Bearer {match.group(1)}"}
    async with httpx.AsyncClient(base_url=url.group(1), headers=headers) as http:
        async with asyncio.timeout(timeout_s):
            while True:
                docks = (await http.get("/api/v1/docks")).json()
                if any(d["in_air"] for d in docks):
                    return url.group(1), match.group(1)
                await asyncio.sleep(0.3)


async def test_ctrl_c_in_mid_sortie_stops_every_part_cleanly_and_leaves_no_process(
    tmp_path: Path,
) -> None:
    state = tmp_path / "demo"
    args = ["--port", "0", "--speed-factor", "10", "--no-video", "--state-dir", str(state)]
    async with demo_process(*args) as demo:
        url, token = await wait_until_airborne(demo)
        sign_in = state / "control-room.txt"
        assert sign_in.read_text().split() == [f"{url}/", "token", token]
        assert sign_in.stat().st_mode & 0o077 == 0, "the token is for this user only"
        tree = demo.tree()
        commands = [p.cmdline()[1:4] for p in tree]
        assert commands.count(["-m", "outrider", "edge"]) == 3
        assert ["-m", "outrider", "dispatch"] in commands
        assert commands.count(["-m", "sim.vehicle", "--instance"]) == 3
        demo.proc.send_signal(signal.SIGINT)
        status = await asyncio.wait_for(demo.proc.wait(), 60)
        assert status == 0
        assert alive(tree) == []
    logs = {p.name: p.read_text(errors="replace") for p in (state / "logs").glob("*.log")}
    assert len(logs) == 7  # dispatch, three edges, three vehicles
    for name, text in logs.items():
        assert "Traceback" not in text, f"{name}:\n{text[-2000:]}"


async def test_a_demo_killed_outright_still_takes_its_parts_with_it(tmp_path: Path) -> None:
    args = ["--port", "0", "--docks", "1", "--no-video", "--state-dir", str(tmp_path / "demo")]
    async with demo_process(*args) as demo:
        await demo.line_with("control room:", 120)
        tree = demo.tree()
        assert len(tree) >= 3  # dispatch, an edge, a sim vehicle
        demo.proc.send_signal(signal.SIGKILL)
        await demo.proc.wait()
        async with asyncio.timeout(30):  # the guards' grace period, then they kill
            while True:  # other processes' exits: polled
                if not alive(tree):
                    break
                await asyncio.sleep(0.2)
