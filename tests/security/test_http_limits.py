"""Dispatch's HTTP side under abuse: bodies bounded before they are read, floods slowed per
caller and per address, sign-in guessing backed off and summarised, metrics behind a token with
labels that cannot grow, and no secret in any log line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import uuid
from pathlib import Path

import aiomqtt
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from dispatch.keys import PRIVATE_NAME, init_keys
from edge.comms.mqtt import parse_mqtt_url
from edge.redact import RedactingFilter, redact, remember_secret
from sim.broker import LocalBroker
from sim.net import free_tcp_port
from tests.dispatch.conftest import TOKENS, RunningDispatch, bearer, wait_for
from tests.dispatch.test_incidents_api import INCIDENT
from tests.keys import signing_env

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]


async def raw_request(service: RunningDispatch, head: str, body: bytes = b"") -> tuple[int, str]:
    """Send ``head`` (and ``body``) on a bare socket; the status and body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        async with asyncio.timeout(10):
            status_line = await reader.readline()
            raw = await reader.read(65536)
    finally:
        writer.close()
    return int(status_line.split()[1]), raw.decode(errors="replace").split("\r\n\r\n", 1)[-1]


async def test_a_body_is_refused_before_it_is_read_without_credentials_or_over_the_limit(
    dispatch_service: RunningDispatch,
) -> None:
    path = "/api/v1/incidents"
    huge = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    # a body announced and not one byte of it sent: the answer comes before any is read
    status, body = await raw_request(dispatch_service, huge + "Content-Length: 524288\r\n\r\n")
    assert status == 401 and json.loads(body)["code"] == "unauthorized"
    status, _ = await raw_request(dispatch_service, huge + "Content-Length: 104857600\r\n\r\n")
    assert status == 413
    auth = f"Authorization: Bearer {TOKENS['dispatcher']}\r\n"
    status, body = await raw_request(
        dispatch_service, huge + auth + "Content-Length: 104857600\r\n\r\n"
    )
    assert status == 413
    chunk = b"x" * 65536
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(24)) + b"0\r\n\r\n"
    status, body = await raw_request(
        dispatch_service, huge + auth + "Transfer-Encoding: chunked\r\n\r\n", chunked
    )
    assert status == 413 and json.loads(body)["code"] == "too_large"
    assert (await dispatch_service.http.get(path)).json() == []


async def test_a_caller_flooding_changes_is_slowed_and_everyone_else_is_still_served(
    make_settings,
) -> None:
    tokens = [
        {"name": "dispatcher-1", "role": "dispatcher", "token": TOKENS["dispatcher"]},
        {"name": "dispatcher-2", "role": "dispatcher", "token": "second-dispatcher-token"},
        {"name": "viewer-1", "role": "viewer", "token": TOKENS["viewer"]},
    ]
    async with RunningDispatch(make_settings(tokens=tokens)) as service:
        start = asyncio.get_running_loop().time()
        answers = await asyncio.gather(
            *(service.http.post("/api/v1/incidents", json=INCIDENT) for _ in range(120))
        )
        elapsed = asyncio.get_running_loop().time() - start
        limited = [r for r in answers if r.status_code == 429]
        taken = [r for r in answers if r.status_code != 429]
        assert len(taken) <= 30 + 2 * elapsed + 1 and len(limited) >= 60
        assert all(r.json()["code"] == "rate_limited" and r.headers["Retry-After"] for r in limited)
        other = {"Authorization": "Bearer second-dispatcher-token"}
        r = await service.http.post("/api/v1/incidents", json=INCIDENT, headers=other)
        assert r.status_code in (201, 409)  # another caller's change goes through
        async with service.client("viewer") as viewer:
            assert (await viewer.get("/api/v1/incidents")).status_code == 200
        stored = (await service.http.get("/api/v1/incidents", params={"limit": 500})).json()
        assert len(stored) == len(taken) + 1


async def test_an_address_over_its_budget_is_refused_for_http_and_websockets(
    make_settings,
) -> None:
    settings = make_settings(limits={"address_rate_per_s": 2, "address_burst": 10})
    async with RunningDispatch(settings) as service, service.client(None) as anyone:
        codes = [(await anyone.get("/healthz")).status_code for _ in range(30)]
        assert codes[:10] == [200] * 10 and codes.count(429) >= 15
        refused = await anyone.get("/api/v1/incidents", headers=bearer("admin"))
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        with pytest.raises(InvalidStatus):
            url = f"{service.ws_url}/api/v1/video/dock-01/ws"
            async with connect(url, additional_headers=bearer("admin"), open_timeout=5):
                pass


async def test_guessing_sign_ins_backs_off_and_fills_one_audit_row(
    dispatch_service: RunningDispatch,
) -> None:
    async with dispatch_service.client(None) as guesser:
        codes = []
        for n in range(200):
            r = await guesser.post("/api/v1/auth/login", json={"token": f"guess-{n}"})
            codes.append(r.status_code)
        good = await guesser.post("/api/v1/auth/login", json={"token": TOKENS["viewer"]})
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert good.status_code == 429 and good.json()["code"] == "login_backoff"  # the address waits
    async with dispatch_service.client("admin") as admin:
        rows = (await admin.get("/api/v1/audit", params={"limit": 1000})).json()
    failed = [row for row in rows if row["action"] == "login.failed"]
    assert len(failed) == 1 and failed[0]["detail"] == {"failures": 1}
    assert dispatch_service.runtime.metrics.login_failures._value.get() == 5  # then refused


