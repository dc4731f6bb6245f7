"""H.264 frames on the video wire: headers with their metadata, and the Annex B parser fuzzed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.errors import ProtocolError
from edge.protocol import DetectedObject
from edge.protocol.h264 import check_access_unit, codec_string, nal_units, parameter_sets
from edge.protocol.video import FrameHeader, FramePose, LinkReport, pack_frame, unpack_frame
from tests.h264clip import H264Clip

CODES = {"malformed_json", "invalid_field", "too_large"}


@pytest.fixture(scope="module")
def clip() -> list[tuple[bytes, bool]]:
    """Sixteen real frames: a keyframe, fourteen deltas, the next keyframe."""
    source = H264Clip()
    return [source.next() for _ in range(16)]


def test_an_h264_frame_round_trips_with_pose_detections_and_the_scene_flag(
    clip: list[tuple[bytes, bool]],
) -> None:
    key_message, key = clip[0]
    header, body = unpack_frame(key_message)
    assert key and header.key and header.codec == "h264"
    assert header.codec_string == codec_string(body) and header.codec_string.startswith("avc1.42")
    header = header.model_copy(
        update={
            "pose": FramePose(lat=51.5, lon=-0.08, alt_agl_m=60.0, heading_deg=93.0),
            "scene_in_view": True,
            "link": LinkReport(level=2, target_kbps=612, dropped=7, backlog_ms=120.0),
            "objects": [DetectedObject(track_id=3, cls="person", conf=0.8, bbox=[1, 2, 3, 4])],
        }
    )
    again, body_again = unpack_frame(pack_frame(header, body))
    assert again == header and body_again == body
    delta_header, _ = unpack_frame(clip[1][0])
    assert not delta_header.key and delta_header.codec_string is None
    assert delta_header.scene_in_view is None, "unset until something decides it"


def test_a_keyframe_carries_its_parameter_sets_in_band(clip: list[tuple[bytes, bool]]) -> None:
    _, body = unpack_frame(clip[0][0])
    kinds = [u[0] & 0x1F for u in nal_units(body)]
    assert 7 in kinds and 8 in kinds and 5 in kinds
    sets = parameter_sets(body)
    assert sets.startswith(b"\x00\x00\x00\x01") and sets.count(b"\x00\x00\x00\x01") == 2
    assert [n for n, (_, key) in enumerate(clip) if key] == [0, 15]


def test_frames_that_would_strand_a_late_joiner_are_refused(
    clip: list[tuple[bytes, bool]],
) -> None:
    key_header, key_body = unpack_frame(clip[0][0])
    delta_header, delta_body = unpack_frame(clip[1][0])
    with pytest.raises(ProtocolError) as info:  # a keyframe that is not one
        unpack_frame(pack_frame(key_header, delta_body))
    assert info.value.code == "invalid_field" and "SPS" in info.value.reason
    with pytest.raises(ProtocolError) as info:  # a keyframe that does not name its codec
        unpack_frame(pack_frame(key_header.model_copy(update={"codec_string": None}), key_body))
    assert info.value.code == "invalid_field"
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 50 + b"\xff\xd9"
    header = FrameHeader(dock_id="d", frame=1, width=8, height=8)
    with pytest.raises(ProtocolError):  # a JPEG is always a keyframe
        unpack_frame(pack_frame(header.model_copy(update={"key": False}), jpeg))
    with pytest.raises(ProtocolError):  # H.264 claimed, JPEG sent
        unpack_frame(pack_frame(delta_header, jpeg))


def test_nal_units_are_found_behind_three_and_four_byte_start_codes() -> None:
    data = b"\x00\x00\x00\x01\x67\x42\x00\x1e" + b"\x00\x00\x01\x68\xce" + b"\x00\x00\x01\x65\x88"
    assert [bytes(u) for u in nal_units(data)] == [b"\x67\x42\x00\x1e", b"\x68\xce", b"\x65\x88"]
    assert codec_string(data) == "avc1.42001E"
    check_access_unit(data, key=True)
    for bad in (
        b"",
        b"\x67\x42",
        b"\x00\x00\x01",
        b"\x00\x00\x01\x00\x00\x01\x65",
        b"\x00\x00\x01\xe5",
    ):
        with pytest.raises(ProtocolError) as info:
            nal_units(bad)
        assert info.value.code == "invalid_field"


units = st.binary(min_size=1, max_size=40).filter(
    lambda u: b"\x00\x00" not in u and not u.endswith(b"\x00") and not u[0] & 0x80
)


@settings(max_examples=300)
@given(st.lists(units, min_size=1, max_size=12), st.lists(st.booleans(), min_size=12))
def test_any_sequence_of_nal_units_is_split_back_exactly(
    parts: list[bytes], long_codes: list[bool]
) -> None:
    data = b"".join(
        (b"\x00\x00\x00\x01" if long else b"\x00\x00\x01") + u
        for u, long in zip(parts, long_codes, strict=False)
    )
    assert [bytes(u) for u in nal_units(data)] == parts


@settings(max_examples=500)
@given(st.binary(max_size=300), st.booleans())
def test_arbitrary_bytes_never_break_the_h264_parser(data: bytes, key: bool) -> None:
    try:
        check_access_unit(data, key=key)
        codec_string(data)
        parameter_sets(data)
    except ProtocolError as exc:
        assert exc.code == "invalid_field"


@settings(max_examples=300)
@given(
    st.binary(max_size=200).map(lambda b: b"\x00\x00\x01" + b),
    st.booleans(),
    st.sampled_from(["avc1.42C01E", "avc1.640028", None]),
)
def test_arbitrary_bodies_behind_an_h264_header_are_refused_with_a_code(
    body: bytes, key: bool, codec: str | None
) -> None:
    header = FrameHeader.model_construct(
        dock_id="dock-01", frame=1, width=64, height=64, codec="h264", key=key, codec_string=codec
    )
    try:
        parsed, again = unpack_frame(pack_frame(header, body))
    except ProtocolError as exc:
        assert exc.code in CODES
    else:
        assert parsed.codec == "h264" and again == body
