"""Export and offline verification of an incident's evidence bundle, by CLI and API."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import av
import numpy as np
import pytest

from dispatch.evidence.verify import verify_bundle
from dispatch.keys import init_keys
from edge.detect import AutoDetectorConfig, load_detector
from edge.evidence import RECEIPT
from tests.evidence.conftest import (
    RunningDispatch,
    fly_incident,
    manifest_of,
    set_incident,
    uploader_for,
)

pytestmark = pytest.mark.timeout(240)


def outrider(*args: str) -> subprocess.CompletedProcess[str]:
    """The command line, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "outrider", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ,
    )


def dispatch_toml(service: RunningDispatch, path: Path) -> Path:
    s = service.settings
    path.write_text(
        f'db_url = "{s.db_url}"\nsigning_key = "{s.signing_key}"\n'
        f'[evidence]\ndir = "{s.evidence.dir}"\n'
    )
    return path


def with_flipped_byte(bundle: Path, member: str, out: Path) -> Path:
    """A copy of the bundle whose ``member`` has one byte flipped."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = bytearray(src.read(info))
            if info.filename == member:
                data[len(data) // 2] ^= 0x01
            dst.writestr(info, bytes(data))
    return out


@pytest.fixture
async def exported(evidence_service: RunningDispatch, edge_factory, sortie_folder: Path, tmp_path):
    """An incident flown and recorded, its recordings uploaded, exported with the CLI."""
    incident = await fly_incident(evidence_service, edge_factory)
    set_incident(sortie_folder, incident)
    uploader, transport = uploader_for(evidence_service, sortie_folder, keep_after_upload=True)
    async with transport:
        assert await uploader.upload_all() == 1
    config = dispatch_toml(evidence_service, tmp_path / "dispatch.toml")
    bundle = tmp_path / "bundle.zip"
    done = outrider(
        "evidence", "export", incident, "--config", str(config),
        "--reason", "CPS disclosure request 42", "--out", str(bundle), "--as", "dc.jones",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return incident, bundle, config


async def test_an_exported_bundle_verifies_offline_with_dispatchs_public_key(
    exported, evidence_service: RunningDispatch, sortie_folder: Path
) -> None:
    incident, bundle, _ = exported
    public = evidence_service.settings.signing_key.with_name("dispatch_ed25519.pub.pem")
    done = outrider("evidence", "verify", str(bundle), "--public-key", str(public))
    assert done.returncode == 0, done.stdout
    assert "bundle intact" in done.stdout
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        track = json.loads(zf.read("track.geojson"))
        audit = json.loads(zf.read("audit.json"))
        timeline = json.loads(zf.read("timeline.json"))
    segments = manifest_of(sortie_folder)["segments"]
    sortie = sortie_folder.name
    for seg in segments:
        original = f"original/{sortie}/{seg['file']}"
        assert original in names and f"release/{sortie}/{seg['file']}.mp4" in names
        listed = next(f for f in manifest["files"] if f["path"] == original)
        assert listed["sha256"] == seg["sha256"], "the original exactly as the edge hashed it"
    assert {"incident.json", "timeline.json", "detections.json", "audit.json"} <= names
    assert manifest["reason"] == "CPS disclosure request 42"
    assert manifest["exported_by"] == "cli:dc.jones" and manifest["incident_id"] == incident
    lines = [f for f in track["features"] if f["geometry"]["type"] == "LineString"]
    assert lines and len(lines[0]["geometry"]["coordinates"]) >= 5, "the flown track"
    kinds = {f["properties"]["kind"] for f in track["features"]}
    assert kinds == {"scene", "dock", "track"}
    assert "docked" in [line["type"] for line in timeline]
    export_rows = [r for r in audit if r["action"] == "evidence.export"]
    assert export_rows and "CPS disclosure request 42" in export_rows[0]["detail"]
    assert export_rows[0]["actor"] == "cli:dc.jones"


async def test_the_release_copy_hides_the_people_the_original_shows(
    exported, model_path: Path
) -> None:
    _, bundle, _ = exported
    detector = load_detector(AutoDetectorConfig(model=model_path))

    def people(data: bytes) -> tuple[int, int]:
        frames = found = 0
        with av.open(io.BytesIO(data)) as container:
            for frame in container.decode(video=0):
                image = np.ascontiguousarray(frame.to_ndarray(format="bgr24"))
                frames += 1
                found += sum(d.cls == "person" and d.conf > 0.5 for d in detector.detect(image))
        return frames, found

    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        originals = [f for f in manifest["files"] if f.get("rendition") == "raw"]
        assert originals
        for entry in originals:
            frames, before = people(zf.read(entry["path"]))
            release = entry["path"].replace("original/", "release/", 1) + ".mp4"
            released_frames, after = people(zf.read(release))
            assert released_frames == frames > 0
            assert before >= frames, "people in every original frame"
            assert after == 0, "no recognisable person left in the release copy"
    detector.close()


async def test_flipping_one_byte_in_any_file_fails_verify_naming_that_file(
    exported, tmp_path: Path
) -> None:
    _, bundle, _ = exported
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
    video = next(n for n in names if n.startswith("release/"))
    # every member (the JSON files among them); the signature's failure names the manifest
    for member in dict.fromkeys(["manifest.json", "manifest.sig", "public_key.pem", video, *names]):
        broken = with_flipped_byte(bundle, member, tmp_path / "broken.zip")
        report = verify_bundle(broken)
        assert not report.ok, member
        named = {f.file for f in report.failures}
        expected = "manifest.json" if member == "manifest.sig" else member
        assert expected in named, (member, report.failures)
        if member in ("manifest.sig", video):
            done = outrider("evidence", "verify", str(broken))
            assert done.returncode == 1 and expected in done.stdout, member


async def test_a_wrong_public_key_fails_and_a_changed_zip_is_named(
    exported, tmp_path: Path
) -> None:
    _, bundle, _ = exported
    _, other = init_keys(tmp_path / "other")
    done = outrider("evidence", "verify", str(bundle), "--public-key", str(other))
    assert done.returncode == 1
    assert "does not verify" in done.stdout
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as zf:
        info = next(
            i
            for i in zf.infolist()
            if i.filename.startswith("original/") and not i.filename.endswith(".json")
        )
    raw[info.header_offset + 200] ^= 0xFF  # inside the stored video, as a disk error would
    (tmp_path / "raw.zip").write_bytes(bytes(raw))
    report = verify_bundle(tmp_path / "raw.zip")
    assert info.filename in {f.file for f in report.failures}


async def test_the_api_exports_for_admins_only_and_audits_views_with_the_reason(
    evidence_service: RunningDispatch, edge_factory, sortie_folder: Path, tmp_path: Path
) -> None:
    incident = await fly_incident(evidence_service, edge_factory)
    set_incident(sortie_folder, incident)
    uploader, transport = uploader_for(evidence_service, sortie_folder)
    async with transport:
        await uploader.upload_all()
    assert (sortie_folder / RECEIPT).exists()
    base = f"/api/v1/evidence/incidents/{incident}"
    async with evidence_service.client("admin") as admin, evidence_service.client() as dispatcher:
        denied = await dispatcher.post(f"{base}/export", json={"reason": "curious"})
        assert denied.status_code == 403
        short = await admin.post(f"{base}/export", json={"reason": "x"})
        assert (short.status_code, short.json()["code"]) == (422, "reason_required")
        view = await admin.get(base, params={"reason": "Review for court file"})
        assert view.status_code == 200 and {s["state"] for s in view.json()["segments"]} == {
            "verified"
        }
        seg = view.json()["segments"][0]
        got = await admin.get(
            f"{base}/segments/{seg['sortie_id']}/{seg['file']}", params={"reason": "Play it"}
        )
        assert got.status_code == 200 and len(got.content) == seg["bytes"]
        answer = await admin.post(f"{base}/export", json={"reason": "Disclosure to defence"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/zip"
        (tmp_path / "api.zip").write_bytes(answer.content)
        audit = (await admin.get("/api/v1/audit", params={"limit": 1000})).json()
    assert verify_bundle(tmp_path / "api.zip").ok
    seen = {(r["action"], r["detail"].get("reason")) for r in audit if r["actor"] == "user:admin-1"}
    assert {
        ("evidence.view", "Review for court file"),
        ("evidence.view_segment", "Play it"),
        ("evidence.export", "Disclosure to defence"),
    } <= seen
    assert all(r["at"] for r in audit if r["action"].startswith("evidence."))


def as_mp4(folder: Path, out: Path) -> Path:
    """The recording re-encoded as H.264 MP4 segments with a manifest that says
    ``rendition``, as the MP4 recorder writes them."""
    import hashlib

    out.mkdir(parents=True)
    manifest = manifest_of(folder)
    segments = []
    for seg in manifest["segments"]:
        target = out / (Path(seg["file"]).stem + ".mp4")
        with av.open(str(folder / seg["file"])) as src, av.open(str(target), "w") as dst:
            stream = dst.add_stream("libx264", rate=15)
            stream.pix_fmt = "yuv420p"
            for i, frame in enumerate(src.decode(video=0)):
                if i == 0:
                    stream.width, stream.height = frame.width, frame.height
                fresh = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), "rgb24")
                for packet in stream.encode(fresh):
                    dst.mux(packet)
            for packet in stream.encode(None):
                dst.mux(packet)
        data = target.read_bytes()
        entry = {k: v for k, v in seg.items() if k != "stream"}
        entry.update(file=target.name, rendition=seg.get("stream", seg.get("rendition")),
                     bytes=len(data), sha256=hashlib.sha256(data).hexdigest())  # fmt: skip
        segments.append(entry)
    (out / "manifest.json").write_text(json.dumps({**manifest, "segments": segments}))
    return out


async def test_mp4_segments_upload_export_and_verify_alike(
    evidence_service: RunningDispatch, edge_factory, sortie_folder: Path, tmp_path: Path
) -> None:
    incident = await fly_incident(evidence_service, edge_factory)
    mp4 = as_mp4(sortie_folder, tmp_path / "mp4" / sortie_folder.name)
    set_incident(mp4, incident)
    uploader, transport = uploader_for(evidence_service, mp4)
    async with transport:
        assert await uploader.upload_all() == 1
    async with evidence_service.client("admin") as admin:
        answer = await admin.post(
            f"/api/v1/evidence/incidents/{incident}/export", json={"reason": "MP4 disclosure"}
        )
    (tmp_path / "mp4.zip").write_bytes(answer.content)
    assert verify_bundle(tmp_path / "mp4.zip").ok
    with zipfile.ZipFile(tmp_path / "mp4.zip") as zf:
        names = zf.namelist()
    assert all(f"original/{mp4.name}/{p.name}" in names for p in mp4.glob("*.mp4"))
    assert all(f"release/{mp4.name}/{p.name}.mp4" in names for p in mp4.glob("*.mp4"))
