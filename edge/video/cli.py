"""``outrider detect IMAGE... [--json]`` (a quick check of the detector) and ``export-model``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outrider detect``."""
    parser = sub.add_parser("detect", help="detect objects in images with the edge's detector")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument("--json", action="store_true", help="one JSON list, an object per image")
    parser.add_argument("--model", type=Path, help="model file (default $OUTRIDER_MODEL)")
    parser.add_argument(
        "--runtime", default="auto", help="auto, onnxruntime, openvino or ultralytics"
    )
    parser.add_argument("--conf", type=float, default=0.25, help="minimum confidence")
    parser.set_defaults(func=run)
    export = sub.add_parser(
        "export-model", help="export an Ultralytics checkpoint to ONNX or OpenVINO (offline)"
    )
    export.add_argument("model", type=Path, help="Ultralytics .pt checkpoint")
    export.add_argument("--format", choices=["onnx", "openvino"], default="onnx")
    export.add_argument("--imgsz", type=int, default=640, help="square input size")
    export.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Export a checkpoint and print where the result is."""
    from edge.detect.export import export_model

    sys.stdout.write(f"{export_model(args.model, args.format, args.imgsz)}\n")
    return 0


def run(args: argparse.Namespace) -> int:
    """Detect in each image; exit 1 when any image could not be read."""
    with contextlib.redirect_stdout(sys.stderr):  # libraries' chatter stays off the report
        report = _detect(args)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=1) + "\n")
    else:
        for entry in report:
            sys.stdout.write(f"{entry['image']}: {entry.get('error', '')}\n")
            for o in entry.get("objects", []):
                box = ", ".join(f"{v:.0f}" for v in o["bbox"])
                sys.stdout.write(f"  {o['cls']:<14} {o['conf']:.2f}  [{box}]\n")
    return 1 if any("error" in e for e in report) else 0


def _detect(args: argparse.Namespace) -> list[dict[str, Any]]:
    import cv2
    from pydantic import TypeAdapter, ValidationError

    from edge.detect import DetectorConfig, Image, load_detector
    from edge.drivers import DRIVER_MISSING
    from edge.errors import ConfigError

    try:
        config = TypeAdapter(DetectorConfig).validate_python(
            {"type": args.runtime, "model": args.model, "conf": args.conf}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        code = DRIVER_MISSING if first["type"] == DRIVER_MISSING else None
        raise ConfigError(f"--runtime/--conf: {first['msg']}", code=code) from None
    detector = load_detector(config)
    report: list[dict[str, Any]] = []
    for path in args.images:
        image: Image | None = cv2.imread(str(path))  # type: ignore[assignment]
        if image is None:
            report.append({"image": str(path), "error": "not a readable image"})
            continue
        objects = [
            {"cls": d.cls, "conf": round(d.conf, 4), "bbox": [round(v, 1) for v in d.box]}
            for d in detector.detect(image)
        ]
        report.append({"image": str(path), "objects": objects})
    detector.close()
    return report
