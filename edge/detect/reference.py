"""The Ultralytics PyTorch predictor on a given model: the reference runtimes are checked against.

``.pt`` checkpoints run as they are. An ONNX file is converted to a PyTorch module (with the
optional ``onnx2torch`` package) so that the same weights run through Ultralytics' own
pre-processing, PyTorch inference and NMS. Used by the tests and ``outrider bench video``.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any, cast

from edge.detect.api import Detection, Image
from edge.detect.layout import quiet_ultralytics
from edge.errors import DetectorError

__all__ = ["TorchReference", "torch_reference_available"]


def torch_reference_available(model: Path) -> str | None:
    """None when :class:`TorchReference` can run ``model``, else the reason it cannot."""
    extra = "pip install 'outrider[ultralytics]'"
    if importlib.util.find_spec("ultralytics") is None or importlib.util.find_spec("torch") is None:
        return f"ultralytics and torch are not installed ({extra})"
    if model.suffix.lower() == ".onnx" and importlib.util.find_spec("onnx2torch") is None:
        return f"onnx2torch is not installed ({extra})"
    if model.suffix.lower() not in {".onnx", ".pt"}:
        return f"no PyTorch form of {model.name}"
    return None


class TorchReference:
    """Ultralytics' ``DetectionPredictor`` running the model's weights in PyTorch on the CPU.

    Args:
        model: an ``.onnx`` or ``.pt`` detection model.
        imgsz: input size; an ONNX file's own size is used when it has one.
        conf, iou: thresholds, as for the plugins.
        threads: torch CPU threads.
    """

    key = "ultralytics-torch"

    def __init__(
        self,
        model: Path,
        *,
        imgsz: int = 640,
        conf: float = 0.25,
        iou: float = 0.45,
        threads: int = 1,
    ) -> None:
        why = torch_reference_available(model)
        if why:
            raise DetectorError(why, code="runtime_missing")
        import torch
        from ultralytics.models.yolo.detect import DetectionPredictor

        quiet_ultralytics()

        torch.set_num_threads(threads)
        module: Any = str(model)
        names: dict[int, str] | None = None
        if model.suffix.lower() == ".onnx":
            module, imgsz, names = _from_onnx(model, imgsz)
        self._predictor: Any = cast(Any, DetectionPredictor)(
            overrides={
                "imgsz": imgsz,
                "conf": conf,
                "iou": iou,
                "device": "cpu",
                "verbose": False,
                "save": False,
                "channels_last": False,
            }
        )
        self._predictor.setup_model(model=module, verbose=False)
        self.names: dict[int, str] = names or dict(self._predictor.model.names)

    def detect(self, image: Image) -> list[Detection]:
        """Objects in one BGR frame, through Ultralytics' predictor."""
        boxes = self._predictor(source=image)[0].boxes
        return [
            Detection(int(c), self.names[int(c)], float(s), (x1, y1, x2, y2))
            for (x1, y1, x2, y2), s, c in zip(
                boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist(), strict=True
            )
        ]

    def close(self) -> None:
        """Nothing to release."""


def _from_onnx(model: Path, imgsz: int) -> tuple[Any, int, dict[int, str]]:
    import onnx
    import torch
    from onnx2torch import convert

    proto = onnx.load(str(model))
    meta = {p.key: p.value for p in proto.metadata_props}
    module = convert(proto).eval()
    names = {int(k): str(v) for k, v in ast.literal_eval(meta.get("names", "{}")).items()}
    module.stride = torch.tensor([float(meta.get("stride", 32))])
    size = ast.literal_eval(meta.get("imgsz", "None"))
    return module, int(size[0]) if size else imgsz, names
