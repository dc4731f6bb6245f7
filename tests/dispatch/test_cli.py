"""The command line: ``outrider keys``, and ``outrider dispatch`` as an operator runs it."""

from __future__ import annotations

import asyncio
import json
import re
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


# What production mode asks for, besides tokens and docks (each test adds its own).
SERVICE = (
    'environment = "production"\nsecret = "Zq3vX9pL2mN8bR4tY7wK1cF6hJ0dS5gA"\n'
    'host = "10.0.0.5"\npublic_url = "https://dispatch.example.org"\n'
    'mqtt_url = "mqtts://dispatch@broker.example.org:8883"\n'
    'mqtt_password_file = "/etc/outrider/dispatch.secret"\n'
)


def test_keys_token_prints_a_config_entry_that_loads(tmp_path: Path) -> None:
    made = outrider("keys", "token", "--name", "alice", "--role", "dispatcher")
    token = made.stdout.split(": ", 1)[1].split("\n", 1)[0]
    entry = made.stdout.split("\n\n", 1)[1]
    config = tmp_path / "d.toml"
    config.write_text(SERVICE + entry)
    settings = load_settings(config)
    assert settings.tokens[0].digest != token and len(settings.tokens[0].digest) == 64
    edge = outrider("keys", "token", "--name", "e1", "--role", "edge", "--docks", "dock-01")
    config.write_text(SERVICE + edge.stdout.split("\n\n", 1)[1])
    assert load_settings(config).tokens[0].docks == ["dock-01"]


def test_keys_dock_makes_a_pair_and_registers_it_in_dispatchs_settings(tmp_path: Path) -> None:
    config = tmp_path / "dispatch.toml"
    config.write_text(SERVICE)
    made = outrider("keys", "dock", "dock-07", "--dir", str(tmp_path), "--register", str(config))
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "dock-07_ed25519.pem").stat().st_mode & 0o777 == 0o600
    settings = load_settings(config)
    assert [d.id for d in settings.docks] == ["dock-07"] and settings.docks[0].signed
    assert settings.docks[0].public_key in made.stdout
    again = outrider(
        "keys", "dock", "dock-07", "--dir", str(tmp_path / "other"), "--register", str(config)
    )
    assert again.returncode == 2 and "already registers dock-07" in again.stderr


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ('secret = "changethis"\n', "secret must be a random value of at least 32 bytes"),
        ('secret = "0123456789abcdef"\n', "at least 32 bytes"),
        ('secret = "abababababababababababababababab"\n', "secret does not look random"),
        ('mqtt_url = "mqtt://broker.example.org"\n', "mqtts:// with a username and a password"),
        ('mqtt_url = "mqtts://broker.example.org"\n', "mqtts:// with a username and a password"),
        ('host = "0.0.0.0"\n', "listens on every interface"),
        ('public_url = "http://dispatch.example.org"\n', "public_url must be the https://"),
        ("allow_unsigned_docks = true\n", "allow_unsigned_docks is for development only"),
        ('[[docks]]\nid = "dock-01"\n', "docks ['dock-01'] have no public key"),
        ('[[tokens]]\nname = "a"\nrole = "admin"\ntoken = "plain"\n', "plain text"),
        (
            '[[tokens]]\nname = "e"\nrole = "edge"\nsha256 = "' + "0" * 64 + '"\n',
            "edge tokens ['e'] name no docks",
        ),
    ],
)
def test_production_refuses_what_is_not_fit_for_service(
    tmp_path: Path, change: str, refusal: str
) -> None:
    config = tmp_path / "d.toml"
    config.write_text(SERVICE)
    assert load_settings(config).environment == "production"
    key = change.split("=", 1)[0].strip()
    lines = [line for line in SERVICE.splitlines(keepends=True) if not line.startswith(key)]
    config.write_text("".join(lines) + change)
    with pytest.raises(ConfigError, match=re.escape(refusal)):
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
                    health = await http.get("/readyz")
                    if health.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            assert health.json()["mqtt"] == "connected"
            docs = await http.get("/docs")
            assert docs.status_code == 200 and "/ui/vendor/swagger-ui/" in docs.text
            assert "http" not in docs.text.split("<body>")[0].replace("http-equiv", "")
            bundle = await http.get("/ui/vendor/swagger-ui/swagger-ui-bundle.js")
            assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text
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
