"""Video bytes and encoding cost: H.264 against JPEG on the same frames of the synthetic scene.

The synthetic camera circles the example scene (``configs/scenes/example.toml``) as a drone on
scene would, at 640x480 and 15 fps of capture time; the very same frames are encoded by the
edge's H.264 encoder (the rendition as streamed, and with boxes and HUD burned in) and as JPEG
at quality 75, so the ratios compare like with like in one run.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from edge.geo import LatLon

__all__ = ["SCENE", "SCENE_FILE", "codec_figures"]

SCENE_FILE = Path(__file__).resolve().parents[2] / "configs" / "scenes" / "example.toml"
SCENE = LatLon(51.51352, -0.08890)  # the middle of the example scene's actors
JPEG_QUALITY = 75


def _frames(width: int, height: int, fps: float, count: int) -> list[Any]:
    from edge.geoproject import CameraModel
    from sim.camera import SyntheticCamera, load_scene, orbit_pose

    tick = [0]
    pose = orbit_pose(SCENE, 45.0, 30.0, 30.0, clock=lambda: tick[0] / fps)
    camera = SyntheticCamera(load_scene(SCENE_FILE), CameraModel(width, height, 45.0), pose)
    camera.open()
    frames = []
    for n in range(count):
        tick[0] = n
        shot = camera.read()
        assert shot is not None
        frames.append(shot)
    return frames


def _burn_in(shots: list[Any], model: Path, fps: float) -> list[Any]:
    """The frames with the detector's boxes and the HUD drawn in, as ``burn_in = true`` sends."""
    from datetime import UTC, datetime

    from edge.detect import AutoDetectorConfig, load_detector
    from edge.video.annotate import Hud, draw_hud, draw_objects
    from edge.video.frames import Frame
    from edge.video.stages import Analyser
    from edge.video.track import Tracker

    detector = load_detector(AutoDetectorConfig(model=model, threads=1))
    analyser = Analyser(detector, Tracker(), 45.0, ["person"])
    out = []
    for n, shot in enumerate(shots):
        result = analyser.run(Frame(n, shot.image, datetime.now(UTC), n / fps, shot.pose))
        image = shot.image.copy()
        draw_objects(image, result.objects or [])
        draw_hud(
            image, Hud(result.frame.t, shot.pose.alt_agl_m, shot.pose.heading_deg, "INC-1", fps)
        )
        out.append(image)
    detector.close()
    return out


def _h264(
    images: list[Any], fps: float, crf: float | None = None, kbps: int | None = None
) -> tuple[int, list[float], float]:
    from edge.video.config import H264Config
    from edge.video.h264 import H264Encoder

    cfg = H264Config()
    crf = cfg.crf if crf is None else crf
    h, w = images[0].shape[:2]
    encoder = H264Encoder(
        w,
        h,
        fps=fps,
        kbps=kbps or cfg.cap_kbps("raw"),
        crf=crf,
        keyframe_interval_s=cfg.keyframe_interval_s,
        preset=cfg.preset,
        threads=cfg.threads,
        x264_params=cfg.x264_params,
    )
    size, times, packets = 0, [], []
    for n, image in enumerate(images):
        started = time.perf_counter()
        packet = encoder.encode(image, n / fps)
        times.append(time.perf_counter() - started)
        assert packet is not None
        size += len(packet.data)
        packets.append(packet.data)
    return size, times, _psnr(images, _decode_h264(packets))


def _decode_h264(packets: list[bytes]) -> list[Any]:
    from dispatch.video_snapshot import decode

    return [picture.to_ndarray(format="bgr24") for picture in decode(packets)]


def _psnr(originals: list[Any], decoded: list[Any]) -> float:
    """Mean luma PSNR (dB) of the decoded frames against the originals."""
    import cv2

    def luma(image: Any) -> Any:
        return cv2.cvtColor(image, cv2.COLOR_BGR2YUV)[:, :, 0]

    return statistics.mean(
        cv2.PSNR(luma(a), luma(b)) for a, b in zip(originals, decoded, strict=True)
    )


def _jpeg(images: list[Any]) -> tuple[int, list[float], float]:
    import cv2
    import numpy as np

    from edge.video.stages import encode_jpeg

    size, times, decoded = 0, [], []
    for image in images:
        started = time.perf_counter()
        jpeg = encode_jpeg(image, JPEG_QUALITY)
        times.append(time.perf_counter() - started)
        size += len(jpeg)
        decoded.append(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
    return size, times, _psnr(images, decoded)


def _equal_quality(images: list[Any], fps: float, target_db: float) -> tuple[float, int]:
    """The highest CRF whose H.264 is at least as good as ``target_db`` (no cap), and its bytes."""
    size = 0
    for crf in range(28, 11, -1):
        size, _, psnr = _h264(images, fps, crf, kbps=50_000)
        if psnr >= target_db:
            return crf, size
    return 12, size


def codec_figures(
    model: Path | None,
    width: int = 640,
    height: int = 480,
    fps: float = 15.0,
    seconds: float = 10.0,
) -> dict[str, Any]:
    """kB/s of H.264 and of JPEG on the same frames, and the encoders' ms a frame."""
    from edge.video.stages import opencv_single_threaded

    opencv_single_threaded()
    count = max(2, round(fps * seconds))
    shots = _frames(width, height, fps, count)
    clean = [s.image for s in shots]
    h264_bytes, h264_times, h264_psnr = _h264(clean, fps)
    jpeg_bytes, jpeg_times, jpeg_psnr = _jpeg(clean)
    span = count / fps
    crf, equal = _equal_quality(clean, fps, jpeg_psnr)
    out: dict[str, Any] = {
        "codec_frames": count,
        "codec_frame": f"{width}x{height}",
        "codec_fps": fps,
        "h264_kBps": round(h264_bytes / span / 1000, 1),
        "jpeg_kBps": round(jpeg_bytes / span / 1000, 1),
        "h264_over_jpeg": round(h264_bytes / jpeg_bytes, 3),
        "edge_encode_ms": round(1000 * statistics.mean(h264_times), 2),
        "edge_encode_ms_p95": round(1000 * sorted(h264_times)[int(0.95 * (count - 1))], 2),
        "jpeg_encode_ms": round(1000 * statistics.mean(jpeg_times), 2),
        "h264_psnr_db": round(h264_psnr, 2),
        "jpeg_psnr_db": round(jpeg_psnr, 2),
        "h264_crf_at_jpeg_psnr": crf,
        "h264_kBps_at_jpeg_psnr": round(equal / span / 1000, 1),
        "jpeg_over_h264_at_equal_psnr": round(jpeg_bytes / equal, 1),
    }
    if model is not None:
        burned = _burn_in(shots, model, fps)
        burned_h264, _, _ = _h264(burned, fps)
        burned_jpeg, _, _ = _jpeg(burned)
        out |= {
            "h264_burned_in_kBps": round(burned_h264 / span / 1000, 1),
            "jpeg_burned_in_kBps": round(burned_jpeg / span / 1000, 1),
        }
    return out
