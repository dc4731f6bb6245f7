"""An unsigned command flies nothing: an edge without dispatch's key does not start (unless a
loudly logged development switch says so), and a running edge built from the shipped config
refuses unsigned dispatch, recall and abort from anyone on the broker, ground truth unmoved."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from sim.net import free_tcp_port, free_udp_port
from tests.edge.helpers import (
    CONFIGS,
    command,
    dispatch,
    edge_config,
    near,
    running_agent,
    sim_dock,
    sim_vehicle,
)
from tests.keys import signed
from tests.security.conftest import SecureBroker, observing

pytestmark = pytest.mark.timeout(180)


async def run_edge(config: Path, *flags: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "outrider", "edge", "--config", str(config), *flags,
        "--mqtt", f"mqtt://127.0.0.1:{free_tcp_port()}",
        "--vehicle", f"udpin://127.0.0.1:{free_udp_port()}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip


def without_keys(tmp_path: Path, extra: str = "") -> Path:
    """dock-01.toml with its [signing] keys taken out (and ``extra`` in their place)."""
    text = (CONFIGS / "dock-01.toml").read_text().replace('"nofly/', f'"{CONFIGS}/nofly/')
    kept = [ln for ln in text.splitlines() if not ln.startswith(("public_key =", "key ="))]
    config = tmp_path / "dock-01.toml"
    config.write_text("\n".join(kept).replace("[signing]", "[signing]\n" + extra) + "\n")
    return config


async def test_an_edge_without_dispatchs_key_refuses_to_start(tmp_path: Path) -> None:
    proc = await run_edge(without_keys(tmp_path), "--state-dir", str(tmp_path))
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    text = err.decode()
    assert proc.returncode == 2, text
    assert "signing: " in text and "public_key and key not set" in text
    assert "allow_unsigned = true for development only" in text and "Traceback" not in text


async def test_the_development_switch_starts_the_edge_and_says_so_loudly(tmp_path: Path) -> None:
    config = without_keys(tmp_path, "allow_unsigned = true")
    proc = await run_edge(config, "--state-dir", str(tmp_path))
    assert proc.stderr is not None
    seen = b""
    try:
        async with asyncio.timeout(60):
            while b"UNSIGNED commands" not in seen:
                line = await proc.stderr.readline()
                assert line, seen.decode()
                seen += line
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    text = seen.decode()
    assert "WARNING" in text and "DEVELOPMENT MODE" in text
    assert "anyone who can publish on the broker can" in text


async def test_unsigned_dispatch_recall_and_abort_from_the_broker_move_nothing(
    secure_broker: SecureBroker, tmp_path: Path
) -> None:
    async with sim_vehicle() as vehicle:
        config = edge_config(
            secure_broker,  # type: ignore[arg-type]
            tmp_path / "edge",
            vehicle_url=vehicle.url,
            mqtt=secure_broker.edge_mqtt("dock-01"),
        )
        assert config.signing.public_key and not config.signing.allow_unsigned
        async with (
            running_agent(config, dock=sim_dock(vehicle)) as agent,
            observing(secure_broker) as seen,
            secure_broker.client("dispatch") as attacker,  # dispatch's broker password, no key
        ):
            await seen.wait(lambda: agent.state().ready, within=30)

            async def send(cmd: dict[str, object]) -> str:
                await attacker.publish("dfr/v1/dock-01/cmd", json.dumps(cmd).encode(), qos=1)
                return str((await seen.ack_for(str(cmd["id"])))["code"])

            assert await send(dispatch(near(1.0))) == "unsigned"
            truth = await vehicle.truth()
            assert not truth["armed"] and truth["landed"] and seen.events() == []
            assert await send(signed(dispatch(near(1.0), duration_s=120))) == "accepted"
            await seen.wait(lambda: any(e["type"] == "on_scene" for e in seen.events()), 90)
            for cmd in (command("recall"), command("abort", body={"action": "land_now"})):
                assert await send(cmd) == "unsigned"
            await asyncio.sleep(1.0)  # what a recall or abort would have started, it did not
            types = [e["type"] for e in seen.events()]
            assert not {"recalled", "aborted", "returning", "landing"} & set(types), types
            assert agent.machine.phase == "on_scene"
            truth = await vehicle.truth()
            assert truth["armed"] and not truth["landed"] and truth["home_dist_m"] > 500
