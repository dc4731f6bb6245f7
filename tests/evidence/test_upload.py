"""The evidence upload: resumable across a cut link and restarts, every hash checked."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from dispatch.evidence.store import segment_key
from dispatch.store import tables as t
from edge.errors import OutriderError
from edge.evidence import RECEIPT
from edge.evidence.transport import UploadError
from edge.protocol.evidence import OFFSET_HEADER, upload_path
from sim.linkproxy import LinkProxy
from tests.evidence.conftest import (
    SORTIE,
    RunningDispatch,
    bearer,
    manifest_of,
    uploader_for,
    wait_for,
)

pytestmark = pytest.mark.timeout(120)
API = "/api/v1"


def stored_hashes(service: RunningDispatch, folder: Path) -> dict[str, str]:
    out = {}
    for seg in manifest_of(folder)["segments"]:
        path = service.runtime.segments.path(segment_key("dock-01", SORTIE, seg["file"]))
        out[seg["file"]] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


async def audit_actions(service: RunningDispatch) -> list[str]:
    return [r.action for r in await service.runtime.store.list_audit(limit=1000)]


async def test_a_sortie_uploads_and_every_stored_hash_matches_the_edge_manifest(
    evidence_service: RunningDispatch, sortie_folder: Path
) -> None:
    manifest = manifest_of(sortie_folder)
    assert len(manifest["segments"]) >= 2
    uploader, transport = uploader_for(evidence_service, sortie_folder)
    async with transport:
        assert await uploader.upload_all() == 1
        assert uploader.pending() == []
    expected = {s["file"]: s["sha256"] for s in manifest["segments"]}
    assert stored_hashes(evidence_service, sortie_folder) == expected
    assert (sortie_folder / RECEIPT).is_file()
    assert not any((sortie_folder / f).exists() for f in expected), "deleted once confirmed"
    actions = await audit_actions(evidence_service)
    assert actions.count("evidence.segment_verified") == len(expected)
    assert actions.count("evidence.upload_complete") == 1


async def test_an_upload_cut_mid_segment_resumes_after_an_edge_restart_without_sending_twice(
    evidence_service: RunningDispatch, sortie_folder: Path
) -> None:
    manifest = manifest_of(sortie_folder)
    first = manifest["segments"][0]
    key = segment_key("dock-01", SORTIE, first["file"])
    chunk = 4096
    async with LinkProxy("127.0.0.1", evidence_service.port) as proxy:
        proxy.conditions.delay_s = 0.01
        uploader, transport = uploader_for(
            evidence_service, sortie_folder, url=f"http://127.0.0.1:{proxy.port}", chunk=chunk
        )
        async with transport:
            task = asyncio.create_task(uploader.upload_all())
            await wait_for(lambda: evidence_service.runtime.segments.offset(key) >= 3 * chunk)
            proxy.cut()
            with pytest.raises(OutriderError) as cut:
                await task
            assert cut.value.code == "upload_unreachable"
    held = evidence_service.runtime.segments.offset(key)
    assert 0 < held < first["bytes"], "cut in the middle of the first segment"
    assert not (sortie_folder / RECEIPT).exists(), "nothing confirmed: the edge keeps it all"
    # A new uploader (the edge restarted) asks dispatch where it stands and carries on.
    again, transport = uploader_for(evidence_service, sortie_folder, chunk=chunk)
    async with transport:
        assert await again.upload_all() == 1
    total = sum(s["bytes"] for s in manifest["segments"])
    assert again.bytes_sent <= total - held + chunk, "bytes dispatch held were not sent again"
    expected = {s["file"]: s["sha256"] for s in manifest["segments"]}
    assert stored_hashes(evidence_service, sortie_folder) == expected
    async with evidence_service.runtime.store.engine.connect() as conn:
        rows = (await conn.execute(select(t.evidence_segments))).mappings().all()
    assert len(rows) == len(expected) and {r["state"] for r in rows} == {"verified"}


async def test_an_upload_resumes_across_a_restart_of_dispatch(
    evidence_settings, sortie_folder: Path
) -> None:
    settings = evidence_settings()
    manifest = manifest_of(sortie_folder)
    async with RunningDispatch(settings) as service:
        uploader, transport = uploader_for(service, sortie_folder, chunk=4096)
        async with transport:
            status = await transport.put_manifest(
                SORTIE, (sortie_folder / "manifest.json").read_bytes()
            )
            seg = status.segments[0]
            data = (sortie_folder / seg.file).read_bytes()
            await transport.append(SORTIE, seg.file, 0, data[:5000])
    async with RunningDispatch(settings) as service:
        uploader, transport = uploader_for(service, sortie_folder, chunk=4096)
        async with transport:
            assert await transport.offset(SORTIE, seg.file) == 5000
            assert await uploader.upload_all() == 1
        expected = {s["file"]: s["sha256"] for s in manifest["segments"]}
        assert stored_hashes(service, sortie_folder) == expected


async def test_a_segment_whose_hash_does_not_match_is_dropped_recorded_and_kept_on_the_edge(
    evidence_service: RunningDispatch, sortie_folder: Path
) -> None:
    victim = manifest_of(sortie_folder)["segments"][0]["file"]
    data = bytearray((sortie_folder / victim).read_bytes())
    data[len(data) // 2] ^= 0xFF  # the file changed on the dock after it was hashed
    (sortie_folder / victim).write_bytes(bytes(data))
    uploader, transport = uploader_for(evidence_service, sortie_folder)
    async with transport:
        with pytest.raises(UploadError) as refused:
            await uploader.upload_all()
    assert refused.value.code == "hash_mismatch"
    assert (sortie_folder / victim).exists() and not (sortie_folder / RECEIPT).exists()
    status = await evidence_service.runtime.uploads.status("dock-01", SORTIE)
    state = {s.file: s.state for s in status.segments}
    assert state[victim] == "hash_mismatch" and not status.complete
    assert "evidence.hash_mismatch" in await audit_actions(evidence_service)
    assert not evidence_service.runtime.segments.exists(segment_key("dock-01", SORTIE, victim))


async def test_upload_requests_are_refused_with_codes(
    evidence_settings, sortie_folder: Path
) -> None:
    settings = evidence_settings(
        tokens=[
            {"name": "dock-02", "role": "edge", "token": "dock-02-token", "docks": ["dock-02"]},
            {"name": "edge-1", "role": "edge", "token": "edge-token"},
            {"name": "viewer-1", "role": "viewer", "token": "viewer-token"},
        ]
    )
    body = (sortie_folder / "manifest.json").read_bytes()
    path = API + upload_path("dock-01", SORTIE)
    async with RunningDispatch(settings) as service, httpx.AsyncClient(base_url=service.url) as c:
        assert (await c.put(path, content=body)).status_code == 401
        other = {"Authorization": "Bearer dock-02-token"}
        assert (await c.put(path, content=body, headers=other)).json()["code"] == "forbidden"
        assert (await c.put(path, content=body, headers=bearer("viewer"))).status_code == 403
        edge = bearer("edge")
        assert (await c.put(path, content=b"{", headers=edge)).json()["code"] == "malformed_json"
        wrong = API + upload_path("dock-01", "S-other")
        answer = await c.put(wrong, content=body, headers=edge)
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_field")
        status = (await c.put(path, content=body, headers=edge)).json()
        seg = status["segments"][0]
        seg_path = API + upload_path("dock-01", SORTIE, seg["file"])
        answer = await c.patch(seg_path, content=b"x" * 10, headers={**edge, OFFSET_HEADER: "7"})
        assert (answer.status_code, answer.json()["code"]) == (409, "offset_mismatch")
        past = b"x" * (seg["bytes"] + 1)
        answer = await c.patch(seg_path, content=past, headers={**edge, OFFSET_HEADER: "0"})
        assert (answer.status_code, answer.json()["code"]) == (413, "too_large")
        answer = await c.patch(seg_path, content=b"x", headers=edge)
        assert answer.status_code == 422, "no Upload-Offset"
        head = await c.head(seg_path, headers=edge)
        assert head.headers[OFFSET_HEADER] == "0"
        changed = body.replace(seg["file"].encode(), b"other-9999.avi", 1)
        await c.put(path, content=changed, headers=edge)
        lied = manifest_of(sortie_folder)
        lied["segments"][0]["sha256"] = "0" * 64
        import json

        answer = await c.put(path, content=json.dumps(lied).encode(), headers=edge)
        assert (answer.status_code, answer.json()["code"]) == (409, "manifest_conflict")


async def test_a_restarted_edge_agent_uploads_what_an_earlier_run_left_pending(
    evidence_service: RunningDispatch, sortie_folder: Path, broker, tmp_path: Path
) -> None:
    from tests.edge.helpers import edge_config, running_agent

    video = {
        "recording": {"dir": str(sortie_folder.parent)},
        "uplink": {"url": evidence_service.url, "token": "edge-token"},
    }
    config = edge_config(
        broker, tmp_path / "state", vehicle={"connect_timeout_s": 0.5}, video=video
    )
    async with running_agent(config) as agent:
        assert agent.uploader is not None
        await wait_for(lambda: (sortie_folder / RECEIPT).exists(), limit_s=30)
    status = await evidence_service.runtime.uploads.status("dock-01", SORTIE)
    assert status.complete and len(status.segments) == len(manifest_of(sortie_folder)["segments"])
