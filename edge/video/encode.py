"""The encoding stage: the picture each rendition shows, encoded once (H.264 or JPEG), packed.

Each rendition has one encoder for the whole run; its packets go to the uplink and to the
recording alike, so nothing is encoded twice and no viewer costs an encode. The redacted
rendition fails closed: a frame whose detection or redaction did not run is not encoded into it
at all, and the next frame that is starts a fresh keyframe, so no decoder ever shows a picture
built on an unredacted one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edge.protocol.video import FrameHeader, FramePose, LinkReport, Rendition, pack_frame
from edge.video.annotate import Hud, draw_hud, draw_objects
from edge.video.config import VideoConfig
from edge.video.h264 import H264Encoder
from edge.video.ladder import LinkState, rung_kbps
from edge.video.redact import redact
from edge.video.stages import Analysed, encode_jpeg

__all__ = ["Encoded", "EncodedFrame", "Encoder"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One rendition of one frame: its header, its encoded bytes, and both packed for the wire."""

    rendition: Rendition
    header: FrameHeader
    body: bytes
    packed: bytes
    t_mono: float


@dataclass(slots=True)
class Encoded:
    """Every rendition of one frame that may be sent (``redacted`` only when it is safe)."""

    frames: list[EncodedFrame]
    redaction_failed: bool = False

    @property
    def messages(self) -> list[tuple[Rendition, bytes]]:
        """``(rendition, packed message)`` pairs, in rendition order."""
        return [(f.rendition, f.packed) for f in self.frames]


def frame_pose(a: Analysed) -> FramePose | None:
    """The frame's camera pose as the wire carries it."""
    p = a.frame.pose
    if p is None:
        return None
    return FramePose(
        lat=p.lat,
        lon=p.lon,
        alt_agl_m=round(p.alt_agl_m, 1),
        heading_deg=round(p.heading_deg, 1),
        pitch_deg=round(p.pitch_deg, 1),
    )


class Encoder:
    """Renders and encodes each analysed frame into the renditions asked for.

    Args:
        dock_id: this dock.
        config: the ``[video]`` section (codec, caps, burn-in, JPEG quality).
        renditions: the renditions to produce (the uplink's and the recording's).
        link: the uplink's state (keyframe requests, bitrate rung), or None for a fixed cap.
    """

    def __init__(
        self,
        dock_id: str,
        config: VideoConfig,
        renditions: Sequence[Rendition],
        link: LinkState | None = None,
    ) -> None:
        self.dock_id = dock_id
        self.config = config
        self.renditions = list(dict.fromkeys(renditions))
        self.link = link
        self._h264: dict[Rendition, H264Encoder] = {}
        self._gap: set[Rendition] = set()

    def run(
        self,
        a: Analysed,
        *,
        sortie_id: str | None = None,
        incident_id: str | None = None,
        fps: float | None = None,
    ) -> Encoded:
        """The encoded renditions of one frame (``raw`` always, ``redacted`` when it is safe)."""
        pictures, failed = self._pictures(a, incident_id, fps)
        out = Encoded([], failed)
        for rendition in self.renditions:
            picture = pictures.get(rendition)
            if picture is None:
                self._gap.add(rendition)  # the next frame in this rendition starts afresh
                continue
            out.frames.append(self._encode(rendition, picture, a, sortie_id, incident_id))
        return out

    def request_keyframe(self, *renditions: Rendition) -> None:
        """Start each of these renditions' next frame with a keyframe."""
        self._gap.update(renditions)

    def close(self) -> None:
        """Release the encoders."""
        for encoder in self._h264.values():
            encoder.close()
        self._h264.clear()

    def _pictures(
        self, a: Analysed, incident_id: str | None, fps: float | None
    ) -> tuple[dict[Rendition, NDArray[np.uint8]], bool]:
        frame, objects = a.frame, a.objects or []
        pose = frame.pose
        hud = Hud(
            frame.t,
            pose.alt_agl_m if pose else None,
            pose.heading_deg if pose else None,
            incident_id,
            fps,
        )
        burn = self.config.burn_in
        pictures: dict[Rendition, NDArray[np.uint8]] = {}
        if "raw" in self.renditions:
            raw = frame.image.copy() if burn else frame.image
            if burn:
                draw_objects(raw, objects)
                draw_hud(raw, hud)
            pictures["raw"] = raw
        failed = False
        if "redacted" in self.renditions and a.objects is not None and a.redact_boxes is not None:
            try:
                hidden = redact(frame.image, a.redact_boxes)
                if burn:
                    draw_objects(hidden, objects)
                    draw_hud(
                        hidden, Hud(hud.t, hud.alt_m, hud.heading_deg, incident_id, fps, "redacted")
                    )
                pictures["redacted"] = hidden
            except Exception as exc:  # fail closed: no redacted frame
                logger.warning("frame %d not redacted: %s", frame.seq, exc)
                failed = True
        return pictures, failed

    def _encode(
        self,
        rendition: Rendition,
        picture: NDArray[np.uint8],
        a: Analysed,
        sortie_id: str | None,
        incident_id: str | None,
    ) -> EncodedFrame:
        frame = a.frame
        h, w = picture.shape[:2]
        fresh = rendition in self._gap
        self._gap.discard(rendition)
        codec_string: str | None = None
        if self.config.codec == "jpeg":
            body, key = encode_jpeg(picture, self.config.jpeg_quality), True
        else:
            encoder = self._encoder(rendition, w, h)
            wanted = self.link.take_keyframe_request(rendition) if self.link else False
            packet = encoder.encode(picture, frame.t_mono, force_key=fresh or wanted)
            if packet is None:  # not with zerolatency; an encoder that holds frames is a bug
                raise RuntimeError("the H.264 encoder returned no packet")
            body, key, codec_string = packet.data, packet.key, packet.codec_string
        header = FrameHeader(
            dock_id=self.dock_id,
            frame=frame.seq,
            t=frame.t,
            sortie_id=sortie_id,
            incident_id=incident_id,
            rendition=rendition,
            width=w,
            height=h,
            objects=a.objects or [],
            codec=self.config.codec,
            key=key,
            codec_string=codec_string,
            pose=frame_pose(a),
            scene_in_view=_flag(frame.meta.get("scene_in_view")),
            link=self._report(rendition) if key else None,
        )
        return EncodedFrame(rendition, header, body, pack_frame(header, body), frame.t_mono)

    def _encoder(self, rendition: Rendition, width: int, height: int) -> H264Encoder:
        cfg = self.config.h264
        kbps = self._kbps(rendition)
        encoder = self._h264.get(rendition)
        if encoder is None or encoder.size != (width, height):
            encoder = self._h264[rendition] = H264Encoder(
                width,
                height,
                fps=self.config.fps,
                kbps=kbps,
                crf=cfg.crf,
                keyframe_interval_s=cfg.keyframe_interval_s,
                preset=cfg.preset,
                threads=cfg.threads,
                x264_params=cfg.x264_params,
            )
        encoder.set_kbps(kbps)
        return encoder

    def _kbps(self, rendition: Rendition) -> int:
        cfg = self.config.h264
        level = self.link.level if self.link else 0
        return rung_kbps(cfg.cap_kbps(rendition), cfg.min_kbps, level, cfg.ladder_steps)

    def _report(self, rendition: Rendition) -> LinkReport | None:
        if self.link is None:
            return None
        return LinkReport(
            level=self.link.level,
            target_kbps=self._kbps(rendition) if self.config.codec == "h264" else 0,
            dropped=self.link.dropped,
            backlog_ms=round(self.link.backlog_s * 1000, 1),
        )


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None
