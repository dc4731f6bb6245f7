"""ONNX Runtime plugin: the per-frame hot path for ONNX models on CPUs other than Intel's."""

from __future__ import annotations

import importlib.util
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from edge.detect.api import BaseDetectorConfig, DetectionApi, parse_names
from edge.detect.layout import check_output, model_corrupt
from edge.errors import DetectorError

if importlib.util.find_spec("onnxruntime") is None:
    raise ImportError("onnxruntime is not installed")

__all__ = ["KEY", "OnnxRuntimeConfig", "OnnxRuntimeDetector"]

KEY: Final = "onnxruntime"


class OnnxRuntimeConfig(BaseDetectorConfig):
    """ONNX Runtime settings."""

    type: Literal["onnxruntime"] = KEY
    providers: list[str] = Field(
        default_factory=lambda: ["CPUExecutionProvider"], title="Execution providers, in order"
    )


class OnnxRuntimeDetector(DetectionApi):
    """A YOLO ONNX model run by ONNX Runtime."""

    key = KEY

    def __init__(self, config: OnnxRuntimeConfig) -> None:
        import onnxruntime as ort

        path = config.model_path()
        if path.suffix.lower() != ".onnx":
            raise DetectorError(
                f"ONNX Runtime runs .onnx models, not {path.name}; export one with "
                "Ultralytics (yolo export format=onnx) or choose another detector type",
                code="model_unsupported",
            )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = config.inference_threads()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), opts, providers=config.providers)
        except Exception as exc:  # the runtime's own error types vary by version
            raise model_corrupt(path, exc) from exc
        meta = self._session.get_modelmeta().custom_metadata_map
        names = parse_names(meta.get("names", ""), path)
        inp = self._session.get_inputs()[0]
        self._input = inp.name
        size = check_output(path, inp.shape, self._session.get_outputs()[0].shape, len(names))
        super().__init__(config, path, names, size)

    def infer(self, tensor: NDArray[np.float32]) -> NDArray[np.float32]:
        """One forward pass."""
        out = self._session.run(None, {self._input: tensor})[0]
        return np.asarray(out, dtype=np.float32)
