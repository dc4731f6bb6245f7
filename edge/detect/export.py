"""Model handling through Ultralytics: export a checkpoint to the formats the fast runtimes run.

Runs offline: the checkpoint must already be on disk, and nothing is downloaded. Use it where
the weights are (``outrider export-model yolo11n.pt --format onnx --imgsz 320``) and ship the
result to the docks.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path
from typing import Literal

from edge.detect.layout import model_corrupt, quiet_ultralytics
from edge.errors import DetectorError

__all__ = ["ExportFormat", "export_model"]

ExportFormat = Literal["onnx", "openvino"]


def export_model(model: Path, fmt: ExportFormat = "onnx", imgsz: int = 640) -> Path:
    """Export an Ultralytics checkpoint; returns the ONNX file or the OpenVINO ``.xml``.

    The export carries the class names and input size in its metadata, which the plugins read.

    Raises:
        DetectorError: ``runtime_missing`` without the ``outrider[ultralytics]`` extra;
            ``model_missing`` or ``model_corrupt`` (with what to provide), or ``export_failed``.
    """
    if importlib.util.find_spec("ultralytics") is None:
        raise DetectorError(
            "exporting a model needs Ultralytics, which a dock's install leaves out: "
            "pip install 'outrider[ultralytics]' where the weights are",
            code="runtime_missing",
        )
    if not model.is_file():
        raise DetectorError(
            f"checkpoint {model} does not exist: give the path of an Ultralytics .pt file",
            code="model_missing",
        )
    with contextlib.redirect_stdout(sys.stderr):
        from ultralytics import YOLO  # type: ignore[attr-defined]

        quiet_ultralytics()
        try:
            yolo = YOLO(str(model), task="detect")
        except Exception as exc:  # Ultralytics raises many kinds for a bad file
            raise model_corrupt(model, exc) from exc
        try:
            out = Path(str(yolo.export(format=fmt, imgsz=imgsz, dynamic=False, verbose=False)))
        except Exception as exc:  # the exporters' own errors
            raise DetectorError(
                f"exporting {model} to {fmt} failed: {exc}", code="export_failed"
            ) from exc
    if out.is_dir():
        out = next(out.glob("*.xml"))
    return out
