"""The command line: ``outrider keys``, and ``outrider dispatch`` as an operator runs it."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dispatch.config import load_settings
from dispatch.keys import PRIVATE_NAME, PUBLIC_NAME
from edge.errors import ConfigError
from sim.broker import LocalBroker
from sim.net import free_tcp_port


def outrider(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "outrider", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_keys_init_writes_a_private_key_for_dispatch_only_and_refuses_to_overwrite(
    tmp_path: Path,
) -> None:
    made = outrider("keys", "init", "--dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    assert (tmp_path / PRIVATE_NAME).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / PUBLIC_NAME).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    again = outrider("keys", "init", "--dir", str(tmp_path))
    assert again.returncode == 2 and "--force" in again.stderr


def test_keys_token_prints_a_config_entry_that_loads(tmp_path: Path) -> None:
    made = outrider("keys", "token", "--name", "alice", "--role", "dispatcher")
    token = made.stdout.split(": ", 1)[1].split("\n", 1)[0]
    entry = made.stdout.split("\n\n", 1)[1]
    config = tmp_path / "d.toml"
    config.write_text('environment = "production"\nsecret = "0123456789abcdef0123"\n' + entry)
    settings = load_settings(config)
    assert settings.tokens[0].digest != token and len(settings.tokens[0].digest) == 64


def test_production_refuses_the_placeholder_secret_and_plain_tokens(tmp_path: Path) -> None:
    config = tmp_path / "d.toml"
    config.write_text('environment = "production"\n')
    with pytest.raises(ConfigError, match="secret"):
        load_settings(config)
    config.write_text(
        'environment = "production"\nsecret = "0123456789abcdef0123"\n'
        '[[tokens]]\nname = "a"\nrole = "admin"\ntoken = "plain"\n'
    )
    with pytest.raises(ConfigError, match="plain text"):
        load_settings(config)


async def test_outrider_dispatch_serves_health_docs_and_json_logs_and_stops_on_sigterm(
    tmp_path: Path, broker: LocalBroker
) -> None:
    assert outrider("keys", "init", "--dir", str(tmp_path / "keys")).returncode == 0
    port = free_tcp_port()
    config = tmp_path / "dispatch.toml"
    config.write_text(
        f'port = {port}\ndb_url = "sqlite:///dispatch.db"\nsigning_key = "keys/{PRIVATE_NAME}"\n'
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "outrider",
        "dispatch",
        "--config",
        str(config),
        "--mqtt",
        broker.url,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        async with (
            asyncio.timeout(30),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        ):
            while True:
                try:
                    health = await http.get("/healthz")
                    if health.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            assert health.json()["mqtt"] == "connected"
            assert (await http.get("/docs")).status_code == 200
            assert "/api/v1/incidents" in (await http.get("/openapi.json")).json()["paths"]
            assert (tmp_path / "dispatch.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert proc.returncode in (0, -signal.SIGTERM)
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert any("dispatch runtime up" in m for m in messages)
    assert "dispatch runtime stopped" in messages
