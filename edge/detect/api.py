"""The detector contract: a detection, the config every plugin shares, and the plugin base."""

from __future__ import annotations

import abc
import ast
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from edge.detect import yolo
from edge.errors import DetectorError

__all__ = [
    "MODEL_ENV",
    "BaseDetectorConfig",
    "Detection",
    "DetectionApi",
    "Detector",
    "Image",
    "default_threads",
    "parse_names",
]

logger = logging.getLogger(__name__)

MODEL_ENV = "OUTRIDER_MODEL"
Image = NDArray[np.uint8]
"""A frame as OpenCV holds it: height x width x 3, BGR, uint8."""


@dataclass(frozen=True, slots=True)
class Detection:
    """One object found in one frame.

    Attributes:
        cls_id: class index in the model's label map.
        cls: class name (``person``, ``bus``, ...).
        conf: confidence in [0, 1].
        box: ``(x1, y1, x2, y2)`` in frame pixels.
    """

    cls_id: int
    cls: str
    conf: float
    box: tuple[float, float, float, float]

    @property
    def foot(self) -> tuple[float, float]:
        """Bottom centre of the box: where an upright object touches the ground."""
        return (self.box[0] + self.box[2]) / 2, self.box[3]


@runtime_checkable
class Detector(Protocol):
    """What the pipeline needs from a detector; every plugin is one.

    ``detect`` is synchronous and CPU-bound: call it from a worker thread, never the event loop.
    """

    key: str
    names: Mapping[int, str]

    def detect(self, image: Image) -> list[Detection]:
        """Objects in one BGR frame, best first."""
        ...

    def close(self) -> None:
        """Release the runtime's resources."""
        ...


def default_threads() -> int:
    """CPU threads for inference: all cores but one, so capture, encoding and flight keep one."""
    return max(1, (os.cpu_count() or 1) - 1)


class BaseDetectorConfig(BaseModel):
    """Settings every detector plugin shares; each plugin adds ``type`` and its own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    model: Path | None = Field(
        None, title="Model file (.onnx, OpenVINO .xml, Ultralytics .pt); default $OUTRIDER_MODEL"
    )
    conf: float = Field(0.25, ge=0.0, le=1.0, title="Minimum confidence")
    iou: float = Field(0.45, gt=0.0, le=1.0, title="IoU threshold of non-maximum suppression")
    max_det: int = Field(300, ge=1, le=1000, title="Most objects kept per frame")
    threads: int | None = Field(None, ge=1, le=256, title="CPU threads; default cores - 1")
    classes: list[str] | None = Field(None, title="Keep only these class names")

    def model_path(self) -> Path:
        """The model file to load: ``model`` when set, else ``$OUTRIDER_MODEL``, checked.

        Raises:
            DetectorError: ``model_missing`` when neither names a file that exists.
        """
        raw = str(self.model) if self.model else os.environ.get(MODEL_ENV, "")
        if not raw:
            raise DetectorError(
                "no detection model configured: set video.detector.model in the edge config or "
                f"{MODEL_ENV} to a YOLO detection model file (.onnx, OpenVINO .xml or "
                "Ultralytics .pt); nothing is downloaded at run time",
                code="model_missing",
            )
        path = Path(raw).expanduser()
        if not path.is_file():
            raise DetectorError(
                f"detection model {path} does not exist: point video.detector.model or "
                f"{MODEL_ENV} at a YOLO detection model file (.onnx, OpenVINO .xml or "
                "Ultralytics .pt); nothing is downloaded at run time",
                code="model_missing",
            )
        return path

    def inference_threads(self) -> int:
        """``threads`` when set, else :func:`default_threads`."""
        return self.threads or default_threads()


def parse_names(raw: object, path: Path) -> dict[int, str]:
    """Class names from model metadata (a dict, or its ``repr`` as ONNX metadata stores it).

    Raises:
        DetectorError: ``model_corrupt`` when the names cannot be read.
    """
    try:
        value = ast.literal_eval(raw) if isinstance(raw, str) else raw
        if not isinstance(value, Mapping):
            raise ValueError("not a mapping")
        return {int(k): str(v) for k, v in value.items()}
    except (ValueError, SyntaxError, TypeError) as exc:
        raise DetectorError(
            f"detection model {path} has no readable class names in its metadata ({exc}); "
            "export it with Ultralytics (yolo export format=onnx) so that it carries them",
            code="model_corrupt",
        ) from exc


class DetectionApi(abc.ABC):
    """Base of the YOLO plugins that run a raw tensor: letterbox in, NMS out.

    A subclass sets ``key`` and implements :meth:`infer` (one NCHW float32 tensor in, the raw
    ``1 x (4 + classes) x anchors`` output out); loading happens in its ``__init__``.
    """

    key: ClassVar[str]

    def __init__(
        self, config: BaseDetectorConfig, path: Path, names: Mapping[int, str], size: int
    ) -> None:
        self.config = config
        self.path = path
        self.names: Mapping[int, str] = names
        self.size = size
        self._keep: set[int] | None = None
        if config.classes is not None:
            by_name = {v: k for k, v in names.items()}
            unknown = [c for c in config.classes if c not in by_name]
            if unknown:
                raise DetectorError(
                    f"classes {unknown} are not in the model's label map", code="invalid_config"
                )
            self._keep = {by_name[c] for c in config.classes}

    @abc.abstractmethod
    def infer(self, tensor: NDArray[np.float32]) -> NDArray[np.float32]:
        """Run the model on one letterboxed tensor and return its raw output."""

    def detect(self, image: Image) -> list[Detection]:
        """Objects in one BGR frame, best first."""
        tensor, letter = yolo.preprocess(image, self.size)
        raw = self.infer(tensor)
        rows = yolo.postprocess(
            raw, letter, conf=self.config.conf, iou=self.config.iou, max_det=self.config.max_det
        )
        return [
            Detection(int(c), self.names.get(int(c), str(int(c))), float(s), (x1, y1, x2, y2))
            for x1, y1, x2, y2, s, c in rows.tolist()
            if self._keep is None or int(c) in self._keep
        ]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the runtime's resources (the default drops nothing)."""
