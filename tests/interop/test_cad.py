"""CAD in: EIDO and generic JSON documents over the signed webhook and through a watched folder.

The EIDO documents are ``tests/interop/examples`` (see its README): written after NENA's
published EIDO JSON schema and samples (github.com/NENA911/EIDO-JSON, NENA-STA-021.1).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dispatch.config import DispatchSettings
from dispatch.interop.cad import CadAction, EidoAdapter
from tests.dispatch.conftest import RunningDispatch, wait_for
from tests.interop.conftest import cad_headers, example, post_cad

DOCK = (51.5045, -0.0865)
BURGLARY_REF = "urn:emergency:uid:incidentid:7c1f0a2e9b4:cad.met.example.uk"


def test_every_eido_example_is_mapped_from_its_components() -> None:
    """Each example reads as NENA's schema says: the incident's own location, not the caller's."""
    eido = EidoAdapter()
    new = eido.parse(example("eido_burglary_new.json"))
    assert new.ref == BURGLARY_REF and new.action is CadAction.UPSERT
    assert new.incident is not None
    assert (new.incident.lat, new.incident.lon) == (51.5068, -0.0901)
    assert new.incident.type == "Burglary" and new.incident.priority == 1
    assert new.incident.description == "BURGLARY IN PROGRESS, REAR OF PREMISES"
    update = eido.parse(example("eido_burglary_update.json"))
    assert update.ref == BURGLARY_REF and update.incident is not None
    assert (update.incident.lat, update.incident.priority) == (51.5083, 2)
    closed = eido.parse(example("eido_burglary_closed.json"))
    assert closed.ref == BURGLARY_REF and closed.action is CadAction.CLOSE
    old = eido.parse(example("eido_2020_spelling.json"))
    assert old.ref == "urn:emergency:uid:incidentid:42:psap.kent.example.uk"
    assert old.incident is not None and old.incident.type == "RTC"
    assert (old.incident.lat, old.incident.lon, old.incident.priority) == (51.5029, -0.083, 1)
    assert old.sent_at is not None and old.sent_at.year == 2026


async def test_an_eido_webhook_raises_an_incident_that_a_dock_takes(
    cad_service: RunningDispatch, edge_factory: Callable[..., Any]
) -> None:
    async with edge_factory("dock-01", *DOCK):
        await wait_for(lambda: cad_service.runtime.fleet.get("dock-01"))
        r = await post_cad(cad_service.http, "eido", example("eido_burglary_new.json"))
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["outcome"] == "created"
        incident = body["incident"]
        assert incident["cad_ref"] == BURGLARY_REF and incident["dock_id"] == "dock-01"
        assert incident["status"] == "dispatched" and incident["priority"] == 1
        admin = cad_service.client("admin")
        async with admin:
            [entry] = (await admin.get("/api/v1/cad/inbox")).json()
        assert entry["outcome"] == "created" and entry["source"] == "met-cad"
        assert entry["incident_id"] == incident["id"] and entry["channel"] == "webhook"


@pytest.mark.parametrize(
    ("case", "status", "code", "kept"),
    [
        ("wrong key", 401, "bad_signature", True),
        ("no signature", 401, "bad_signature", False),
        ("old timestamp", 401, "stale_request", False),
        ("unknown source", 401, "unknown_source", False),
        ("not json", 400, "malformed_json", True),
        ("not an eido", 422, "unsupported_document", True),
        ("civic address only", 422, "no_location", True),
        ("unknown adapter", 404, "unknown_adapter", True),
    ],
)
async def test_a_bad_request_is_refused_with_its_code_and_kept_in_the_inbox(
    cad_service: RunningDispatch, case: str, status: int, code: str, kept: bool
) -> None:
    """What a known CAD system sent is kept, refused or not; headers that name no known
    sender, or carry no fresh signature, are refused before the body is even read."""
    body = example("eido_burglary_new.json")
    headers = cad_headers("eido", body)
    path = "/api/v1/cad/eido"
    if case == "wrong key":
        headers["X-Outrider-Signature"] = headers["X-Outrider-Signature"][:-4] + "0000"
    elif case == "no signature":
        del headers["X-Outrider-Signature"]
    elif case == "old timestamp":
        headers = cad_headers("eido", body, now=time.time() - 3600)
    elif case == "unknown source":
        headers["X-Outrider-Source"] = "someone-else"
    elif case == "not json":
        body = b'{"eidoVersion": "1.0", '
        headers = cad_headers("eido", body)
    elif case == "not an eido":
        body = json.dumps({"incident": "burglary"}).encode()
        headers = cad_headers("eido", body)
    elif case == "civic address only":
        body = example("eido_civic_only.json")
        headers = cad_headers("eido", body)
    elif case == "unknown adapter":
        path = "/api/v1/cad/apco"
    r = await cad_service.http.post(path, content=body, headers=headers)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert (await cad_service.http.get("/api/v1/incidents")).json() == []
    async with cad_service.client("admin") as admin:
        entries = (await admin.get("/api/v1/cad/inbox?outcome=refused&with_body=true")).json()
    if not kept:
        assert entries == []
        return
    [entry] = entries
    assert entry["code"] == code and entry["body"] == body.decode()
    assert entry["incident_id"] is None


