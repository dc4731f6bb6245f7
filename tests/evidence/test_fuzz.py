"""Fuzzing the evidence parsers of outside bytes: the recording manifest, the live upload
endpoints, and the bundles `outrider evidence verify` is given."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.evidence.verify import verify_bundle
from edge.errors import ProtocolError
from edge.protocol.evidence import OFFSET_HEADER, parse_manifest
from tests.evidence.conftest import RunningDispatch, bearer
from tests.security.test_fuzz_inputs import json_values

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
GOOD_SEGMENT = {
    "file": "raw-0001.mp4", "rendition": "raw", "frames": 10,
    "start": "2026-11-21T10:00:00+00:00", "end": "2026-11-21T10:00:01+00:00",
    "bytes": 10, "sha256": "a" * 64,
}  # fmt: skip
near_segments = st.fixed_dictionaries(
    {k: st.one_of(st.just(v), json_values) for k, v in GOOD_SEGMENT.items()}
)
near_manifests = st.fixed_dictionaries(
    {
        "v": st.one_of(st.just(1), json_values),
        "sortie_id": st.one_of(st.just("S-1"), st.text(max_size=140), json_values),
        "segments": st.one_of(st.lists(near_segments, max_size=4), json_values),
    }
)


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=2048) | near_manifests.map(lambda m: json.dumps(m).encode()))
def test_any_bytes_as_a_manifest_parse_or_are_refused_with_a_code(data: bytes) -> None:
    try:
        manifest = parse_manifest(data)
    except ProtocolError as exc:
        assert exc.code in {"too_large", "malformed_json", "invalid_field"}
        return
    assert all(len(s.sha256) == 64 for s in manifest.segments)


names = st.one_of(
    st.sampled_from(["raw-0001.mp4", "..", "a/b.mp4", "%2e%2e", "x" * 300, "raw-0001.avi"]),
    st.text(min_size=1, max_size=20).filter(lambda s: "/" not in s and s not in (".", "..")),
)


@settings(max_examples=120, deadline=None, suppress_health_check=FIXTURES)
@given(
    manifest=st.just({"v": 1, "sortie_id": "S-1", "segments": [GOOD_SEGMENT]}) | near_manifests,
    file=names,
    offset=st.one_of(st.integers(-5, 1 << 41).map(str), st.text(max_size=8)),
    body=st.binary(max_size=64),
)
async def test_any_upload_request_gets_a_coded_answer_never_a_server_error(
    evidence_service: RunningDispatch, manifest: dict, file: str, offset: str, body: bytes
) -> None:
    edge = bearer("edge")
    base = "/api/v1/evidence/uploads/dock-01/S-1"
    path = f"{base}/{file}"
    requests = [
        ("PUT", base, json.dumps(manifest).encode(), edge),
        ("PATCH", path, body, {**edge, OFFSET_HEADER: offset}),
        ("HEAD", path, b"", edge),
    ]
    async with httpx.AsyncClient(base_url=evidence_service.url, timeout=20) as client:
        for method, url, content, headers in requests:
            try:
                answer = await client.request(method, url, content=content, headers=headers)
            except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
                continue  # the client itself will not send it
            assert answer.status_code < 500, answer.text
            if answer.text == "Invalid HTTP request received.":
                continue  # refused by the HTTP server before it reached dispatch
            if answer.status_code >= 400 and method != "HEAD":
                assert set(json.loads(answer.text or "null") or {}) >= {"code", "reason"}, (
                    answer.status_code,
                    answer.text,
                    str(answer.request.url),
                )


@pytest.fixture(scope="module")
def small_bundle(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real signed bundle (no video), made by the exporter's writer."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from dispatch.evidence.bundle import BundleWriter

    path = tmp_path_factory.mktemp("bundle") / "b.zip"
    writer = BundleWriter(path, Ed25519PrivateKey.generate(), {"incident_id": "INC-1"})
    writer.add_json("timeline.json", [{"type": "raised"}])
    writer.add_json("audit.json", [])
    writer.add_bytes("original/S-1/raw-0001.mp4", bytes(range(256)) * 8)
    writer.close()
    assert verify_bundle(path).ok
    return path.read_bytes()


@settings(max_examples=300, deadline=None, suppress_health_check=FIXTURES)
@given(data=st.binary(max_size=4096))
def test_any_bytes_given_to_verify_fail_cleanly(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "any.zip"
    path.write_bytes(data)
    report = verify_bundle(path)
    assert not report.ok and report.failures


@settings(max_examples=300, deadline=None, suppress_health_check=FIXTURES)
@given(
    flips=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(1, 255)), min_size=1, max_size=4),
    cut=st.none() | st.integers(0, 1 << 20),
)
def test_a_damaged_bundle_verifies_only_when_every_file_is_intact(
    small_bundle: bytes, tmp_path: Path, flips: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(small_bundle)
    for at, mask in flips:
        data[at % len(data)] ^= mask
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp_path / "damaged.zip"
    path.write_bytes(bytes(data))
    if not verify_bundle(path).ok:
        return
    # Verified: then only the zip's own bookkeeping (dates, flags) was hit, never a file.
    with zipfile.ZipFile(io.BytesIO(small_bundle)) as good, zipfile.ZipFile(path) as bad:
        assert sorted(good.namelist()) == sorted(bad.namelist())
        for name in good.namelist():
            assert good.read(name) == bad.read(name), name


@settings(max_examples=200, deadline=None, suppress_health_check=FIXTURES)
@given(
    manifest=json_values,
    members=st.dictionaries(
        st.text(
            st.characters(min_codepoint=33, exclude_categories=("Cs",)), min_size=1, max_size=20
        ),
        st.binary(max_size=64),
    ),
)
def test_a_well_formed_zip_with_any_manifest_fails_cleanly(
    tmp_path: Path, manifest: object, members: dict[str, bytes]
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("manifest.sig", b"AAAA")
        for name, data in members.items():
            if name:
                zf.writestr(name, data)
    path = tmp_path / "crafted.zip"
    path.write_bytes(buffer.getvalue())
    assert not verify_bundle(path).ok
