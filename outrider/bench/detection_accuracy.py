"""Detection: precision and recall of the detector on synthetic aerial frames with known truth.

The synthetic camera renders people and buses (real photographs, as billboards) placed at
known spots, seen from poses a dock drone flies: orbits of 30-60 m radius, 25-60 m above the
ground, the camera (the demo's 20 degree zoom lens by default) tilted 35-55 degrees down. The
renderer gives each actor's box, so every detection is matched to the truth (same class,
IoU >= 0.5, greedy by confidence). Actors shorter than ``--min-px`` pixels are left out of the
truth and detections matching them are not counted either way. The figures carry the model
file's SHA-256, so the AI register can tell they are of the model it describes
(``[public.ai] accuracy_report``).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

__all__ = ["add_arguments", "measure", "report"]

Box = tuple[float, float, float, float]
CENTRE = (51.5079, -0.0877)
CLASSES = ("person", "bus")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``outrider bench detection``."""
    parser.add_argument("--model", type=Path, help="model file (default: $OUTRIDER_MODEL)")
    parser.add_argument("--frames", type=int, default=200, help="frames to render and detect")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU a match needs")
    parser.add_argument("--min-px", type=int, default=16, help="smallest actor height counted")
    parser.add_argument("--hfov", type=float, default=20.0, help="lens (the demo's zoom: 20)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(
    truth: list[Box], ignored: list[Box], found: list[tuple[float, Box]], threshold: float
) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of one class in one frame."""
    free = list(truth)
    tp = fp = 0
    for _, box in sorted(found, reverse=True):
        best = max(free, key=lambda t: iou(t, box), default=None)
        if best is not None and iou(best, box) >= threshold:
            free.remove(best)
            tp += 1
        elif not any(iou(t, box) >= threshold for t in ignored):
            fp += 1
    return tp, fp, len(free)


def _scene(rng: random.Random) -> Any:
    from edge.geo import LatLon, destination
    from sim.camera.scene import Actor, Scene

    centre = LatLon(*CENTRE)
    actors = []
    for i in range(10):
        p = destination(centre, rng.uniform(0, 360), rng.uniform(0, 18))
        kind = "bus" if i == 0 else "person"
        actors.append(Actor(kind=kind, lat=p.lat, lon=p.lon, variant=i,
                            heading_deg=rng.uniform(0, 359)))  # fmt: skip
    return Scene(name="bench", seed=rng.randrange(1000), actors=actors)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Render, detect and match ``--frames`` frames; precision and recall per class."""
    import numpy as np

    from edge.detect import AutoDetectorConfig, load_detector
    from edge.geo import LatLon, bearing_deg, destination
    from edge.geoproject import CameraModel, CameraPose
    from edge.video.record import sha256_file
    from sim.camera.render import Renderer

    config = AutoDetectorConfig(model=args.model) if args.model else AutoDetectorConfig()
    path = config.model_path()
    detector = load_detector(config)
    rng = random.Random(args.seed)
    cam = CameraModel(640, 480, args.hfov)
    counts = {c: [0, 0, 0] for c in CLASSES}
    objects = 0
    renderer, centre = None, LatLon(*CENTRE)
    for i in range(args.frames):
        if i % 25 == 0:
            renderer = Renderer(cam, _scene(rng), centre)
        assert renderer is not None
        at = destination(centre, rng.uniform(0, 360), rng.uniform(30, 60))
        heading = bearing_deg(at, centre) + rng.uniform(-10, 10)
        pose = CameraPose(at.lat, at.lon, rng.uniform(25, 60), heading % 360,
                          -rng.uniform(35, 55))  # fmt: skip
        image = np.ascontiguousarray(renderer.render(pose)[:, :, ::-1])
        found = detector.detect(image)
        for cls in CLASSES:
            boxes = [b for k, b in renderer.boxes(pose) if k == cls]
            truth = [tuple(map(float, b)) for b in boxes if b[3] - b[1] >= args.min_px]
            ignored = [tuple(map(float, b)) for b in boxes if b[3] - b[1] < args.min_px]
            if cls == "person":  # the bus photograph has people in it: neither right nor wrong
                ignored += [tuple(map(float, b)) for k, b in renderer.boxes(pose) if k == "bus"]
            mine = [(d.conf, d.box) for d in found if d.cls == cls]
            tp, fp, fn = match(truth, ignored, mine, args.iou)  # type: ignore[arg-type]
            counts[cls] = [counts[cls][0] + tp, counts[cls][1] + fp, counts[cls][2] + fn]
            objects += len(truth)
    detector.close()
    per_class = {c: _rates(*counts[c]) for c in CLASSES}
    figures: dict[str, Any] = {
        "benchmark": "outrider bench detection",
        "dataset": f"{args.frames} synthetic aerial frames (640x480, {args.hfov:g} deg lens) of "
        "people and a bus from real photographs, orbits 30-60 m, 25-60 m up",
        "model": path.name,
        "model_sha256": sha256_file(path),
        "iou_threshold": args.iou,
        "min_height_px": args.min_px,
        "frames": args.frames,
        "objects": objects,
        "classes": per_class,
        **per_class["person"],
        "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    if args.out:
        import json

        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 3) if den else None


def _rates(tp: int, fp: int, fn: int) -> dict[str, float | int | None]:
    """Precision, recall and F1 (``None`` where nothing was there to count)."""
    precision, recall = _rate(tp, tp + fp), _rate(tp, tp + fn)
    f1 = _rate(2 * tp, 2 * tp + fp + fn) if precision is not None or recall is not None else None
    return {"precision": precision, "recall": recall, "f1": f1,
            "true_positives": tp, "false_positives": fp, "missed": fn}  # fmt: skip


def _show(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def report(figures: dict[str, Any]) -> str:
    """The figures as lines."""
    lines = [f"{figures['model']} ({figures['model_sha256'][:12]}), {figures['frames']} frames, "
             f"{figures['objects']} objects, IoU >= {figures['iou_threshold']}"]  # fmt: skip
    for cls, r in figures["classes"].items():
        rates = "  ".join(f"{k} {_show(r[k])}" for k in ("precision", "recall", "f1"))
        lines.append(f"  {cls:7s} {rates}  (tp {r['true_positives']}, "
                     f"fp {r['false_positives']}, missed {r['missed']})")  # fmt: skip
    return "\n".join(lines) + "\n"
