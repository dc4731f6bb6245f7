"""H.264 access units on the wire (Annex B): their NAL units, keyframes, and the codec's name.

The edge sends each H.264 frame as one Annex B access unit (NAL units behind ``00 00 01`` or
``00 00 00 01`` start codes). A keyframe carries its sequence and picture parameter sets (SPS,
PPS) in band before the IDR slice, so a viewer can start decoding at any keyframe without
anything sent earlier. Nothing here decodes a picture: these functions only read NAL headers.
"""

from __future__ import annotations

from edge.errors import ProtocolError

__all__ = [
    "NAL_IDR",
    "NAL_PPS",
    "NAL_SPS",
    "check_access_unit",
    "codec_string",
    "nal_units",
    "parameter_sets",
]

NAL_SLICE = 1
NAL_IDR = 5
NAL_SPS = 7
NAL_PPS = 8
MAX_NAL_UNITS = 4096  # far more than any encoder puts in one frame
_START = b"\x00\x00\x01"


def nal_units(data: bytes) -> list[memoryview]:
    """The NAL units of an Annex B access unit, without their start codes.

    Raises:
        ProtocolError: ``invalid_field`` when ``data`` does not begin with a start code, holds
            an empty NAL unit or one whose forbidden bit is set, or holds too many.
    """
    if not (data.startswith(_START) or data.startswith(b"\x00" + _START)):
        raise ProtocolError("H.264 frame does not begin with a start code", code="invalid_field")
    view = memoryview(data)
    units: list[memoryview] = []
    at = data.find(_START) + len(_START)
    while True:
        nxt = data.find(_START, at)
        end = len(data) if nxt < 0 else nxt
        stop = end
        while nxt >= 0 and stop > at and data[stop - 1] == 0:
            stop -= 1  # the zero before a four-byte start code, or trailing zero bytes
        if stop <= at:
            raise ProtocolError("H.264 frame has an empty NAL unit", code="invalid_field")
        if data[at] & 0x80:
            raise ProtocolError("H.264 NAL unit has its forbidden bit set", code="invalid_field")
        units.append(view[at:stop])
        if len(units) > MAX_NAL_UNITS:
            raise ProtocolError("H.264 frame has too many NAL units", code="invalid_field")
        if nxt < 0:
            return units
        at = nxt + len(_START)


def _kind(unit: memoryview) -> int:
    return unit[0] & 0x1F


def check_access_unit(data: bytes, *, key: bool) -> None:
    """Check the framing of one access unit; a keyframe must hold an SPS, a PPS and an IDR slice.

    A delta frame's start code is checked only (cheap, per frame); a keyframe is read NAL by NAL
    (once a keyframe interval), since a late joiner starts decoding there.

    Raises:
        ProtocolError: ``invalid_field``.
    """
    if not key:
        if not (data.startswith(_START) or data.startswith(b"\x00" + _START)):
            raise ProtocolError(
                "H.264 frame does not begin with a start code", code="invalid_field"
            )
        return
    kinds = {_kind(u) for u in nal_units(data)}
    missing = [
        name for name, k in (("SPS", NAL_SPS), ("PPS", NAL_PPS), ("IDR", NAL_IDR)) if k not in kinds
    ]
    if missing:
        raise ProtocolError(f"H.264 keyframe lacks its {', '.join(missing)}", code="invalid_field")


def codec_string(data: bytes) -> str:
    """The WebCodecs / RFC 6381 name of the stream (``avc1.42C01E``) from a keyframe's SPS.

    Raises:
        ProtocolError: ``invalid_field`` when the access unit holds no usable SPS.
    """
    for unit in nal_units(data):
        if _kind(unit) == NAL_SPS and len(unit) >= 4:
            return "avc1." + bytes(unit[1:4]).hex().upper()
    raise ProtocolError("H.264 keyframe has no sequence parameter set", code="invalid_field")


def parameter_sets(data: bytes) -> bytes:
    """The SPS and PPS of a keyframe as Annex B bytes (a container's codec configuration).

    Raises:
        ProtocolError: ``invalid_field`` when the access unit is malformed.
    """
    units = [u for u in nal_units(data) if _kind(u) in (NAL_SPS, NAL_PPS)]
    return b"".join(b"\x00\x00\x00\x01" + bytes(u) for u in units)
