"""Ultralytics plugin: its own predictor, for formats only it runs (.pt, TensorRT .engine)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import Field

from edge.detect.api import BaseDetectorConfig, Detection, Image
from edge.detect.layout import model_corrupt, quiet_ultralytics
from edge.errors import DetectorError

if importlib.util.find_spec("ultralytics") is None:
    raise ImportError("ultralytics is not installed (pip install 'outrider[ultralytics]')")

__all__ = ["KEY", "UltralyticsConfig", "UltralyticsDetector"]

KEY: Final = "ultralytics"


class UltralyticsConfig(BaseDetectorConfig):
    """Ultralytics predictor settings."""

    type: Literal["ultralytics"] = KEY
    imgsz: int = Field(640, ge=32, le=4096, title="Input size (fixed-size exports use their own)")
    device: str = Field("cpu", title="torch device: cpu, cuda:0, ...")


class UltralyticsDetector:
    """Any model Ultralytics loads, run through ``YOLO.predict``."""

    key = KEY

    def __init__(self, config: UltralyticsConfig) -> None:
        import torch
        from ultralytics import YOLO  # type: ignore[attr-defined]

        quiet_ultralytics()

        self.config = config
        self.path = config.model_path()
        torch.set_num_threads(config.inference_threads())
        try:
            self._model: Any = YOLO(str(self.path), task="detect")
            self.names: Mapping[int, str] = dict(self._model.names)
        except Exception as exc:  # Ultralytics raises many kinds for a bad file
            raise model_corrupt(self.path, exc) from exc
        self._keep: set[int] | None = None
        if config.classes is not None:
            by_name = {v: k for k, v in self.names.items()}
            unknown = [c for c in config.classes if c not in by_name]
            if unknown:
                raise DetectorError(
                    f"classes {unknown} are not in the model's label map", code="invalid_config"
                )
            self._keep = {by_name[c] for c in config.classes}

    def detect(self, image: Image) -> list[Detection]:
        """Objects in one BGR frame, best first."""
        c = self.config
        result = self._model.predict(
            image,
            imgsz=c.imgsz,
            conf=c.conf,
            iou=c.iou,
            max_det=c.max_det,
            device=c.device,
            verbose=False,
            save=False,
        )[0]
        boxes = result.boxes
        out = []
        for (x1, y1, x2, y2), conf, cls in zip(
            boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist(), strict=True
        ):
            if self._keep is None or int(cls) in self._keep:
                name = self.names.get(int(cls), str(int(cls)))
                out.append(Detection(int(cls), name, float(conf), (x1, y1, x2, y2)))
        return out

    def close(self) -> None:
        """Drop the model."""
        self._model = None