async def test_a_replayed_request_is_refused_and_nothing_happens_twice(
    cad_service: RunningDispatch,
) -> None:
    body = example("eido_burglary_new.json")
    headers = cad_headers("eido", body)
    first = await cad_service.http.post("/api/v1/cad/eido", content=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await cad_service.http.post("/api/v1/cad/eido", content=body, headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "replayed")
    assert len((await cad_service.http.get("/api/v1/incidents")).json()) == 1


async def test_an_update_moves_the_drone_and_a_closure_recalls_it(
    cad_service: RunningDispatch, edge_factory: Callable[..., Any]
) -> None:
    async with edge_factory("dock-01", *DOCK, fly=True, sortie_s=45.0) as edge:
        await wait_for(lambda: cad_service.runtime.fleet.get("dock-01"))
        r = await post_cad(cad_service.http, "eido", example("eido_burglary_new.json"))
        assert r.status_code == 201, r.text
        path = f"/api/v1/incidents/{r.json()['incident']['id']}"

        async def status_is(value: str) -> bool:
            return bool((await cad_service.http.get(path)).json()["status"] == value)

        await wait_for(lambda: status_is("en_route"), limit_s=15)
        r = await post_cad(cad_service.http, "eido", example("eido_burglary_update.json"))
        assert r.status_code == 200 and r.json()["outcome"] == "updated", r.text
        moved = r.json()["incident"]
        assert (moved["lat"], moved["priority"]) == (51.5083, 2)
        assert any(c.type == "retask" for c in edge.commands)
        r = await post_cad(cad_service.http, "eido", example("eido_burglary_closed.json"))
        assert r.status_code == 200 and r.json()["outcome"] == "closed", r.text
        assert r.json()["incident"]["status"] == "closed"
        assert any(c.type == "recall" for c in edge.commands)
        lines = [line["type"] for line in (await cad_service.http.get(path)).json()["timeline"]]
        assert "updated" in lines and lines[-1] == "closed"
        late = example("eido_burglary_update.json")
        r = await post_cad(cad_service.http, "eido", late, now=time.time() + 1)
        assert (r.status_code, r.json()["code"]) == (409, "conflict")


async def test_generic_json_raises_updates_and_closes_by_reference(
    cad_service: RunningDispatch,
) -> None:
    def doc(**fields: Any) -> bytes:
        return json.dumps({"ref": "CAD-2026-0042", **fields}).encode()

    r = await post_cad(cad_service.http, "generic", doc(lat=51.51, lon=-0.09, type="fire"))
    assert r.status_code == 201 and r.json()["incident"]["status"] == "unassigned", r.text
    r = await post_cad(
        cad_service.http,
        "generic",
        doc(action="update", lat=51.51, lon=-0.09, type="fire", priority=1),
    )
    assert r.status_code == 200 and r.json()["incident"]["priority"] == 1, r.text
    r = await post_cad(cad_service.http, "generic", doc(action="close"))
    assert r.status_code == 200 and r.json()["incident"]["status"] == "closed", r.text
    r = await post_cad(
        cad_service.http, "generic", json.dumps({"ref": "NOPE", "action": "close"}).encode()
    )
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = await post_cad(cad_service.http, "generic", doc(type="fire"))
    assert (r.status_code, r.json()["code"]) == (422, "no_location")


async def test_a_watched_folder_takes_good_files_and_sets_bad_ones_aside(
    interop_settings: Callable[..., DispatchSettings], tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    folder = {"path": str(drop), "adapter": "eido", "source": "met-export", "poll_s": 0.05}
    async with RunningDispatch(interop_settings(folders=[folder])) as service:
        drop.mkdir(exist_ok=True)
        (drop / "new.json").write_bytes(example("eido_burglary_new.json"))
        (drop / "junk.json").write_bytes(b"\x00\xffnot a document")
        await wait_for(lambda: (drop / "done" / "new.json").exists(), limit_s=10)
        await wait_for(lambda: (drop / "rejected" / "junk.json").exists(), limit_s=10)
        reason = (drop / "rejected" / "junk.json.reason").read_text()
        assert reason.startswith("malformed_json")
        [incident] = (await service.http.get("/api/v1/incidents")).json()
        assert incident["cad_ref"] == BURGLARY_REF
        async with service.client("admin") as admin:
            entries = (await admin.get("/api/v1/cad/inbox")).json()
        assert {(e["channel"], e["source"], e["outcome"]) for e in entries} == {
            ("folder", "met-export", "created"),
            ("folder", "met-export", "refused"),
        }