async def test_metrics_need_their_token_and_their_labels_stay_bounded(
    dispatch_service: RunningDispatch, broker: LocalBroker
) -> None:
    async with dispatch_service.client(None) as anyone:
        assert (await anyone.get("/metrics")).status_code == 401
        for role in ("viewer", "dispatcher", "edge"):
            assert (await anyone.get("/metrics", headers=bearer(role))).status_code == 403
        health = await anyone.get("/healthz")
        assert health.status_code == 200 and set(health.json()) >= {"status", "store", "mqtt"}
    async with dispatch_service.client("metrics") as scraper:
        baseline = (await scraper.get("/metrics")).text
        invented = [f"ghost-{uuid.uuid4().hex[:8]}" for _ in range(200)]
        b = parse_mqtt_url(broker.url)
        async with aiomqtt.Client(b.host, b.port) as client:
            for dock_id in invented:
                for kind in ("availability", "telemetry", "state"):
                    await client.publish(f"dfr/v1/{dock_id}/{kind}", b"online", qos=0)
        unknown = dispatch_service.runtime.metrics.rejected
        await wait_for(lambda: unknown.labels("state", "unknown_dock")._value.get() >= 150)
        async with dispatch_service.client("admin") as admin:
            for dock_id in invented[:40]:
                snap = await admin.get(f"/api/v1/video/{dock_id}/frame.jpg")
                assert snap.status_code == 404
                with pytest.raises(InvalidStatus):
                    url = f"{dispatch_service.ws_url}/api/v1/video/{dock_id}/ws"
                    async with connect(url, additional_headers=bearer("admin"), open_timeout=5):
                        pass
        after = (await scraper.get("/metrics")).text
    assert not any(dock_id in after for dock_id in invented)
    assert len(after.splitlines()) < len(baseline.splitlines()) + 60
    assert dispatch_service.runtime.fleet.get(invented[0]) is None
    assert not dispatch_service.runtime.video.channels


async def test_a_video_channel_is_freed_when_its_last_viewer_and_ingest_leave(
    dispatch_service: RunningDispatch,
) -> None:
    url = f"{dispatch_service.ws_url}/api/v1/video/dock-01/ws"
    async with connect(url, additional_headers=bearer("dispatcher"), open_timeout=5):
        await wait_for(lambda: dispatch_service.runtime.video.channels.get("dock-01"))
    await wait_for(lambda: "dock-01" not in dispatch_service.runtime.video.channels)


def test_log_lines_lose_passwords_tokens_and_bearer_credentials() -> None:
    remember_secret("plain-api-token-value")
    lines = {
        "broker mqtt://dock-01:p@ss/w0rd@broker:8883 down": "mqtt://dock-01:***@broker:8883",
        'GET /view/INC-1?token=abc.def-ghi HTTP/1.1" 200': "/view/INC-1?token=*** HTTP",
        "headers {'authorization': 'Bearer s3cr3t'}": "'Bearer ***'",
        "login with plain-api-token-value failed": "login with *** failed",
    }
    for line, kept in lines.items():
        assert kept in redact(line) and "p@ss" not in redact(line)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s", ("mqtt://u:pw@h",), None)
    try:
        raise RuntimeError("connect to mqtt://u:pw@h failed")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert record.getMessage() == "url mqtt://u:***@h" and "pw@" not in (record.exc_text or "")


async def _stderr_until(proc: asyncio.subprocess.Process, needle: str, within: float) -> str:
    assert proc.stderr is not None
    seen = ""
    async with asyncio.timeout(within):
        while needle not in seen:
            line = await proc.stderr.readline()
            if not line:
                break
            seen += line.decode(errors="replace")
    return seen


async def test_the_edges_log_never_shows_the_broker_password(tmp_path: Path) -> None:
    closed_port = free_tcp_port()  # nothing listens: the edge logs its broker link going down
    password = "Br0ker-Pa55word-" + uuid.uuid4().hex[:8]
    env = signing_env("dock-01")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "outrider", "edge", "--config", str(REPO / "configs/dock-01.toml"),
        "--mqtt", f"mqtt://dock-01:{password}@127.0.0.1:{closed_port}",
        "--vehicle", f"udpin://127.0.0.1:{free_tcp_port()}", "--state-dir", str(tmp_path),
        env={**os.environ, **env}, stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        seen = await _stderr_until(proc, "broker link down", 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.communicate(), 30)
    text = seen + rest[1].decode(errors="replace")
    assert "broker link down" in text
    assert password not in text


async def test_dispatchs_access_log_never_shows_a_link_token_or_an_api_token(
    tmp_path: Path, broker: LocalBroker
) -> None:
    keys = init_keys(tmp_path / "keys")
    port, secret = free_tcp_port(), "link-token-" + uuid.uuid4().hex
    config = tmp_path / "dispatch.toml"
    config.write_text(
        f'port = {port}\ndb_url = "sqlite:///dispatch.db"\nsigning_key = "keys/{PRIVATE_NAME}"\n'
        f'[[tokens]]\nname = "a"\nrole = "admin"\ntoken = "{TOKENS["admin"]}"\n'
    )
    assert keys[0].name == PRIVATE_NAME
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "outrider", "dispatch", "--config", str(config),
        "--mqtt", broker.url, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def up() -> bool:
                try:
                    return (await http.get("/healthz")).status_code in (200, 503)
                except httpx.HTTPError:
                    return False

            await wait_for(up, limit_s=30, every=0.2)
            await http.get(f"/view/INC-1?token={secret}")
            await http.get(f"/api/v1/incidents/INC-1?token={secret}")
            await http.get("/api/v1/incidents", headers=bearer("admin"))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    text = err.decode(errors="replace")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [line["msg"] for line in lines if line["logger"] == "uvicorn.access"]
    assert any("/view/INC-1?token=***" in m for m in access), access
    assert secret not in text and TOKENS["admin"] not in text
