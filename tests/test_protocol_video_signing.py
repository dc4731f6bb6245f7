"""Video uplink framing and command signatures, the two binary parts of the contract."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.errors import ConfigError, ProtocolError, RefusedError
from edge.protocol import DetectedObject, parse_command
from edge.protocol.signing import load_private_key, load_public_key, sign, verify
from edge.protocol.video import FrameHeader, pack_frame, unpack_frame
from tests.test_protocol import DISPATCH

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100 + b"\xff\xd9"


def test_a_frame_round_trips_with_its_detections() -> None:
    header = FrameHeader(
        dock_id="dock-01",
        frame=7,
        width=640,
        height=480,
        rendition="redacted",
        objects=[DetectedObject(track_id=3, cls="person", conf=0.8, bbox=[1, 2, 3, 4])],
    )
    again, jpeg = unpack_frame(pack_frame(header, JPEG))
    assert again == header and jpeg == JPEG


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x00\x00", "malformed_json"),
        (b"\x00\x00\x00\x10{}", "malformed_json"),
        (b"\x00\x00\x00\x02{}" + JPEG, "invalid_field"),
        (b"\x00\x00\x00\x04nope" + JPEG, "malformed_json"),
    ],
)
def test_bad_frames_are_refused_with_a_code(data: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        unpack_frame(data)
    assert info.value.code == code


@settings(max_examples=300)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_break_the_frame_parser(data: bytes) -> None:
    try:
        unpack_frame(data)
    except ProtocolError as exc:
        assert exc.code in {"malformed_json", "invalid_field", "too_large"}


def test_a_signed_command_verifies_and_any_change_breaks_it() -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign(parse_command(json.dumps(DISPATCH).encode()), key)
    received = parse_command(signed.model_dump_json().encode())
    verify(received, key.public_key())
    tampered = received.model_copy(update={"dock_id": "dock-02"})
    with pytest.raises(RefusedError) as info:
        verify(tampered, key.public_key())
    assert info.value.code == "bad_signature"
    with pytest.raises(RefusedError) as info:
        verify(received, Ed25519PrivateKey.generate().public_key())
    assert info.value.code == "bad_signature"
    garbage = received.model_copy(update={"sig": base64.b64encode(b"x" * 64).decode() + "!"})
    with pytest.raises(RefusedError) as info:
        verify(garbage, key.public_key())
    assert info.value.code == "bad_signature"
    with pytest.raises(RefusedError) as info:
        verify(received.model_copy(update={"sig": None}), key.public_key())
    assert info.value.code == "unsigned"


def test_keys_load_from_pem_and_wrong_files_are_config_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = Ed25519PrivateKey.generate()
    priv, pub = tmp_path / "dispatch.key", tmp_path / "dispatch.pub"
    priv.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    cmd = sign(parse_command(json.dumps(DISPATCH).encode()), load_private_key(priv))
    verify(cmd, load_public_key(pub))
    with pytest.raises(ConfigError):
        load_public_key(priv)
    with pytest.raises(ConfigError):
        load_private_key(tmp_path / "missing.key")
