"""Checks that a loaded model is a YOLO detector of the layout the plugins expect."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from edge.errors import DetectorError

__all__ = ["check_output", "model_corrupt", "quiet_ultralytics"]


def quiet_ultralytics() -> None:
    """Keep Ultralytics' info lines (printed to stdout) out of command output."""
    logger = logging.getLogger("ultralytics")
    logger.setLevel(max(logger.level, logging.WARNING))


def model_corrupt(path: Path, exc: BaseException) -> DetectorError:
    """The error for a model file that a runtime could not load."""
    first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return DetectorError(
        f"detection model {path} could not be loaded ({first}); provide an intact YOLO "
        "detection model (.onnx, OpenVINO .xml or Ultralytics .pt), e.g. a fresh copy of the file",
        code="model_corrupt",
    )


def check_output(
    path: Path, input_shape: Sequence[object], output_shape: Sequence[object], n_classes: int
) -> int:
    """The square input size, after checking the model is a ``1x3xSxS -> 1x(4+C)xN`` detector.

    Raises:
        DetectorError: ``model_unsupported`` for any other layout.
    """
    dims = [d if isinstance(d, int) else None for d in input_shape]
    outs = [d if isinstance(d, int) else None for d in output_shape]
    ok = (
        len(dims) == 4
        and dims[1] == 3
        and dims[2] is not None
        and dims[2] == dims[3]
        and len(outs) == 3
        and outs[1] == 4 + n_classes
    )
    if not ok or dims[2] is None:
        raise DetectorError(
            f"model {path} has input {list(input_shape)} and output {list(output_shape)}; "
            f"expected a YOLO detector 1x3xSxS -> 1x{4 + n_classes}xN with a fixed square size "
            "(export with Ultralytics: yolo export format=onnx imgsz=640)",
            code="model_unsupported",
        )
    return dims[2]
