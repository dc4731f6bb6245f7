"""Video: detector fps per runtime vs PyTorch, pipeline fps, H.264 vs JPEG, browser latency.

Every figure comes from one run on this machine, so the ratios (pipeline ÷ bare detector,
default runtime ÷ Ultralytics PyTorch predict, H.264 ÷ JPEG bytes) compare like with like even
when the CPU is shared. Detector and pipeline frames are the sample photographs scaled to the
pipeline's resolution; the codec figures (:mod:`outrider.bench.video_codec`) use the synthetic
scene; the browser latency (:mod:`outrider.bench.video_browser`) runs when Chromium is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.geoproject import CameraPose

if TYPE_CHECKING:
    import argparse

    from edge.detect import Detector
    from edge.detect.api import Image
    from edge.detect.reference import TorchReference
    from edge.video.config import VideoConfig

__all__ = ["add_arguments", "measure", "report"]

# The receiving end stands in for dispatch: its own process, reading and dropping every frame.
_DRAIN = """
import asyncio, sys
from websockets.asyncio.server import serve
async def drain(ws):
    async for _ in ws:
        pass
async def main():
    async with serve(drain, "127.0.0.1", int(sys.argv[1]), max_size=None):
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        await asyncio.Event().wait()
asyncio.run(main())
"""


@contextlib.asynccontextmanager
async def _drain(port: int) -> AsyncIterator[None]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _DRAIN, str(port), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        await asyncio.wait_for(proc.stdout.readline(), 30)
        yield
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


POSE = CameraPose(51.5079, -0.0877, 30.0, 90.0, -45.0)


def _frames(width: int, height: int) -> list[Image]:
    import cv2
    import numpy as np

    from sim.camera.sprites import assets_dir

    out: list[Image] = []
    for name in ("bus.jpg", "zidane.jpg"):
        image = cv2.imread(str(assets_dir() / name))
        assert image is not None, name
        out.append(np.asarray(cv2.resize(image, (width, height)), dtype=np.uint8))
    return out


def _interleaved(
    runners: dict[str, Detector | TorchReference], frames: list[Image], n: int, rounds: int = 5
) -> dict[str, float]:
    """Frames/s of each detector, run in turns so that load from elsewhere hits all alike."""
    for detector in runners.values():
        for i in range(3):
            detector.detect(frames[i % len(frames)])
    spent = dict.fromkeys(runners, 0.0)
    done = dict.fromkeys(runners, 0)
    for _ in range(rounds):
        for key, detector in runners.items():
            count = max(2, n // rounds // (3 if key == TORCH else 1))
            started = time.perf_counter()
            for i in range(count):
                detector.detect(frames[i % len(frames)])
            spent[key] += time.perf_counter() - started
            done[key] += count
    return {key: done[key] / spent[key] for key in runners}


async def _pipeline(
    cfg: VideoConfig, detector: Detector, folder: Path, seconds: float
) -> dict[str, float]:
    from edge.video.camera import ImageLoopCamera
    from edge.video.pipeline import VideoPipeline
    from edge.video.uplink import Uplink
    from sim.net import free_tcp_port

    port = free_tcp_port()
    async with (
        _drain(port),
        Uplink(f"http://127.0.0.1:{port}", "bench", "t", backoff_s=(0.05, 0.5)) as uplink,
        VideoPipeline(
            cfg,
            ImageLoopCamera.from_path(folder),
            detector,
            lambda: POSE,
            None,
            uplink,
            dock_id="bench",
        ) as video,
    ):
        await asyncio.sleep(2.0)  # warm-up
        st = video.stats
        sent0, cpu0, wall0 = uplink.stats.sent, time.process_time(), time.perf_counter()
        a0, an0, e0, en0 = st.analyse_s, st.analysed, st.encode_s, st.encoded
        uplink.stats.latency_s.clear()
        await asyncio.sleep(seconds)
        sent = uplink.stats.sent - sent0
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        lat = sorted(uplink.stats.latency_s)
        renditions = len(cfg.uplink.renditions)
        return {
            "pipeline_fps": sent / renditions / wall,
            "latency_ms_p50": 1000 * statistics.median(lat) if lat else float("nan"),
            "latency_ms_p95": 1000 * lat[int(0.95 * (len(lat) - 1))] if lat else float("nan"),
            "cpu_percent": 100 * cpu / wall,
            "analyse_ms": 1000 * (st.analyse_s - a0) / max(1, st.analysed - an0),
            "encode_ms": 1000 * (st.encode_s - e0) / max(1, st.encoded - en0),
            "uplink_dropped": float(uplink.stats.dropped),
            "detect_errors": float(video.stats.detect_errors),
        }


TORCH = "ultralytics-torch"


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """All figures of one benchmark run (Ultralytics, when installed, stays offline)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    return asyncio.run(_measure(args))


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    import cv2

    from edge.detect import PLUGINS, AutoDetectorConfig, choose_runtime, load_detector
    from edge.detect.api import default_threads
    from edge.detect.reference import TorchReference, torch_reference_available
    from edge.video.config import VideoConfig
    from edge.video.stages import opencv_single_threaded
    from outrider.bench.video_browser import browser_figures
    from outrider.bench.video_codec import codec_figures

    opencv_single_threaded()  # as the pipeline runs it, for the bare runs too
    model = AutoDetectorConfig(model=args.model).model_path()
    threads = args.threads or default_threads()
    frames = _frames(args.width, args.height)
    runners: dict[str, Detector | TorchReference] = {}
    notes = {}
    for key in PLUGINS:
        if key == "ultralytics" and model.suffix == ".onnx":
            notes[key] = "Ultralytics' predictor running the ONNX file on ONNX Runtime, own threads"
        config = PLUGINS[key].config.model_validate({"model": model, "threads": threads})
        runners[key] = load_detector(config)
    if torch_reference_available(model) is None:
        runners[TORCH] = TorchReference(model, threads=threads)
    measured = await asyncio.to_thread(_interleaved, runners, frames, args.frames)
    torch_fps = measured.pop(TORCH, None)
    default = choose_runtime(model)
    with tempfile.TemporaryDirectory() as tmp:
        for i, image in enumerate(frames):
            cv2.imwrite(str(Path(tmp) / f"{i}.png"), image)
        cfg = VideoConfig.model_validate(
            {
                "camera": {"type": "file", "path": tmp},
                "width": args.width,
                "height": args.height,
                "fps": args.camera_fps,
                "threads": threads,
            }
        )
        detector = runners[default]
        assert not isinstance(detector, TorchReference)
        piped = await _pipeline(cfg, detector, Path(tmp), args.seconds)
    after = await asyncio.to_thread(_interleaved, {default: detector}, frames, args.frames // 2, 2)
    bare_default = (measured[default] + after[default]) / 2
    codec = await asyncio.to_thread(codec_figures, model, seconds=args.codec_seconds)
    browser = (
        await asyncio.to_thread(browser_figures, model, args.browser_seconds)
        if args.browser_seconds > 0
        else {"browser_skipped": "--browser-seconds 0"}
    )
    return {
        "model": str(model),
        "frame": f"{args.width}x{args.height}",
        "cores": os.cpu_count(),
        "threads": threads,
        "default_runtime": default,
        "bare_fps": measured,
        "notes": notes,
        "ultralytics_torch_fps": torch_fps,
        **piped,
        "bare_default_fps_around_pipeline": bare_default,
        "pipeline_over_bare": piped["pipeline_fps"] / bare_default,
        "default_over_torch": measured[default] / torch_fps if torch_fps else None,
        **codec,
        **browser,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``outrider bench video``."""
    parser.add_argument("--model", type=Path, help="model file (default $OUTRIDER_MODEL)")
    parser.add_argument("--frames", type=int, default=100, help="frames per bare-detector run")
    parser.add_argument("--seconds", type=float, default=10.0, help="pipeline measuring time")
    parser.add_argument("--threads", type=int, help="detector CPU threads (default cores - 1)")
    parser.add_argument(
        "--camera-fps", type=float, default=60.0, help="camera rate, above the detector's"
    )
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument(
        "--codec-seconds", type=float, default=10.0, help="synthetic scene encoded (at 15 fps)"
    )
    parser.add_argument(
        "--browser-seconds", type=float, default=10.0, help="browser latency window; 0: skip"
    )


def report(r: dict[str, Any]) -> str:
    """The figures as a table."""
    import io

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"video on {r['cores']} cores: {Path(r['model']).name}, {r['frame']}")
    table.add_column("what")
    table.add_column("figure", justify="right")
    for key, fps in r["bare_fps"].items():
        note = " (its predictor, own threads)" if key in r["notes"] else ""
        table.add_row(f"bare detector, {key}{note}", f"{fps:.1f} fps")
    torch = r["ultralytics_torch_fps"]
    table.add_row("Ultralytics PyTorch predict", f"{torch:.1f} fps" if torch else "n/a")
    table.add_row(
        f"pipeline ({r['default_runtime']}, {r['threads']} threads)", f"{r['pipeline_fps']:.1f} fps"
    )
    table.add_row("pipeline ÷ bare detector", f"{r['pipeline_over_bare']:.2f}")
    if r["default_over_torch"]:
        table.add_row("default runtime ÷ PyTorch", f"{r['default_over_torch']:.2f}")
    table.add_row(
        "capture → sent p50 / p95", f"{r['latency_ms_p50']:.0f} / {r['latency_ms_p95']:.0f} ms"
    )
    table.add_row("CPU while streaming", f"{r['cpu_percent']:.0f} % of one core")
    table.add_row(
        "H.264 / JPEG q75, synthetic scene 640x480 at 15 fps",
        f"{r['h264_kBps']} / {r['jpeg_kBps']} kB/s ({r['h264_over_jpeg']:.2f})",
    )
    table.add_row(
        "luma PSNR H.264 / JPEG; JPEG ÷ H.264 at equal PSNR",
        f"{r['h264_psnr_db']} / {r['jpeg_psnr_db']} dB; {r['jpeg_over_h264_at_equal_psnr']}",
    )
    table.add_row("H.264 encode (with colour conversion)", f"{r['edge_encode_ms']} ms a frame")
    if "browser_latency_ms_p50" in r:
        table.add_row(
            f"capture → painted in Chromium ({r['browser_decoder']}) p50 / p95",
            f"{r['browser_latency_ms_p50']:.0f} / {r['browser_latency_ms_p95']:.0f} ms",
        )
    else:
        table.add_row("capture → painted in Chromium", r.get("browser_skipped", "n/a"))
    out = io.StringIO()
    Console(file=out, width=100).print(table)
    return out.getvalue()
