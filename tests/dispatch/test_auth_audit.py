"""Auth and roles, officer view links, and the audit log over the API and the command line."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
from sqlalchemy import update

from dispatch.store import tables as t
from edge.protocol import EventType
from tests.dispatch.conftest import RunningDispatch, bearer, wait_for
from tests.dispatch.test_incidents_api import INCIDENT, docks_seen, near


async def test_a_missing_or_unknown_token_gets_401_with_a_code(
    dispatch_service: RunningDispatch,
) -> None:
    async with dispatch_service.client(None) as anonymous:
        r = await anonymous.get("/api/v1/incidents")
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        r = await anonymous.get("/api/v1/incidents", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and r.json() == {
            "code": "unauthorized",
            "reason": "unknown API token",
        }


async def test_a_viewer_may_read_but_not_raise_or_recall(dispatch_service: RunningDispatch) -> None:
    async with dispatch_service.client("viewer") as viewer:
        assert (await viewer.get("/api/v1/incidents")).status_code == 200
        r = await viewer.post("/api/v1/incidents", json=INCIDENT)
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert (await viewer.get("/api/v1/audit/verify")).status_code == 403


async def test_an_edge_token_may_only_stream_video(dispatch_service: RunningDispatch) -> None:
    async with dispatch_service.client("edge") as edge:
        assert (await edge.get("/api/v1/docks")).status_code == 403


async def test_signing_in_sets_a_session_cookie_and_every_attempt_is_audited(
    dispatch_service: RunningDispatch,
) -> None:
    async with dispatch_service.client(None) as browser:
        bad = await browser.post("/api/v1/auth/login", json={"token": "guess"})
        assert bad.status_code == 401
        good = await browser.post("/api/v1/auth/login", json={"token": "viewer-token"})
        assert good.status_code == 200 and good.json()["role"] == "viewer"
        assert good.json()["raw_video"] is False
        assert (await browser.get("/api/v1/auth/me")).json()["name"] == "viewer-1"
        browser.cookies.set("outrider_session", "forged.cookie")
        assert (await browser.get("/api/v1/auth/me")).status_code == 401
    async with dispatch_service.client("admin") as admin:
        actions = [row["action"] for row in (await admin.get("/api/v1/audit")).json()]
        assert "login" in actions and "login.failed" in actions


async def test_an_officer_link_opens_its_incident_only_and_expires(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800)), edge_factory("other", *near(90, 900)):
        await docks_seen(dispatch_service, 2)
        api = dispatch_service.http
        mine = (await api.post("/api/v1/incidents", json=INCIDENT)).json()
        other = (await api.post("/api/v1/incidents", json={**INCIDENT, "lat": 51.51})).json()
        link = (await api.post(f"/api/v1/incidents/{mine['id']}/links", json={})).json()
        assert link["url"].startswith(f"{dispatch_service.url}/view/{mine['id']}?token=")
        async with dispatch_service.client(None) as phone:
            token = {"token": link["token"]}
            r = await phone.get(f"/api/v1/incidents/{mine['id']}", params=token)
            assert r.status_code == 200 and r.json()["dock_id"] == "near"
            assert (
                await phone.get(f"/api/v1/docks/{mine['dock_id']}", params=token)
            ).status_code == 200
            assert (
                await phone.get(f"/api/v1/incidents/{other['id']}", params=token)
            ).status_code == 403
            assert (
                await phone.get(f"/api/v1/docks/{other['dock_id']}", params=token)
            ).status_code == 403
            assert (await phone.get("/api/v1/incidents", params=token)).status_code == 403
            assert (await phone.get(f"/view/{mine['id']}", params=token)).status_code == 200
            short = (
                await api.post(f"/api/v1/incidents/{mine['id']}/links", json={"ttl_s": 0.5})
            ).json()
            await asyncio.sleep(0.8)
            r = await phone.get(f"/api/v1/incidents/{mine['id']}", params={"token": short["token"]})
            assert r.status_code == 401 and r.json()["code"] == "link_expired"
            forged = link["token"][:-4] + ("AAAA" if not link["token"].endswith("AAAA") else "BBBB")
            r = await phone.get(f"/api/v1/incidents/{mine['id']}", params={"token": forged})
            assert r.status_code == 401 and r.json()["code"] == "unauthorized"


async def test_the_audit_log_records_commands_events_and_actions_and_detects_an_edit(
    dispatch_service: RunningDispatch, edge_factory
) -> None:
    async with edge_factory("near", *near(0, 800)) as edge:
        await docks_seen(dispatch_service, 1)
        incident = (await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)).json()
        await dispatch_service.http.post(f"/api/v1/incidents/{incident['id']}/recall")
        await edge.event(EventType.AIRBORNE)
    async with dispatch_service.client("admin") as admin:

        async def actions() -> set[str] | None:
            rows = (await admin.get("/api/v1/audit", params={"limit": 1000})).json()
            found = {row["action"] for row in rows}
            return found if "event.airborne" in found else None

        assert await wait_for(actions) >= {
            "incident.create",
            "command.dispatch",
            "ack",
            "incident.recall",
            "command.recall",
            "event.accepted",
            "event.airborne",
        }
        assert (await admin.get("/api/v1/audit/verify")).json()["ok"] is True
        async with dispatch_service.runtime.store.engine.begin() as conn:
            await conn.execute(
                update(t.audit).where(t.audit.c.seq == 2).values(actor="user:mallory")
            )
        report = (await admin.get("/api/v1/audit/verify")).json()
        assert report["ok"] is False and report["first_bad_seq"] == 2


async def test_outrider_audit_verify_exits_1_on_a_tampered_log(
    dispatch_service: RunningDispatch,
) -> None:
    await dispatch_service.http.post("/api/v1/incidents", json=INCIDENT)
    db = dispatch_service.settings.db_url
    cmd = [sys.executable, "-m", "outrider", "audit", "verify", "--db", db]
    intact = await asyncio.to_thread(
        subprocess.run, cmd, capture_output=True, text=True, timeout=60
    )
    assert intact.returncode == 0, intact.stderr
    assert "audit log intact" in intact.stdout
    async with dispatch_service.runtime.store.engine.begin() as conn:
        await conn.execute(update(t.audit).where(t.audit.c.seq == 1).values(detail="{}"))
    broken = await asyncio.to_thread(
        subprocess.run, cmd, capture_output=True, text=True, timeout=60
    )
    assert broken.returncode == 1 and "TAMPERED" in broken.stdout and "row 1" in broken.stdout


def test_bearer_helper_builds_the_header() -> None:
    assert bearer("admin") == {"Authorization": "Bearer admin-token"}
    assert isinstance(httpx.Headers(bearer("viewer")), httpx.Headers)
